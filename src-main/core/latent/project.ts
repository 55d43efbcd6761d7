/**
 * The non-linear 2-D views of the latent explorer: UMAP (umap-js, McInnes et al. 2018) and t-SNE
 * (tsne.ts). Both are fitted on at most a fixed number of points; the other points of a larger set
 * are placed at the inverse-distance-weighted mean of the positions of their nearest fitted
 * neighbours in latent space (knn.ts placeByNeighbours). Deterministic for a given seed.
 */
import { UMAP } from 'umap-js';
import { Rng, permutation } from '../rng.ts';
import { placeByNeighbours } from './knn.ts';
import { tsne } from './tsne.ts';

/** UMAP is fitted on at most this many points. */
export const UMAP_FIT_MAX = 10_000;
/** t-SNE (exact repulsion, O(n^2) per iteration) is fitted on at most this many points. */
export const TSNE_FIT_MAX = 3_000;
/** Latent neighbours that place a point outside the fitted subsample. */
const PLACE_K = 5;
/** Points placed between two progress reports. */
const PLACE_BLOCK = 2048;

export type Embedding = 'umap' | 'tsne';

export interface EmbedOptions {
  seed: number;
  /** Overrides UMAP_FIT_MAX / TSNE_FIT_MAX. */
  fitMax?: number;
  /** Progress in [0, 1]; awaited, so the caller can let its messages leave. */
  onProgress?: (fraction: number) => void | Promise<void>;
}

/** UMAP of `n` points with 15 neighbours and min_dist 0.1 (the reference defaults), seeded. */
export async function umap2d(points: Float32Array, n: number, d: number, seed: number, report?: (done: number, total: number) => void | Promise<void>): Promise<{ x: Float32Array; y: Float32Array }> {
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  if (n < 3) {
    for (let i = 0; i < n; i++) x[i] = i;
    return { x, y };
  }
  const rng = new Rng(seed);
  const rows = Array.from({ length: n }, (_, i) => Array.from(points.subarray(i * d, (i + 1) * d)));
  const u = new UMAP({ nComponents: 2, nNeighbors: Math.min(15, n - 1), minDist: 0.1, random: () => rng.uniform() });
  const epochs = u.initializeFit(rows);
  for (let e = 0; e < epochs; e++) {
    u.step();
    if (report && ((e + 1) % 5 === 0 || e + 1 === epochs)) await report(e + 1, epochs);
  }
  const emb = u.getEmbedding();
  for (let i = 0; i < n; i++) {
    x[i] = emb[i]![0]!;
    y[i] = emb[i]![1]!;
  }
  return { x, y };
}

/** A 2-D embedding of `n` latent means (row-major [n x d]); `fitted` is how many points the method saw. */
export async function embed2d(kind: Embedding, mu: Float32Array, n: number, d: number, opts: EmbedOptions): Promise<{ x: Float32Array; y: Float32Array; fitted: number }> {
  const fitMax = opts.fitMax ?? (kind === 'umap' ? UMAP_FIT_MAX : TSNE_FIT_MAX);
  const report = opts.onProgress ?? (() => {});
  // The fitted points: all, or a seeded subsample (sorted, for locality).
  const sampled = n > fitMax ? Uint32Array.from(permutation(n, new Rng(opts.seed)).subarray(0, fitMax)).sort() : null;
  const m = sampled ? sampled.length : n;
  const fitPoints = sampled ? new Float32Array(m * d) : mu;
  if (sampled) sampled.forEach((i, r) => fitPoints.set(mu.subarray(i * d, (i + 1) * d), r * d));
  // One progress bar: the fit, then (when subsampled) the placing of the rest.
  const fitShare = sampled ? 0.8 : 1;
  const fitReport = (done: number, total: number) => report((fitShare * done) / total);
  const fit = kind === 'umap' ? await umap2d(fitPoints, m, d, opts.seed, fitReport) : await tsne(fitPoints, m, d, { seed: opts.seed, onIteration: fitReport });
  if (!sampled) return { ...fit, fitted: m };
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const inSample = new Uint8Array(n);
  sampled.forEach((i, r) => {
    inSample[i] = 1;
    x[i] = fit.x[r]!;
    y[i] = fit.y[r]!;
  });
  const rest = new Uint32Array(n - m);
  for (let i = 0, r = 0; i < n; i++) if (!inSample[i]) rest[r++] = i;
  for (let from = 0; from < rest.length; from += PLACE_BLOCK) {
    const ids = rest.subarray(from, Math.min(rest.length, from + PLACE_BLOCK));
    const q = new Float32Array(ids.length * d);
    ids.forEach((i, r) => q.set(mu.subarray(i * d, (i + 1) * d), r * d));
    const placed = placeByNeighbours(fitPoints, fit.x, fit.y, q, ids.length, d, PLACE_K);
    ids.forEach((i, r) => {
      x[i] = placed.x[r]!;
      y[i] = placed.y[r]!;
    });
    await report(fitShare + ((1 - fitShare) * (from + ids.length)) / rest.length);
  }
  return { x, y, fitted: m };
}
