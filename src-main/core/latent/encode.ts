/**
 * Encoding a split of a run's dataset for the latent explorer: which samples a split holds, and
 * one pass of the checkpoint's encoder (and decoder, for the per-sample -ELBO) over them in
 * batches. Per sample it keeps mu, logvar and the beta = 1 negative ELBO (Kingma & Welling 2014,
 * eq. 10: the reconstruction NLL at one reparameterised sample drawn from a fixed seed + the
 * closed-form KL, the same estimator as evaluate.ts), and sums KL(q(z_j|x) || N(0,1)) per dimension.
 */
import type { LayersModel, Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { TrainConfig } from '../../contract/config.ts';
import type { LatentSplit } from '../../contract/latent.ts';
import type { DataSource } from '../data-source.ts';
import { klPerDimension, reconstructionNll } from '../losses.ts';
import { Rng } from '../rng.ts';
import type { Tf } from '../tf.ts';
import { seedStreams, splitIndices } from '../train.ts';

/** Where a split's samples lie in the dataset. */
export interface SplitLayout {
  /** Samples in the dataset. */
  count: number;
  /** Samples [0, trainCount) are the training part (before an official test split); count when absent. */
  trainCount?: number;
  /** The official test split as a sample range, null when the dataset has none. */
  test: { from: number; to: number } | null;
}

/** `k` indices spread evenly over [from, to) (all of them when k >= to - from). */
export function spreadRange(from: number, to: number, k: number): Uint32Array {
  const n = Math.max(0, to - from);
  const m = k > 0 ? Math.min(k, n) : n;
  return Uint32Array.from({ length: m }, (_, i) => from + Math.floor((i * n) / m));
}

/**
 * The sample indices of a split, capped at `maxSamples` (0 = all):
 *   train / validation: the run's seeded split of its training part, exactly as its training drew
 *   it (core/train.ts splitIndices with the run's seed stream), the first maxSamples in that order;
 *   test: the dataset's official test range; all: every sample. A capped test / all takes samples
 *   spread evenly over the range, so that a dataset stored class by class keeps every class.
 */
export function splitSamples(
  split: LatentSplit,
  layout: SplitLayout,
  config: Pick<TrainConfig, 'seed' | 'maxSamples' | 'validationFraction'>,
  maxSamples: number,
): Uint32Array {
  const cap = (a: Uint32Array) => (maxSamples > 0 && a.length > maxSamples ? a.slice(0, maxSamples) : a);
  if (split === 'train' || split === 'validation') {
    const s = splitIndices(layout.trainCount ?? layout.count, config, seedStreams(config.seed).split);
    return cap(split === 'train' ? s.train : s.val);
  }
  if (split === 'test') {
    if (!layout.test) throw new Error('the dataset has no official test split');
    return spreadRange(layout.test.from, layout.test.to, maxSamples);
  }
  return spreadRange(0, layout.count, maxSamples);
}

export interface EncodeOptions {
  tf: Tf;
  encoder: LayersModel;
  decoder: LayersModel;
  likelihood: TrainConfig['likelihood'];
  /** The Gaussian likelihood's sigma; ignored otherwise. */
  gaussianSigma: number;
  data: DataSource;
  indices: Uint32Array;
  /** uint8 batch -> the model's input (the run's binarisation); v / 255 when absent. */
  modelInput?: (u8: Uint8Array, indices: Uint32Array) => Float32Array;
  /** Seed of the reparameterisation noise of the -ELBO estimate. */
  seed: number;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** The encoder's outputs and -ELBO for every sample, in `indices` order. */
export interface Encoded {
  count: number;
  latentDim: number;
  /** Row-major [count x latentDim]. */
  mu: Float32Array;
  logvar: Float32Array;
  /** Per-sample -ELBO (beta = 1), nats. */
  negElbo: Float32Array;
  /** Sum over samples of KL(q(z_j|x) || N(0,1)), per dimension. */
  klSum: Float64Array;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export async function encodeSamples(o: EncodeOptions): Promise<Encoded> {
  const { tf, encoder, decoder, data, indices } = o;
  const count = indices.length;
  const dim = data.width * data.height * data.channels;
  const latentDim = encoder.outputs[0]?.shape[1];
  if (typeof latentDim !== 'number') throw new Error('the encoder must output [mu, logvar] of shape [batch, latentDim]');
  for (const i of indices) if (i >= data.count) throw new Error(`sample ${i} is outside the data (${data.count} samples)`);
  const spec = { likelihood: o.likelihood, sigma: o.gaussianSigma };
  const toModel = o.modelInput ?? ((u8: Uint8Array) => Float32Array.from(u8, (v) => v / 255));
  const batchSize = o.batchSize ?? 512;
  const noise = new Rng(o.seed);
  const mu = new Float32Array(count * latentDim);
  const logvar = new Float32Array(count * latentDim);
  const negElbo = new Float32Array(count);
  const klSum = new Float64Array(latentDim);
  for (let from = 0; from < count; from += batchSize) {
    const to = Math.min(count, from + batchSize);
    const n = to - from;
    const batchIdx = indices.subarray(from, to);
    const xm = toModel(data.readBatch(batchIdx), batchIdx);
    const eps = noise.fillNormal(new Float32Array(n * latentDim));
    const outs = tf.tidy(() => {
      const x = tf.tensor2d(xm, [n, dim]);
      const [m, lv] = encoder.apply(x, { training: false }) as [Tensor2D, Tensor2D];
      const z = m.add(lv.mul(0.5).exp().mul(tf.tensor2d(eps, [n, latentDim]))) as Tensor2D;
      const out = decoder.apply(z, { training: false }) as Tensor2D;
      const kl = klPerDimension(m, lv);
      const elbo = reconstructionNll(spec, x, out).add(kl.sum(1));
      return [m, lv, elbo, kl.sum(0)] as Tensor[];
    });
    // Read outside the tidy (ENGINEERING.md section 6).
    const [m, lv, e, k] = await Promise.all(outs.map((t) => t.data()));
    for (const t of outs) t.dispose();
    mu.set(m as Float32Array, from * latentDim);
    logvar.set(lv as Float32Array, from * latentDim);
    negElbo.set(e as Float32Array, from);
    for (let j = 0; j < latentDim; j++) klSum[j]! += k![j]!;
    o.onProgress?.(to, count);
    await yieldToEventLoop();
  }
  return { count, latentDim, mu, logvar, negElbo, klSum };
}

/** Per-dimension summaries of an encoding (the explorer's sliders and traversal ranges). */
export function summarise(e: Encoded): { klPerDim: number[]; dimsByKl: number[]; meanPerDim: number[]; stdPerDim: number[]; negElboMean: number } {
  const { count: n, latentDim: d, mu } = e;
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j]! += mu[r * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= Math.max(1, n);
  const sq = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) {
      const c = mu[r * d + j]! - mean[j]!;
      sq[j]! += c * c;
    }
  }
  let sum = 0;
  for (let r = 0; r < n; r++) sum += e.negElbo[r]!;
  const klPerDim = Array.from(e.klSum, (s) => s / Math.max(1, n));
  return {
    klPerDim,
    dimsByKl: Array.from({ length: d }, (_, j) => j).sort((a, b) => klPerDim[b]! - klPerDim[a]! || a - b),
    meanPerDim: Array.from(mean),
    stdPerDim: Array.from(sq, (s) => Math.sqrt(s / Math.max(1, n))),
    negElboMean: sum / Math.max(1, n),
  };
}
