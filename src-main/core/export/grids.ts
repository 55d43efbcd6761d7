/**
 * The pictures of a trained VAE that the results export writes (grids/*.png) and the report shows:
 *   samples.png          8 x 8 decoder means of z drawn from the prior N(0, I) with a fixed seed;
 *   reconstructions.png  16 validation images (top row) over the decoder means at z = mu(x) (bottom);
 *   traversals.png       one row per latent dimension, the 8 with the largest KL first: the mean z
 *                        of the validation encodings with that dimension moved from -3 to +3
 *                        standard deviations of its aggregate posterior, in 9 steps;
 *   interpolation.png    10 decoder means on the straight line between mu of two fixed validation images.
 * "Decoder mean" is the likelihood's mean (contract/likelihood.ts likelihoodMean), shown as pixels in [0, 1].
 */
import type { LayersModel, Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { TrainConfig } from '../../contract/config.ts';
import type { DataSource } from '../data-source.ts';
import { likelihoodMean } from '../../contract/likelihood.ts';
import { Rng } from '../rng.ts';
import type { Tf } from '../tf.ts';
import { dimsByKl } from './embeddings.ts';
import { scaleFor, tileGrid, unitToBytes, type GridLayout, type RawImage } from './png.ts';

/** A loaded encoder/decoder pair and how to feed it. */
export interface LatentModel {
  tf: Tf;
  encoder: LayersModel;
  decoder: LayersModel;
  likelihood: TrainConfig['likelihood'];
  latentDim: number;
  width: number;
  height: number;
  channels: number;
  /** A uint8 batch as the model takes it (e.g. the run's static binarisation); v / 255 when absent. */
  modelInput?: (u8: Uint8Array, indices: Uint32Array) => Float32Array;
}

export const GRID_FILES = ['samples.png', 'reconstructions.png', 'traversals.png', 'interpolation.png'] as const;
export type GridName = 'samples' | 'reconstructions' | 'traversals' | 'interpolation';

const BATCH = 256;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function toUnit(u8: Uint8Array): Float32Array {
  const out = new Float32Array(u8.length);
  for (let i = 0; i < u8.length; i++) out[i] = u8[i]! / 255;
  return out;
}

/** Encoder means and log-variances of `x` (n rows of the model's input), read outside tidy. */
export async function encodeRows(m: LatentModel, x: Float32Array, n: number): Promise<{ mu: Float32Array; logvar: Float32Array }> {
  const dim = m.width * m.height * m.channels;
  const [mu, logvar] = m.tf.tidy(() => m.encoder.apply(m.tf.tensor2d(x, [n, dim]), { training: false }) as Tensor[]) as [Tensor, Tensor];
  try {
    const [a, b] = await Promise.all([mu.data(), logvar.data()]);
    return { mu: a as Float32Array, logvar: b as Float32Array };
  } finally {
    mu.dispose();
    logvar.dispose();
  }
}

/** Encodes the samples at `indices` of `data` in batches. */
export async function encodeSamples(m: LatentModel, data: DataSource, indices: Uint32Array): Promise<{ mu: Float32Array; logvar: Float32Array }> {
  const d = m.latentDim;
  const mu = new Float32Array(indices.length * d);
  const logvar = new Float32Array(indices.length * d);
  for (let from = 0; from < indices.length; from += BATCH) {
    const idx = indices.subarray(from, Math.min(indices.length, from + BATCH));
    const u8 = data.readBatch(idx);
    const x = m.modelInput ? m.modelInput(u8, idx) : toUnit(u8);
    const r = await encodeRows(m, x, idx.length);
    mu.set(r.mu, from * d);
    logvar.set(r.logvar, from * d);
    await yieldToEventLoop();
  }
  return { mu, logvar };
}

/** Decoder means (pixels in [0, 1]) of n latent rows. */
export async function decodeMeans(m: LatentModel, z: Float32Array, n: number): Promise<Float32Array> {
  const d = m.latentDim;
  const dim = m.width * m.height * m.channels;
  const out = new Float32Array(n * dim);
  for (let from = 0; from < n; from += BATCH) {
    const k = Math.min(n, from + BATCH) - from;
    const t = m.tf.tidy(() => m.decoder.apply(m.tf.tensor2d(z.subarray(from * d, (from + k) * d), [k, d]), { training: false }) as Tensor2D);
    try {
      out.set(likelihoodMean(m.likelihood, (await t.data()) as Float32Array), from * dim);
    } finally {
      t.dispose();
    }
  }
  return out;
}

/**
 * Per latent dimension over n encodings: the mean KL(q(z_j|x) || N(0, 1)) =
 * 0.5 (exp(lv) - 1 - lv + mu^2) averaged over x, the mean of mu_j, and the standard deviation of
 * the aggregate posterior (the mixture of the q(z_j|x)): sqrt(Var_x(mu_j) + E_x[exp(lv_j)]).
 */
export function latentStats(mu: Float32Array, logvar: Float32Array, n: number, d: number): { klPerDim: number[]; mean: number[]; sd: number[] } {
  const kl = new Float64Array(d);
  const sum = new Float64Array(d);
  const sumSq = new Float64Array(d);
  const sumVar = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const m = mu[i * d + j]!;
      const lv = logvar[i * d + j]!;
      const v = Math.exp(lv);
      kl[j]! += 0.5 * (v - 1 - lv + m * m);
      sum[j]! += m;
      sumSq[j]! += m * m;
      sumVar[j]! += v;
    }
  }
  const klPerDim: number[] = [];
  const mean: number[] = [];
  const sd: number[] = [];
  for (let j = 0; j < d; j++) {
    const mj = sum[j]! / n;
    klPerDim.push(kl[j]! / n);
    mean.push(mj);
    sd.push(Math.sqrt(Math.max(0, sumSq[j]! / n - mj * mj) + sumVar[j]! / n));
  }
  return { klPerDim, mean, sd };
}

