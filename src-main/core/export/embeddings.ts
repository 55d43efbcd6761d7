/**
 * What the results export computes from encoder means: a two-dimensional principal-component
 * projection for the report's latent map, and the ordering of latent dimensions by their KL.
 */
import { firstTwo, pca, pcaProject } from '../latent/pca.ts';

export interface Pca2 {
  /** n * 2 projected coordinates, sample-major. */
  coords: Float32Array;
  /** The two principal axes (unit vectors of length d; the second is zero when d = 1). */
  axes: [Float64Array, Float64Array];
  /** The variance along each axis (the covariance's two largest eigenvalues). */
  variance: [number, number];
  /** Total variance (the covariance's trace), so variance / total is the share explained. */
  totalVariance: number;
}

/**
 * Projects `n` points of dimension `d` (sample-major) onto the two leading eigenvectors of their
 * covariance: the explorer's exact PCA (core/latent/pca.ts, Jacobi eigen-decomposition), so that
 * two nearly equal leading variances (common for a VAE's near-isotropic latent means) still give
 * the right axes. Variances are sample variances (denominator n - 1). Each axis's sign is fixed so
 * its largest-magnitude component is positive, so the result is deterministic.
 */
export function pca2(points: Float32Array, n: number, d: number): Pca2 {
  if (points.length < n * d) throw new RangeError(`expected ${n} x ${d} values, got ${points.length}`);
  if (n === 0) return { coords: new Float32Array(0), axes: [new Float64Array(d), new Float64Array(d)], variance: [0, 0], totalVariance: 0 };
  const p = pca(points, n, d);
  // pca() gives population (1 / n) variances.
  const scale = n / Math.max(1, n - 1);
  const { x, y } = pcaProject(p, points, n);
  const coords = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    coords[i * 2] = x[i]!;
    coords[i * 2 + 1] = y[i]!;
  }
  const [c0, c1] = firstTwo(p);
  let total = 0;
  for (const v of p.eigenvalues) total += v;
  return {
    coords,
    axes: [Float64Array.from(c0), Float64Array.from(c1)],
    variance: [(p.eigenvalues[0] ?? 0) * scale, (p.eigenvalues[1] ?? 0) * scale],
    totalVariance: total * scale,
  };
}

/** Latent dimensions by decreasing KL (ties: lower index first). */
export function dimsByKl(klPerDim: readonly number[]): number[] {
  return klPerDim
    .map((kl, j) => ({ kl: Number.isFinite(kl) ? kl : -Infinity, j }))
    .sort((a, b) => b.kl - a.kl || a.j - b.j)
    .map((e) => e.j);
}
