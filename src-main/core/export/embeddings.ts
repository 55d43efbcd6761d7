/**
 * What the results export computes from encoder means: a two-dimensional principal-component
 * projection for the report's latent map, the ordering of latent dimensions by their KL, and which
 * split each exported sample belongs to.
 */
import type { TrainConfig } from '../../contract/config.ts';
import { splitSamples, type SplitLayout } from '../latent/encode.ts';
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

/**
 * The split names of embeddings.csv's `split` column, indexed by their code in splits.npy (int8):
 * 0 train, 1 validation, 2 test. A sample the run never used (beyond its config's maxSamples, so
 * neither trained on nor validated on) is 'unused', code -1.
 */
export const SPLIT_NAMES = ['train', 'validation', 'test'] as const;
export const UNUSED_SPLIT = -1;

/** The name of a split code of sampleSplits(). */
export function splitName(code: number): string {
  return SPLIT_NAMES[code] ?? 'unused';
}

/**
 * The split of each of the first `n` samples of a run's dataset, as the latent explorer draws its
 * splits (core/latent/encode.ts splitSamples): the run's seeded train / validation split of the
 * training part, the official test range, and UNUSED_SPLIT for the rest.
 */
export function sampleSplits(
  layout: SplitLayout,
  config: Pick<TrainConfig, 'seed' | 'maxSamples' | 'validationFraction'>,
  n: number,
): Int8Array {
  const codes = new Int8Array(n).fill(UNUSED_SPLIT);
  const mark = (indices: Uint32Array, code: number) => {
    for (const i of indices) if (i < n) codes[i] = code;
  };
  mark(splitSamples('train', layout, config, 0), 0);
  mark(splitSamples('validation', layout, config, 0), 1);
  if (layout.test) mark(splitSamples('test', layout, config, 0), 2);
  return codes;
}
