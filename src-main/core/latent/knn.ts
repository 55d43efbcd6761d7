/**
 * Nearest neighbours for the latent explorer: a uniform grid over 2-D map positions (the inverse
 * of a UMAP / t-SNE view: a map position becomes the inverse-distance-weighted mean of the latent
 * vectors of its nearest points), and a brute-force k-nearest search in latent space (to place
 * points that a subsampled embedding did not see).
 */

/** k smallest (distance, id) pairs, kept sorted by an insertion pass (k is small). */
class TopK {
  readonly d: Float64Array;
  readonly id: Int32Array;
  size = 0;
  constructor(readonly k: number) {
    this.d = new Float64Array(k).fill(Infinity);
    this.id = new Int32Array(k).fill(-1);
  }
  get worst(): number {
    return this.size < this.k ? Infinity : this.d[this.k - 1]!;
  }
  push(dist: number, id: number): void {
    if (dist >= this.worst) return;
    let i = Math.min(this.size, this.k - 1);
    while (i > 0 && this.d[i - 1]! > dist) {
      this.d[i] = this.d[i - 1]!;
      this.id[i] = this.id[i - 1]!;
      i--;
    }
    this.d[i] = dist;
    this.id[i] = id;
    if (this.size < this.k) this.size++;
  }
}

/**
 * A uniform grid over n 2-D points (about `perCell` points per cell on average), answering exact
 * k-nearest queries by visiting rings of cells outward until no closer point can remain.
 */
export class GridIndex {
  readonly #x: Float32Array;
  readonly #y: Float32Array;
  readonly #minX: number;
  readonly #minY: number;
  readonly #cell: number;
  readonly #nx: number;
  readonly #ny: number;
  /** Point ids grouped by cell (counting sort): cell c holds ids[start[c] .. start[c + 1]). */
  readonly #start: Int32Array;
  readonly #ids: Int32Array;

