/**
 * Principal component analysis of latent means for the explorer's map: the covariance of the
 * points, its eigen-decomposition by the cyclic Jacobi method (exact to rounding for a symmetric
 * matrix, and d <= 512 here, so the O(d^3) sweeps are affordable in a worker), and the 2-D view
 * x = (z - mean) . c0, y = (z - mean) . c1 with its exact inverse z = mean + x c0 + y c1 on the
 * plane the two components span.
 */

/** The principal axes of a set of d-dimensional points. */
export interface PcaResult {
  dim: number;
  mean: Float64Array;
  /** Eigenvalues of the covariance, largest first (the variance along each component). */
  eigenvalues: Float64Array;
  /** Unit eigenvectors, row-major [dim x dim]: row k is the k-th component. */
  components: Float64Array;
  /** eigenvalue_k / sum of eigenvalues (0 for every k when the points do not vary). */
  explainedVariance: Float64Array;
}

/** Running sums for a mean and covariance over batches of rows (row-major [n x d] float32). */
export class CovarianceAccumulator {
  readonly dim: number;
  count = 0;
  readonly #sum: Float64Array;
  /** Sum of outer products x x^T about a shift (the first row), so that large means lose no precision. */
  readonly #outer: Float64Array;
  #shift: Float64Array | null = null;

  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`dimension must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.#sum = new Float64Array(dim);
    this.#outer = new Float64Array(dim * dim);
  }

  /** Adds `n` rows of `rows` (row-major, `dim` values each). */
  add(rows: ArrayLike<number>, n: number): void {
    const d = this.dim;
    if (rows.length < n * d) throw new Error(`expected ${n} rows of ${d} values, got ${rows.length} values`);
    if (n === 0) return;
    if (!this.#shift) this.#shift = Float64Array.from({ length: d }, (_, j) => rows[j]!);
    const shift = this.#shift;
    const c = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < d; j++) c[j] = rows[r * d + j]! - shift[j]!;
      for (let i = 0; i < d; i++) {
        const ci = c[i]!;
        this.#sum[i]! += ci;
        if (ci === 0) continue;
        const base = i * d;
        for (let j = i; j < d; j++) this.#outer[base + j]! += ci * c[j]!;
      }
    }
    this.count += n;
  }

  /** The mean and the (population, 1/n) covariance matrix, row-major [d x d]. */
  result(): { mean: Float64Array; covariance: Float64Array } {
    const d = this.dim;
    const n = this.count;
    if (n === 0) throw new Error('no points');
    const shift = this.#shift!;
    const m = Float64Array.from(this.#sum, (s) => s / n);
    const cov = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        const v = this.#outer[i * d + j]! / n - m[i]! * m[j]!;
        cov[i * d + j] = v;
        cov[j * d + i] = v;
      }
    }
    return { mean: Float64Array.from(m, (v, j) => v + shift[j]!), covariance: cov };
  }
}

/**
 * Eigen-decomposition of a symmetric matrix (row-major [d x d], not modified) by cyclic Jacobi
 * rotations (Golub & Van Loan, Matrix Computations, section 8.5), until the off-diagonal mass is
 * below 1e-22 of the total or `maxSweeps` sweeps. Returns eigenvalues in decreasing order and the
 * matching unit eigenvectors as rows.
 */
export function symmetricEigen(matrix: ArrayLike<number>, d: number, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  if (matrix.length !== d * d) throw new Error(`expected a ${d}x${d} matrix, got ${matrix.length} values`);
  const a = Float64Array.from(matrix);
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const s = 0.5 * (a[i * d + j]! + a[j * d + i]!);
      a[i * d + j] = s;
      a[j * d + i] = s;
    }
  }
  // v holds the eigenvectors as columns while rotating.
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let total = 0;
  for (let k = 0; k < d * d; k++) total += a[k]! * a[k]!;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) off += 2 * a[i * d + j]! ** 2;
    if (off <= 1e-22 * total || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (apq === 0) continue;
        const app = a[p * d + p]!;
        const aqq = a[q * d + q]!;
        // The rotation angle that zeroes a[p][q]: t = tan(theta), the smaller root (stable form).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!;
          const akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!;
          const aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p]!;
          const vkq = v[k * d + q]!;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((x, y) => a[y * d + y]! - a[x * d + x]!);
  const values = Float64Array.from(order, (i) => a[i * d + i]!);
  const vectors = new Float64Array(d * d);
  order.forEach((col, row) => {
    // A deterministic sign: the largest-magnitude entry of each component is positive.
    let big = 0;
    for (let k = 0; k < d; k++) if (Math.abs(v[k * d + col]!) > Math.abs(big)) big = v[k * d + col]!;
    const sign = big < 0 ? -1 : 1;
    for (let k = 0; k < d; k++) vectors[row * d + k] = sign * v[k * d + col]!;
  });
  return { values, vectors };
}

/** PCA from a mean and a covariance matrix. */
export function pcaFromCovariance(mean: Float64Array, covariance: ArrayLike<number>): PcaResult {
  const d = mean.length;
  const { values, vectors } = symmetricEigen(covariance, d);
  // Rounding can leave tiny negative eigenvalues of a positive semi-definite matrix.
  const eigenvalues = Float64Array.from(values, (x) => Math.max(0, x));
  let sum = 0;
  for (const x of eigenvalues) sum += x;
  const explainedVariance = Float64Array.from(eigenvalues, (x) => (sum > 0 ? x / sum : 0));
  return { dim: d, mean, eigenvalues, components: vectors, explainedVariance };
}

/** PCA of `n` points (row-major [n x d]). */
export function pca(points: ArrayLike<number>, n: number, d: number): PcaResult {
  const acc = new CovarianceAccumulator(d);
  acc.add(points, n);
  const { mean, covariance } = acc.result();
  return pcaFromCovariance(mean, covariance);
}

/** The first two components as plain arrays (a second of zeros when d = 1). */
export function firstTwo(p: PcaResult): [number[], number[]] {
  const d = p.dim;
  const row = (k: number) => (k < d ? Array.from(p.components.subarray(k * d, (k + 1) * d)) : new Array<number>(d).fill(0));
  return [row(0), row(1)];
}

/** 2-D coordinates of `n` points on the first two components. */
export function pcaProject(p: PcaResult, points: ArrayLike<number>, n: number): { x: Float32Array; y: Float32Array } {
  const d = p.dim;
  const [c0, c1] = firstTwo(p);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let sx = 0;
    let sy = 0;
    for (let j = 0; j < d; j++) {
      const c = points[r * d + j]! - p.mean[j]!;
      sx += c * c0[j]!;
      sy += c * c1[j]!;
    }
    x[r] = sx;
    y[r] = sy;
  }
  return { x, y };
}

/** z = mean + x c0 + y c1 for each 2-D position: the point of the PCA plane shown there. */
export function pcaInverse(mean: ArrayLike<number>, components: [ArrayLike<number>, ArrayLike<number>], points: readonly (readonly [number, number])[]): Float32Array {
  const d = mean.length;
  const out = new Float32Array(points.length * d);
  points.forEach(([x, y], r) => {
    for (let j = 0; j < d; j++) out[r * d + j] = mean[j]! + x * components[0][j]! + y * components[1][j]!;
  });
  return out;
}