/** `steps` evenly spaced values from a to b inclusive. */
export function linspace(a: number, b: number, steps: number): number[] {
  if (steps === 1) return [a];
  return Array.from({ length: steps }, (_, i) => a + ((b - a) * i) / (steps - 1));
}

export interface GridsResult {
  images: Record<GridName, RawImage>;
  /** Latent dimensions in traversals.png's row order (largest KL first). */
  traversalDims: number[];
  klPerDim: number[];
  /** The validation encodings the grids were computed from (for the report's latent map). */
  encoded: { indices: Uint32Array; mu: Float32Array };
}

/**
 * Computes the four grids from `validation` (sample indices of `data`: the run's hold-out; at
 * least one). Deterministic for a given `seed`.
 */
export async function computeGrids(
  m: LatentModel,
  data: DataSource,
  validation: Uint32Array,
  seed: number,
  onProgress?: (done: number, total: number) => void,
): Promise<GridsResult> {
  if (validation.length === 0) throw new Error('no validation samples to draw the grids from');
  const d = m.latentDim;
  const c = m.channels === 3 ? 3 : 1;
  const layout = (rows: number, cols: number): GridLayout => ({ rows, cols, width: m.width, height: m.height, channels: c, scale: scaleFor(Math.max(m.width, m.height)) });
  const asTiles = (means: Float32Array): Uint8Array => {
    const bytes = unitToBytes(means);
    if (c === m.channels) return bytes;
    // Other channel counts (2, 4) are not images the studio trains on; show the first channel.
    const px = m.width * m.height;
    const n = bytes.length / (px * m.channels);
    const out = new Uint8Array(n * px);
    for (let i = 0; i < n * px; i++) out[i] = bytes[i * m.channels]!;
    return out;
  };
  const total = 5;
  onProgress?.(0, total);

  const enc = await encodeSamples(m, data, validation);
  const stats = latentStats(enc.mu, enc.logvar, validation.length, d);
  onProgress?.(1, total);

  // Prior samples.
  const eps = new Rng(seed).fillNormal(new Float32Array(64 * d));
  const samples = tileGrid(asTiles(await decodeMeans(m, eps, 64)), layout(8, 8));
  onProgress?.(2, total);

  // Reconstructions of the first 16 validation images.
  const nRec = Math.min(16, validation.length);
  const recIdx = validation.subarray(0, nRec);
  const originals = data.readBatch(recIdx);
  const recon = await decodeMeans(m, enc.mu.subarray(0, nRec * d), nRec);
  const px = m.width * m.height * m.channels;
  const recTiles = new Uint8Array(2 * 16 * px);
  recTiles.set(originals, 0);
  recTiles.set(unitToBytes(recon), 16 * px);
  const reconstructions = tileGrid(c === m.channels ? recTiles : asTiles(toUnit(recTiles)), layout(2, 16));
  onProgress?.(3, total);

  // Traversals of the 8 dimensions with the largest KL.
  const dims = dimsByKl(stats.klPerDim).slice(0, Math.min(8, d));
  const steps = linspace(-3, 3, 9);
  const zt = new Float32Array(dims.length * steps.length * d);
  dims.forEach((j, r) => {
    steps.forEach((t, s) => {
      const row = (r * steps.length + s) * d;
      for (let k = 0; k < d; k++) zt[row + k] = stats.mean[k]!;
      zt[row + j] = stats.mean[j]! + t * stats.sd[j]!;
    });
  });
  const traversals = tileGrid(asTiles(await decodeMeans(m, zt, dims.length * steps.length)), layout(dims.length, steps.length));
  onProgress?.(4, total);

  // Interpolation between the first two validation images (the same one twice when there is one).
  const a = enc.mu.subarray(0, d);
  const b = validation.length > 1 ? enc.mu.subarray(d, 2 * d) : a;
  const alphas = linspace(0, 1, 10);
  const zi = new Float32Array(alphas.length * d);
  alphas.forEach((t, s) => {
    for (let k = 0; k < d; k++) zi[s * d + k] = (1 - t) * a[k]! + t * b[k]!;
  });
  const interpolation = tileGrid(asTiles(await decodeMeans(m, zi, alphas.length)), layout(1, alphas.length));
  onProgress?.(5, total);

  return {
    images: { samples, reconstructions, traversals, interpolation },
    traversalDims: dims,
    klPerDim: stats.klPerDim,
    encoded: { indices: validation, mu: enc.mu },
  };
}