  constructor(x: Float32Array, y: Float32Array, perCell = 4) {
    const n = x.length;
    if (y.length !== n) throw new Error('x and y must have the same length');
    if (n === 0) throw new Error('no points to index');
    this.#x = x;
    this.#y = y;
    let minX = Infinity;
    let maxX = -Infinity;
    let minY = Infinity;
    let maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      const a = x[i]!;
      const b = y[i]!;
      if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`point ${i} is not finite`);
      if (a < minX) minX = a;
      if (a > maxX) maxX = a;
      if (b < minY) minY = b;
      if (b > maxY) maxY = b;
    }
    const w = Math.max(maxX - minX, 1e-12);
    const h = Math.max(maxY - minY, 1e-12);
    const cells = Math.max(1, Math.ceil(n / perCell));
    const cell = Math.max(Math.sqrt((w * h) / cells), Math.max(w, h) / 4096, 1e-12);
    this.#minX = minX;
    this.#minY = minY;
    this.#cell = cell;
    this.#nx = Math.min(4096, Math.floor(w / cell) + 1);
    this.#ny = Math.min(4096, Math.floor(h / cell) + 1);
    const cellOf = new Int32Array(n);
    const counts = new Int32Array(this.#nx * this.#ny + 1);
    for (let i = 0; i < n; i++) {
      const c = this.#cy(y[i]!) * this.#nx + this.#cx(x[i]!);
      cellOf[i] = c;
      counts[c + 1]!++;
    }
    for (let c = 0; c < this.#nx * this.#ny; c++) counts[c + 1]! += counts[c]!;
    this.#start = counts.slice();
    const fill = counts.slice();
    this.#ids = new Int32Array(n);
    for (let i = 0; i < n; i++) this.#ids[fill[cellOf[i]!]!++] = i;
  }

  #cx(x: number): number {
    return Math.min(this.#nx - 1, Math.max(0, Math.floor((x - this.#minX) / this.#cell)));
  }
  #cy(y: number): number {
    return Math.min(this.#ny - 1, Math.max(0, Math.floor((y - this.#minY) / this.#cell)));
  }

  /** The k nearest points to (qx, qy), nearest first: ids and Euclidean distances. */
  nearest(qx: number, qy: number, k: number): { ids: Int32Array; dist: Float64Array } {
    const kk = Math.min(k, this.#x.length);
    const top = new TopK(kk);
    const cx = this.#cx(qx);
    const cy = this.#cy(qy);
    // Distance from the query to the outside of its own cell, for the ring stopping rule.
    const inX = qx - (this.#minX + cx * this.#cell);
    const inY = qy - (this.#minY + cy * this.#cell);
    const margin = Math.min(inX, this.#cell - inX, inY, this.#cell - inY);
    const maxRing = Math.max(this.#nx, this.#ny);
    for (let ring = 0; ring <= maxRing; ring++) {
      const x0 = cx - ring;
      const x1 = cx + ring;
      const y0 = cy - ring;
      const y1 = cy + ring;
      for (let gy = Math.max(0, y0); gy <= Math.min(this.#ny - 1, y1); gy++) {
        const edgeRow = gy === y0 || gy === y1;
        for (let gx = Math.max(0, x0); gx <= Math.min(this.#nx - 1, x1); gx++) {
          if (!edgeRow && gx !== x0 && gx !== x1) continue;
          const c = gy * this.#nx + gx;
          for (let p = this.#start[c]!; p < this.#start[c + 1]!; p++) {
            const i = this.#ids[p]!;
            const dx = this.#x[i]! - qx;
            const dy = this.#y[i]! - qy;
            top.push(dx * dx + dy * dy, i);
          }
        }
      }
      // Every point not yet visited lies at least this far (query clamped inside the grid: margin may be negative).
      const reach = ring * this.#cell + Math.max(0, margin);
      if (top.size === kk && top.worst <= reach * reach) break;
    }
    return { ids: top.id.slice(0, top.size), dist: Float64Array.from(top.d.subarray(0, top.size), Math.sqrt) };
  }
}

/**
 * Inverse-distance-weighted mean of `vectors` rows (row-major [n x d]) at the given neighbours:
 * weights 1 / distance; a neighbour at distance 0 (the query is a data point) gives its row exactly.
 */
export function idwMean(vectors: ArrayLike<number>, d: number, ids: ArrayLike<number>, dist: ArrayLike<number>, out: Float32Array, offset = 0): void {
  for (let j = 0; j < d; j++) out[offset + j] = 0;
  for (let k = 0; k < ids.length; k++) {
    if (dist[k]! === 0) {
      const i = ids[k]!;
      for (let j = 0; j < d; j++) out[offset + j] = vectors[i * d + j]!;
      return;
    }
  }
  let wsum = 0;
  const acc = new Float64Array(d);
  for (let k = 0; k < ids.length; k++) {
    const w = 1 / dist[k]!;
    const i = ids[k]!;
    wsum += w;
    for (let j = 0; j < d; j++) acc[j]! += w * vectors[i * d + j]!;
  }
  for (let j = 0; j < d; j++) out[offset + j] = acc[j]! / wsum;
}

/** Dimension indices by decreasing variance of `rows` (row-major [n x d]). */
function spreadOrder(rows: Float32Array, n: number, d: number): Int32Array {
  const sum = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) {
      const v = rows[r * d + j]!;
      sum[j]! += v;
      sq[j]! += v * v;
    }
  }
  const variance = Array.from(sum, (s, j) => sq[j]! / n - (s / n) ** 2);
  return Int32Array.from(Array.from({ length: d }, (_, j) => j).sort((a, b) => variance[b]! - variance[a]!));
}

function permuteColumns(rows: Float32Array, n: number, d: number, order: Int32Array): Float32Array {
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) out[r * d + j] = rows[r * d + order[j]!]!;
  return out;
}

/**
 * For each query row, its k nearest reference rows in Euclidean latent distance (brute force,
 * O(queries x refs x d)). Returns ids and distances, row-major [queries x k]. Each distance is
 * summed over the dimensions in decreasing order of spread and abandoned once it exceeds the
 * current k-th best, which skips most of the work in a latent space whose many inactive
 * (collapsed) dimensions hardly vary.
 */
export function nearestInLatent(
  refs: Float32Array,
  nRefs: number,
  queries: Float32Array,
  nQueries: number,
  d: number,
  k: number,
): { ids: Int32Array; dist: Float64Array } {
  const kk = Math.min(k, nRefs);
  const ids = new Int32Array(nQueries * kk);
  const dist = new Float64Array(nQueries * kk);
  const order = spreadOrder(refs, nRefs, d);
  const R = permuteColumns(refs, nRefs, d, order);
  const Q = queries === refs ? R : permuteColumns(queries, nQueries, d, order);
  const d4 = d - (d % 4);
  for (let q = 0; q < nQueries; q++) {
    const top = new TopK(kk);
    const qo = q * d;
    for (let r = 0; r < nRefs; r++) {
      const ro = r * d;
      const bound = top.worst;
      let s = 0;
      let j = 0;
      for (; j < d4 && s < bound; j += 4) {
        const a = R[ro + j]! - Q[qo + j]!;
        const b = R[ro + j + 1]! - Q[qo + j + 1]!;
        const c = R[ro + j + 2]! - Q[qo + j + 2]!;
        const e = R[ro + j + 3]! - Q[qo + j + 3]!;
        s += a * a + b * b + c * c + e * e;
      }
      for (; j < d && s < bound; j++) {
        const a = R[ro + j]! - Q[qo + j]!;
        s += a * a;
      }
      if (s < bound) top.push(s, r);
    }
    for (let m = 0; m < kk; m++) {
      ids[q * kk + m] = top.id[m]!;
      dist[q * kk + m] = Math.sqrt(top.d[m]!);
    }
  }
  return { ids, dist };
}

/**
 * Places points in a 2-D embedding of a subsample: each query's position is the inverse-distance-
 * weighted mean (latent distances) of its k nearest subsampled points' positions.
 */
export function placeByNeighbours(
  sampleLatent: Float32Array,
  sampleX: Float32Array,
  sampleY: Float32Array,
  queries: Float32Array,
  nQueries: number,
  d: number,
  k = 5,
): { x: Float32Array; y: Float32Array } {
  const nRefs = sampleX.length;
  const { ids, dist } = nearestInLatent(sampleLatent, nRefs, queries, nQueries, d, k);
  const kk = Math.min(k, nRefs);
  const xy = new Float32Array(nRefs * 2);
  for (let i = 0; i < nRefs; i++) {
    xy[2 * i] = sampleX[i]!;
    xy[2 * i + 1] = sampleY[i]!;
  }
  const x = new Float32Array(nQueries);
  const y = new Float32Array(nQueries);
  const out = new Float32Array(2);
  for (let q = 0; q < nQueries; q++) {
    idwMean(xy, 2, ids.subarray(q * kk, (q + 1) * kk), dist.subarray(q * kk, (q + 1) * kk), out);
    x[q] = out[0]!;
    y[q] = out[1]!;
  }
  return { x, y };
}
