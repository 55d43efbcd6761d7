/**
 * The importance-weighted bound of Burda, Grosse & Salakhutdinov 2016 (eq. 8) as a negative
 * log-likelihood estimate for a trained encoder/decoder:
 *
 *   L_k(x) = log (1/k) sum_i w_i,   w_i = p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x) iid
 *          = logsumexp_i(log w_i) - log k.
 *
 * L_1 is a one-sample estimate of the ELBO; E[L_k] is non-decreasing in k and tends to log p(x)
 * (their theorem 1), so -L_5000 is the usual NLL figure reported for VAEs. With q the exact posterior
 * every w_i equals p(x), and L_k = log p(x) for every k.
 *
 * Memory stays bounded whatever k: the k samples of each x are decoded in chunks of at most
 * `chunkRows` decoder rows, and the logsumexp is accumulated in float64 in JS (running maximum and
 * rescaled sum), so only one chunk of tensors ever exists.
 *
 * Reproducibility: every row n of x has its own noise stream seeded from (seed, n), and its k draws
 * are taken from it in order, so a row's estimate does not depend on the chunk size, on the other
 * rows or on their order; and L_k and L_k' (k < k') with the same seed share their first k draws.
 */
import type { LayersModel, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { TrainConfig } from '../contract/config.ts';
import { reconstructionNll } from './losses.ts';
import { Rng } from './rng.ts';
import type { Tf } from './tf.ts';

/**
 * The sample scoring of logWeights done elsewhere (core/ort/iwae.ts: ONNX Runtime). Rows r of the
 * inputs are samples: z and eps [rows, L], lvSum [rows] (sum_j logvar_j of the sample's image), x
 * [rows, D] (the image); returns log w per row.
 */
export interface NativeLogWeights {
  logWeights(z: Float32Array, eps: Float32Array, lvSum: Float32Array, x: Float32Array, rows: number): Promise<Float32Array>;
}

export interface IwaeModel {
  /** x [batch, dim] -> [mu, logvar], each [batch, latentDim] (as buildVae / loadCheckpoint give it). */
  encoder: LayersModel;
  /** z [batch, latentDim] -> [batch, dim] Bernoulli logits or Gaussian means. */
  decoder: LayersModel;
  likelihood: TrainConfig['likelihood'];
  /** The observation noise of the Gaussian likelihood (its learned value for a learned one); ignored otherwise. */
  gaussianSigma: number;
  /** Scores the samples natively instead of with `decoder` in tfjs (same draws, float32 rounding apart). */
  native?: NativeLogWeights;
}

export interface IwaeOptions {
  /** Most decoder rows (x copies times samples) computed at once. Default 4096. */
  chunkRows?: number;
}

export interface IwaeResult {
  /** -L_k(x_n) in nats, one per row of x. */
  nllPerSample: Float64Array;
  /** The mean of nllPerSample. */
  mean: number;
  /** The standard error of `mean` over the rows (0 for a single row). */
  stdErr: number;
}

const DEFAULT_CHUNK_ROWS = 4096;

/**
 * The seed of row n's noise stream: one draw from the user seed, xor n. Distinct rows get distinct
 * seeds, and Rng's constructor mixes the seed so neighbouring rows start far apart.
 */
function rowRng(base: number, n: number): Rng {
  return new Rng((base ^ n) >>> 0);
}

/**
 * -L_k per row of `x` (float32 rows of `dim` values, row-major; Bernoulli data in [0, 1]) for the
 * model's likelihood, with k importance samples per row. Frees every tensor it creates.
 */
export async function iwaeNll(
  tf: Tf,
  model: IwaeModel,
  x: Float32Array,
  dim: number,
  k: number,
  seed: number,
  options: IwaeOptions = {},
): Promise<IwaeResult> {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`dim must be a positive integer, got ${dim}`);
  if (x.length % dim !== 0) throw new Error(`x holds ${x.length} values, not a whole number of rows of ${dim}`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new Error(`chunkRows must be a positive integer, got ${chunkRows}`);
  if (model.likelihood === 'gaussian' && !(model.gaussianSigma > 0)) throw new Error(`gaussianSigma must be positive, got ${model.gaussianSigma}`);

  const { encoder } = model;
  const rows = x.length / dim;
  const latentDim = encoder.outputs[0]?.shape[1];
  if (typeof latentDim !== 'number') throw new Error('the encoder must output [mu, logvar] of shape [batch, latentDim]');

  // Samples of one row per chunk, and rows per group: group * perChunk <= chunkRows.
  const perChunk = Math.min(k, chunkRows);
  const groupRows = Math.max(1, Math.floor(chunkRows / perChunk));
  const base = new Rng(seed).nextUint32();
  const nll = new Float64Array(rows);

  for (let g0 = 0; g0 < rows; g0 += groupRows) {
    const g = Math.min(groupRows, rows - g0);
    const rngs = Array.from({ length: g }, (_, r) => rowRng(base, g0 + r));
    // Running logsumexp per row: log sum_i w_i = maxLw + log(sum_i exp(lw_i - maxLw)).
    const maxLw = new Float64Array(g).fill(-Infinity);
    const sumW = new Float64Array(g);

    const xs = x.subarray(g0 * dim, (g0 + g) * dim);
    const xg = tf.tensor2d(xs, [g, dim]);
    const [mu, logvar] = tf.tidy(() => encoder.apply(xg, { training: false }) as Tensor[]) as [Tensor2D, Tensor2D];
    const native = model.native ? nativeInputs(xs, (await mu.data()) as Float32Array, (await logvar.data()) as Float32Array, g, dim, latentDim) : null;
    try {
      for (let i0 = 0; i0 < k; i0 += perChunk) {
        const c = Math.min(perChunk, k - i0);
        const eps = new Float32Array(g * c * latentDim);
        for (let r = 0; r < g; r++) rngs[r]!.fillNormal(eps.subarray(r * c * latentDim, (r + 1) * c * latentDim));
        let lw: Float32Array;
        if (native && model.native) {
          const { z, lvSum, xRep } = native.expand(eps, c);
          lw = await model.native.logWeights(z, eps, lvSum, xRep, g * c);
        } else {
          const logW = tf.tidy(() => logWeights(tf, model, xg, mu, logvar, tf.tensor3d(eps, [g, c, latentDim]), dim, latentDim));
          // Read outside the tidy (ENGINEERING.md section 6: tidy walks the returned arrays).
          try {
            lw = (await logW.data()) as Float32Array;
          } finally {
            logW.dispose();
          }
        }
        for (let r = 0; r < g; r++) {
          let m = maxLw[r]!;
          for (let i = 0; i < c; i++) m = Math.max(m, lw[r * c + i]!);
          if (m === -Infinity) continue; // every weight so far is 0: nothing to add
          let s = maxLw[r]! === -Infinity ? 0 : sumW[r]! * Math.exp(maxLw[r]! - m);
          for (let i = 0; i < c; i++) s += Math.exp(lw[r * c + i]! - m);
          maxLw[r] = m;
          sumW[r] = s;
        }
      }
    } finally {
      xg.dispose();
      mu.dispose();
      logvar.dispose();
    }
    for (let r = 0; r < g; r++) nll[g0 + r] = -(maxLw[r]! + Math.log(sumW[r]!) - Math.log(k));
  }

  let sum = 0;
  for (const v of nll) sum += v;
  const mean = sum / rows;
  let sq = 0;
  for (const v of nll) sq += (v - mean) * (v - mean);
  const stdErr = rows > 1 ? Math.sqrt(sq / (rows - 1) / rows) : 0;
  return { nllPerSample: nll, mean, stdErr };
}

/**
 * The per-sample inputs of NativeLogWeights for g images and c samples each (row r * c + i is
 * sample i of image r): z = mu + exp(logvar / 2) * eps in float32 as tfjs computes it, the image's
 * sum of logvar, and the image itself.
 */
function nativeInputs(x: Float32Array, mu: Float32Array, logvar: Float32Array, g: number, dim: number, latentDim: number) {
  const sigma = logvar.map((v) => Math.exp(v * 0.5));
  const lvSumRow = Array.from({ length: g }, (_, r) => {
    let s = 0;
    for (let j = 0; j < latentDim; j++) s += logvar[r * latentDim + j]!;
    return Math.fround(s);
  });
  return {
    expand(eps: Float32Array, c: number) {
      const z = new Float32Array(eps.length);
      const lvSum = new Float32Array(g * c);
      const xRep = new Float32Array(g * c * dim);
      for (let r = 0; r < g; r++) {
        const row = x.subarray(r * dim, (r + 1) * dim);
        for (let i = 0; i < c; i++) {
          const o = (r * c + i) * latentDim;
          for (let j = 0; j < latentDim; j++) z[o + j] = mu[r * latentDim + j]! + sigma[r * latentDim + j]! * eps[o + j]!;
          lvSum[r * c + i] = lvSumRow[r]!;
          xRep.set(row, (r * c + i) * dim);
        }
      }
      return { z, lvSum, xRep };
    },
  };
}

/**
 * log w = log p(x|z) + log p(z) - log q(z|x) for c samples of each of g rows, flattened [g * c]
 * row-major. With z = mu + sigma * eps:
 *   log p(z)   = -0.5 * |z|^2 - (d/2) log 2pi
 *   log q(z|x) = -0.5 * |eps|^2 - 0.5 * sum_j logvar_j - (d/2) log 2pi
 * so log p(z) - log q(z|x) = 0.5 * (|eps|^2 - |z|^2 + sum_j logvar_j); the 2pi terms cancel.
 * The likelihood terms are the training code's own (losses.ts), so L_1 is the training ELBO's
 * estimator with the KL estimated by Monte Carlo instead of in closed form.
 */
function logWeights(tf: Tf, model: IwaeModel, x: Tensor2D, mu: Tensor2D, logvar: Tensor2D, eps: Tensor, dim: number, latentDim: number): Tensor1D {
  const [g, c] = eps.shape as [number, number, number];
  const sigma = logvar.mul(0.5).exp();
  const z3 = mu.expandDims(1).add(sigma.expandDims(1).mul(eps)); // [g, c, d]
  const z = z3.reshape([g * c, latentDim]) as Tensor2D;
  const out = model.decoder.apply(z, { training: false }) as Tensor2D;
  const xRep = x.expandDims(1).tile([1, c, 1]).reshape([g * c, dim]) as Tensor2D;
  const nllX = reconstructionNll({ likelihood: model.likelihood, sigma: model.gaussianSigma }, xRep, out);
  const epsSq = eps.square().sum(2).reshape([g * c]);
  const zSq = z.square().sum(1);
  const sumLogvar = logvar.sum(1).expandDims(1).tile([1, c]).reshape([g * c]);
  return epsSq.sub(zSq).add(sumLogvar).mul(0.5).sub(nllX) as Tensor1D;
}

/** Nats per sample to bits per dimension: the unit image-model NLLs are usually compared in. */
export function natsToBitsPerDim(nats: number, dim: number): number {
  return nats / (dim * Math.LN2);
}
