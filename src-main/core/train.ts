/**
 * The training loop. Pure over an injected tfjs namespace and callbacks: it knows nothing of
 * processes or messages, so the trainer process, tests and benchmarks all run the same code.
 *
 * Reproducibility: one seed drives the train/validation split, the per-epoch shuffles, the
 * reparameterisation noise and the initial weights, all drawn in JS; the same seed + config +
 * backend therefore gives the same metrics.
 *
 * Memory: the dataset stays uint8; each batch is converted to float32 in [0, 1] on its own, so
 * no float copy of the whole dataset ever exists.
 */
import type { Scalar, Tensor, Tensor2D, Variable } from '@tensorflow/tfjs';
import type { TrainConfig } from '../contract/config.ts';
import type { EpochPoint, StepPoint } from '../contract/types.ts';
import { writeCheckpoint, type WrittenCheckpoint } from './checkpoint.ts';
import { bernoulliNllFromLogits, gaussianNll, klStandardNormal } from './losses.ts';
import { permutation, Rng } from './rng.ts';
import type { Tf } from './tf.ts';
import { buildVae, type Vae } from './vae.ts';

export interface TrainData {
  /** count * height * width * channels bytes, row-major HWC per sample, 0..255. */
  images: Uint8Array;
  count: number;
  width: number;
  height: number;
  channels: number;
}

export interface CheckpointReport extends WrittenCheckpoint {
  epoch: number;
  step: number;
}

export interface TrainOptions {
  tf: Tf;
  config: TrainConfig;
  data: TrainData;
  /** Steps are buffered and delivered in batches about every `reportEveryMs` (default 100). */
  onSteps?: (points: StepPoint[]) => void;
  onEpoch?: (point: EpochPoint) => void;
  onCheckpoint?: (info: CheckpointReport) => void;
  /** Polled before every step; returning true ends training after the current step. */
  shouldStop?: () => boolean;
  /** Folder receiving epoch-<n>/ checkpoints; no checkpoints when omitted. */
  checkpointDir?: string | null;
  reportEveryMs?: number;
  /** How often the loop yields to the event loop so messages (stop) are handled. Default 100 ms. */
  yieldEveryMs?: number;
}

export type TrainStatus = 'completed' | 'stopped';

/** Batch size used for the validation pass: larger batches are cheaper per sample and need no gradients. */
const MAX_EVAL_BATCH = 1024;

/** Splits and caps the data indices: the seeded subset of at most maxSamples, then the validation hold-out. */
export function splitIndices(
  count: number,
  config: Pick<TrainConfig, 'maxSamples' | 'validationFraction'>,
  rng: Rng,
): { train: Uint32Array; val: Uint32Array } {
  const perm = permutation(count, rng);
  const used = config.maxSamples > 0 ? Math.min(count, config.maxSamples) : count;
  const nVal = Math.floor(used * config.validationFraction);
  const val = perm.slice(0, nVal);
  const train = perm.slice(nVal, used);
  return { train, val };
}

