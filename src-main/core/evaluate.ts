/**
 * Evaluation of a trained VAE on a set of images (a validation or test split), the numbers a
 * researcher compares runs by:
 *   - the beta = 1 negative ELBO in nats per image and in bits/dim (Kingma & Welling 2014, eq. 10:
 *     E_q[-log p(x|z)] with one reparameterised sample per image + the closed-form KL), whatever
 *     beta the run was trained with;
 *   - the importance-weighted NLL estimate -L_k (Burda et al. 2016, eq. 8; iwae.ts) on the first
 *     `iwaeSamples` images, k up to 5000;
 *   - reconstruction quality of the decoder mean at z = mu(x): MSE, PSNR and SSIM (ssim.ts), the
 *     mean being sigmoid(logits) for Bernoulli and the output for Gaussian, clipped to the data range.
 * Deterministic for a given seed: the ELBO noise and the IWAE draws come from seeded streams.
 */
import type { LayersModel, Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { TrainConfig } from '../contract/config.ts';
import type { EvalResult } from '../contract/types.ts';
import { likelihoodMean } from '../contract/likelihood.ts';
import type { DataSource } from './data-source.ts';
import { iwaeNll, natsToBitsPerDim, type NativeLogWeights } from './iwae.ts';
import { klStandardNormal, reconstructionNll } from './losses.ts';
import { Rng } from './rng.ts';
import { mse as meanSquaredError, psnr, ssim } from './ssim.ts';
import type { Tf } from './tf.ts';

export type EvalPhase = 'elbo' | 'iwae';

export interface EvaluateOptions {
  tf: Tf;
  encoder: LayersModel;
  decoder: LayersModel;
  likelihood: TrainConfig['likelihood'];
  /** The Gaussian likelihood's sigma (the learned value for a learned one); ignored otherwise. */
  gaussianSigma: number;
  data: DataSource;
  /**
   * Turns a uint8 batch into what the model was trained to explain (e.g. the run's static
   * binarisation); v / 255 when absent. The quality measures compare the reconstruction with the
   * original pixels v / 255.
   */
  modelInput?: (u8: Uint8Array, indices: Uint32Array) => Float32Array;
  /** The samples to evaluate, by index into `data`. */
  indices: Uint32Array;
  /** Importance samples per image for the IWAE bound; 0 skips it. */
  iwaeK: number;
  /** The IWAE bound is computed on the first this-many of `indices` (it costs k decoder passes each). */
  iwaeSamples: number;
  seed: number;
  batchSize?: number;
  /** How many images one IWAE call handles between progress reports. Default 16. */
  iwaeGroup?: number;
  onProgress?: (p: { phase: EvalPhase; done: number; total: number }) => void;
  /** Scores the IWAE samples natively (core/ort/iwae.ts) instead of with the tfjs decoder. */
  native?: NativeLogWeights;
}

/** The metrics of one evaluation (the run-level fields of EvalResult are added by the caller). */
export type EvalMetrics = Pick<EvalResult, 'count' | 'negElbo' | 'recon' | 'kl' | 'bitsPerDim' | 'iwae' | 'mse' | 'psnr' | 'ssim'>;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function toUnit(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! / 255;
  return out;
}

export async function evaluateModel(o: EvaluateOptions): Promise<EvalMetrics> {
  const { tf, encoder, decoder, data, indices } = o;
  const dim = data.width * data.height * data.channels;
  const count = indices.length;
  if (count === 0) throw new Error('no images to evaluate');
  for (const i of indices) if (i >= data.count) throw new Error(`sample ${i} is outside the data (${data.count} samples)`);
  const spec = { likelihood: o.likelihood, sigma: o.gaussianSigma };
  const toModel = o.modelInput ?? ((u8: Uint8Array) => toUnit(u8));
  const latentDim = encoder.outputs[0]?.shape[1];
  if (typeof latentDim !== 'number') throw new Error('the encoder must output [mu, logvar] of shape [batch, latentDim]');
  const batchSize = o.batchSize ?? 256;
  const root = new Rng(o.seed);
  const noise = root.fork();
  const iwaeSeed = root.nextUint32();

  let sumRecon = 0;
  let sumKl = 0;
  let sumMse = 0;
  let sumPsnr = 0;
  let sumSsim = 0;
  for (let from = 0; from < count; from += batchSize) {
    const to = Math.min(count, from + batchSize);
    const n = to - from;
    const batchIdx = indices.subarray(from, to);
    const bytes = data.readBatch(batchIdx);
    const xs = toUnit(bytes);
    const xm = o.modelInput ? o.modelInput(bytes, batchIdx) : xs;
    const eps = noise.fillNormal(new Float32Array(n * latentDim));
    const [stats, atMean] = tf.tidy(() => {
      const x = tf.tensor2d(xm, [n, dim]);
      const [mu, logvar] = encoder.apply(x, { training: false }) as [Tensor2D, Tensor2D];
      const z = mu.add(logvar.mul(0.5).exp().mul(tf.tensor2d(eps, [n, latentDim]))) as Tensor2D;
      const out = decoder.apply(z, { training: false }) as Tensor2D;
      const recon = reconstructionNll(spec, x, out);
      const kl = klStandardNormal(mu, logvar);
      return [tf.stack([recon.sum(), kl.sum()]), decoder.apply(mu, { training: false }) as Tensor2D] as Tensor[];
    }) as [Tensor, Tensor];
    // Read outside the tidy (ENGINEERING.md section 6).
    const [s, raw] = await Promise.all([stats.data(), atMean.data()]);
    stats.dispose();
    atMean.dispose();
    const recons = likelihoodMean(o.likelihood, raw as Float32Array);
    sumRecon += s[0]!;
    sumKl += s[1]!;
    for (let r = 0; r < n; r++) {
      const xa = xs.subarray(r * dim, (r + 1) * dim);
      const ya = recons.subarray(r * dim, (r + 1) * dim);
      const e = meanSquaredError(xa, ya);
      sumMse += e;
      sumPsnr += psnr(e);
      sumSsim += ssim(xa, ya, data.width, data.height, data.channels);
    }
    o.onProgress?.({ phase: 'elbo', done: to, total: count });
    await yieldToEventLoop();
  }
  const recon = sumRecon / count;
  const kl = sumKl / count;

  let iwae: EvalMetrics['iwae'] = null;
  const nIwae = Math.min(o.iwaeSamples, count);
  if (o.iwaeK > 0 && nIwae > 0) {
    const group = o.iwaeGroup ?? 16;
    const all = new Float64Array(nIwae);
    for (let from = 0; from < nIwae; from += group) {
      const to = Math.min(nIwae, from + group);
      const batchIdx = indices.subarray(from, to);
      const xs = toModel(data.readBatch(batchIdx), batchIdx);
      // Each group gets its own seed (from the evaluation seed and its offset), so the estimate is
      // the same whatever the batch of progress reports, for a given group size.
      const model = { encoder, decoder, likelihood: o.likelihood, gaussianSigma: o.gaussianSigma, ...(o.native ? { native: o.native } : {}) };
      const r = await iwaeNll(tf, model, xs, dim, o.iwaeK, (iwaeSeed ^ from) >>> 0);
      all.set(r.nllPerSample, from);
      o.onProgress?.({ phase: 'iwae', done: to, total: nIwae });
      await yieldToEventLoop();
    }
    let sum = 0;
    for (const v of all) sum += v;
    const nll = sum / nIwae;
    let sq = 0;
    for (const v of all) sq += (v - nll) ** 2;
    const stdErr = nIwae > 1 ? Math.sqrt(sq / (nIwae - 1) / nIwae) : 0;
    iwae = { k: o.iwaeK, count: nIwae, nll, stdErr, bitsPerDim: natsToBitsPerDim(nll, dim) };
  }

  return {
    count,
    negElbo: recon + kl,
    recon,
    kl,
    bitsPerDim: natsToBitsPerDim(recon + kl, dim),
    iwae,
    mse: sumMse / count,
    psnr: sumPsnr / count,
    ssim: sumSsim / count,
  };
}