/** Builds a float32 [n, D] batch in [0, 1] from the uint8 images at `indices[from..to)`. */
function gatherBatch(images: Uint8Array, dim: number, indices: Uint32Array, from: number, to: number): Float32Array {
  const n = to - from;
  const out = new Float32Array(n * dim);
  const scale = 1 / 255;
  for (let r = 0; r < n; r++) {
    const src = indices[from + r]! * dim;
    const dst = r * dim;
    for (let j = 0; j < dim; j++) out[dst + j] = images[src + j]! * scale;
  }
  return out;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Trains a VAE on `data` per `config`. Resolves 'completed' after the last epoch or 'stopped' when
 * `shouldStop` asked; rejects with a clear error when the loss stops being finite. Frees every
 * tensor it created (models, optimizer state) before it returns.
 */
export async function train(opts: TrainOptions): Promise<TrainStatus> {
  const { tf, config, data } = opts;
  const reportEveryMs = opts.reportEveryMs ?? 100;
  const yieldEveryMs = opts.yieldEveryMs ?? 100;
  const dim = data.width * data.height * data.channels;
  if (data.images.length < data.count * dim) {
    throw new Error(`dataset holds ${data.images.length} bytes, expected ${data.count} x ${dim}`);
  }

  // Independent streams, so that e.g. changing the validation fraction does not change the noise.
  const root = new Rng(config.seed);
  const splitRng = root.fork();
  const shuffleRng = root.fork();
  const noiseRng = root.fork();
  const valSeed = root.nextUint32();
  const initSeed = root.nextUint32();

  const { train: trainIdx, val: valIdx } = splitIndices(data.count, config, splitRng);
  if (trainIdx.length === 0) {
    throw new Error(`no training samples: the dataset has ${data.count} images, maxSamples ${config.maxSamples}, validationFraction ${config.validationFraction}`);
  }

  const latentDim = config.model.latentDim;
  const beta = config.beta;
  const batchSize = config.batchSize;
  const t0 = performance.now();
  let step = 0;
  let pending: StepPoint[] = [];
  let lastReport = t0;
  let lastYield = t0;
  let speed = 0;

  const flush = () => {
    if (pending.length === 0) return;
    const points = pending;
    pending = [];
    opts.onSteps?.(points);
  };

  let vae: Vae | null = null;
  let optimizer: ReturnType<typeof makeOptimizer> | null = null;
  try {
    vae = buildVae(tf, config.model, dim, initSeed);
    const { encoder, decoder } = vae;
    optimizer = makeOptimizer(tf, config);
    const vars = [...encoder.trainableWeights, ...decoder.trainableWeights].map((w) => w.read() as Variable);

    /** Per-sample reconstruction NLL and KL for a batch, with z drawn by the reparameterisation trick. */
    const terms = (x: Tensor2D, eps: Tensor2D) => {
      const [mu, logvar] = encoder.apply(x, { training: true }) as [Tensor2D, Tensor2D];
      // z = mu + sigma * eps, sigma = exp(logvar / 2)  (Kingma & Welling 2014, section 2.4)
      const z = mu.add(logvar.mul(0.5).exp().mul(eps)) as Tensor2D;
      const out = decoder.apply(z, { training: true }) as Tensor2D;
      const recon = config.likelihood === 'bernoulli' ? bernoulliNllFromLogits(x, out) : gaussianNll(x, out, config.gaussianSigma);
      return { recon, kl: klStandardNormal(mu, logvar) };
    };

    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      const epochStart = performance.now();
      const order = shuffleRng.shuffle(trainIdx.slice());
      let sumRecon = 0;
      let sumKl = 0;
      let seen = 0;

      for (let from = 0; from < order.length; from += batchSize) {
        if (opts.shouldStop?.()) {
          flush();
          return 'stopped';
        }
        const stepStart = performance.now();
        const to = Math.min(order.length, from + batchSize);
        const n = to - from;
        const x = tf.tensor2d(gatherBatch(data.images, dim, order, from, to), [n, dim]);
        const eps = tf.tensor2d(noiseRng.fillNormal(new Float32Array(n * latentDim)), [n, latentDim]);
        let stats: Tensor | null = null;
        try {
          optimizer.minimize(
            () => {
              const { recon, kl } = terms(x, eps);
              const reconMean = recon.mean();
              const klMean = kl.mean();
              // Kept past the gradient scope so the values can be read after the update.
              stats = tf.keep(tf.stack([reconMean, klMean]));
              return reconMean.add(klMean.mul(beta)) as Scalar;
            },
            false,
            vars,
          );
        } finally {
          x.dispose();
          eps.dispose();
        }
        const s = stats as Tensor | null;
        if (!s) throw new Error('internal: the step produced no statistics');
        const values = await s.data();
        s.dispose();
        const recon = values[0]!;
        const kl = values[1]!;
        step++;
        if (!Number.isFinite(recon) || !Number.isFinite(kl)) {
          flush();
          throw new Error(
            `training diverged at epoch ${epoch}, step ${step}: the loss became ${Number.isNaN(recon + kl) ? 'NaN' : 'infinite'} ` +
              `(reconstruction ${recon}, KL ${kl}); try a lower learning rate (now ${config.optimizer.learningRate}) or a smaller beta`,
          );
        }
        sumRecon += recon * n;
        sumKl += kl * n;
        seen += n;

        const now = performance.now();
        // Exponential moving average of the step throughput: steady enough to read, quick to follow changes.
        const instant = (n * 1000) / Math.max(now - stepStart, 1e-3);
        speed = speed === 0 ? instant : 0.9 * speed + 0.1 * instant;
        pending.push({ step, epoch, loss: recon + beta * kl, recon, kl, negElbo: recon + kl, samplesPerSec: speed, timeMs: now - t0 });
        if (now - lastReport >= reportEveryMs) {
          lastReport = now;
          flush();
        }
        if (now - lastYield >= yieldEveryMs) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      flush();

      const val = valIdx.length > 0 ? await evaluate(tf, terms, data.images, dim, valIdx, latentDim, new Rng(valSeed)) : null;
      const recon = sumRecon / seen;
      const kl = sumKl / seen;
      const point: EpochPoint = {
        epoch,
        step,
        loss: recon + beta * kl,
        recon,
        kl,
        negElbo: recon + kl,
        valNegElbo: val ? val.recon + val.kl : null,
        valRecon: val ? val.recon : null,
        valKl: val ? val.kl : null,
        bitsPerDim: (recon + kl) / (dim * Math.LN2),
        durationMs: performance.now() - epochStart,
      };
      opts.onEpoch?.(point);

      if (opts.checkpointDir) {
        const written = await writeCheckpoint(tf, opts.checkpointDir, {
          encoder,
          decoder,
          meta: {
            epoch,
            step,
            config,
            input: { width: data.width, height: data.height, channels: data.channels },
            dim,
            paramCount: vae.paramCount,
            metrics: point,
          },
        });
        opts.onCheckpoint?.({ epoch, step, ...written });
      }
      lastYield = performance.now();
      await yieldToEventLoop();
    }
    return 'completed';
  } finally {
    flush();
    optimizer?.dispose();
    vae?.encoder.dispose();
    vae?.decoder.dispose();
  }
}

/**
 * Validation -ELBO terms averaged over `indices` (one reparameterised sample per image, the same
 * noise every epoch so that epochs compare on equal terms).
 */
async function evaluate(
  tf: Tf,
  terms: (x: Tensor2D, eps: Tensor2D) => { recon: Tensor; kl: Tensor },
  images: Uint8Array,
  dim: number,
  indices: Uint32Array,
  latentDim: number,
  rng: Rng,
): Promise<{ recon: number; kl: number }> {
  let sumRecon = 0;
  let sumKl = 0;
  for (let from = 0; from < indices.length; from += MAX_EVAL_BATCH) {
    const to = Math.min(indices.length, from + MAX_EVAL_BATCH);
    const n = to - from;
    const batch = gatherBatch(images, dim, indices, from, to);
    const noise = rng.fillNormal(new Float32Array(n * latentDim));
    const sums = tf.tidy(() => {
      const { recon, kl } = terms(tf.tensor2d(batch, [n, dim]), tf.tensor2d(noise, [n, latentDim]));
      return tf.stack([recon.sum(), kl.sum()]);
    });
    const v = await sums.data();
    sums.dispose();
    sumRecon += v[0]!;
    sumKl += v[1]!;
    await yieldToEventLoop();
  }
  return { recon: sumRecon / indices.length, kl: sumKl / indices.length };
}

function makeOptimizer(tf: Tf, config: TrainConfig) {
  const lr = config.optimizer.learningRate;
  switch (config.optimizer.name) {
    case 'adam':
      return tf.train.adam(lr);
    case 'rmsprop':
      return tf.train.rmsprop(lr);
    case 'sgd':
      return tf.train.sgd(lr);
  }
}
