/**
 * The training loop. Pure over an injected tfjs namespace and callbacks: it knows nothing of
 * processes or messages, so the trainer process, tests and benchmarks all run the same code.
 *
 * Objective per step t (0-based) on a batch B, with z = mu + exp(logvar / 2) * eps:
 *   loss = mean_B[-log p(x|z)] + beta_t * sum_j max(lambda, mean_B[KL_j])
 * where beta_t = beta * warm-up factor (schedules.ts), lambda = freeBits (Kingma et al. 2016,
 * eq. 15, one group per latent dimension; lambda = 0 gives the plain KL), KL_j = KL(q(z_j|x) ||
 * N(0, 1)). Whatever the objective, every step and epoch also reports the beta = 1 -ELBO,
 * mean_B[-log p(x|z)] + mean_B[sum_j KL_j], in nats (and bits/dim per epoch).
 *
 * Reproducibility: one seed drives the train/validation split, the per-epoch shuffles, the
 * reparameterisation noise, the binarisation draws and the initial weights, all drawn in JS; the
 * same seed + config + backend therefore gives the same metrics.
 *
 * Memory: the data is read one batch at a time through a DataSource (uint8, in memory or streamed
 * from a file); each batch is converted to float32 on its own, so no float copy of the whole
 * dataset ever exists.
 */
import type { LayersModel, NamedTensorMap, Optimizer, Scalar, Tensor, Tensor1D, Tensor2D, Variable } from '@tensorflow/tfjs';
import type { TrainConfig } from '../contract/config.ts';
import type { EpochPoint, StepPoint } from '../contract/types.ts';
import { writeCheckpoint, type WrittenCheckpoint } from './checkpoint.ts';
import { toDataSource, type DataSource, type InMemoryImages } from './data-source.ts';
import { klPerDimension, reconstructionNll, type LikelihoodSpec } from './losses.ts';
import { collapseWarning, ColumnMoments, countActiveUnits } from './metrics.ts';
import { createLocalAdam, createParallelEngine, resolveThreads, useLocalAdam, type LocalAdam, type StepEngine } from './parallel/engine.ts';
import { createOrtEngine, type OrtRuntime } from './ort/engine.ts';
import { stepGraphUnsupported } from './ort/vae-step.ts';
import { applyResumeState, captureLoopState, TrainingDivergedError, type ResumeState } from './resume.ts';
import { permutation, Rng } from './rng.ts';
import { klWarmupFactor, learningRateAt } from './schedules.ts';
import type { Tf } from './tf.ts';
import { buildVae, type Vae } from './vae.ts';

/** A dataset in memory: count * height * width * channels bytes, row-major HWC per sample, 0..255. */
export type TrainData = InMemoryImages;

export interface CheckpointReport extends WrittenCheckpoint {
  epoch: number;
  step: number;
}

/** The trained model as training ends, handed to `onTrained` before it is freed. */
export interface TrainedModel {
  encoder: LayersModel;
  decoder: LayersModel;
  /** The Gaussian likelihood's sigma (learned or fixed); null for the Bernoulli likelihoods. */
  sigma: number | null;
  epoch: number;
  step: number;
}

export interface TrainOptions {
  tf: Tf;
  config: TrainConfig;
  /** The data: any DataSource (e.g. a file streamed from disk), or uint8 images in memory. */
  data: DataSource | TrainData;
  /** Steps are buffered and delivered in batches about every `reportEveryMs` (default 100). */
  onSteps?: (points: StepPoint[]) => void;
  onEpoch?: (point: EpochPoint) => void;
  onCheckpoint?: (info: CheckpointReport) => void;
  /**
   * Called once when training ends normally ('completed' or 'stopped'), with the live model; the
   * models are disposed after it resolves, so keep nothing from it (evaluate or save inside).
   */
  onTrained?: (model: TrainedModel) => void | Promise<void>;
  /**
   * Continue a run from its checkpoint (resume.ts): weights, optimiser state, random streams,
   * step and epoch counters and the loop's carried values are restored, so the run goes on exactly
   * as if it had never stopped. The caller keeps ownership (dispose it after train resolves).
   */
  resume?: ResumeState;
  /** Polled before every step; returning true ends training after the current step. */
  shouldStop?: () => boolean;
  /**
   * Called before every step: returns a promise while training should hold (pause), undefined
   * otherwise. The held time is left out of the run's elapsed time (timeMs, epoch duration).
   */
  waitIfPaused?: () => Promise<void> | undefined;
  /**
   * Called at each epoch's end, before onEpoch, with the live model (e.g. to render previews);
   * awaited. Keep nothing from it: the models go on training.
   */
  onEpochModel?: (model: TrainedModel) => void | Promise<void>;
  /** Folder receiving epoch-<n>/ checkpoints; no checkpoints when omitted. */
  checkpointDir?: string | null;
  reportEveryMs?: number;
  /** How often the loop yields to the event loop so messages (stop) are handled. Default 100 ms. */
  yieldEveryMs?: number;
  /**
   * The native step (core/ort/engine.ts): when given, every training step runs in ONNX Runtime with
   * `threads` threads, and tfjs (`tf`) evaluates, previews and checkpoints. The trainer passes it
   * for the 'onnxruntime' backend (trainer/backend.ts).
   */
  native?: { ort: OrtRuntime; threads: number };
}

export type TrainStatus = 'completed' | 'stopped';

/** Batch size used for the validation pass: larger batches are cheaper per sample and need no gradients. */
const MAX_EVAL_BATCH = 1024;
/** Without a validation split, the latent diagnostics use at most this many training samples. */
const DIAGNOSTIC_SAMPLES = 2048;

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

/** The number of optimisation steps a run takes: the step budget, or every batch of every epoch. */
export function plannedSteps(config: Pick<TrainConfig, 'maxSteps' | 'epochs' | 'batchSize'>, trainCount: number): number {
  if (config.maxSteps > 0) return config.maxSteps;
  return config.epochs * Math.ceil(trainCount / config.batchSize);
}

/** MurmurHash3's 32-bit finaliser (a bijection): the counter-based hash of the static binarisation. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const TWO_POW_32 = 4294967296;

/**
 * Converts a uint8 batch to float32 [n, D]. Intensities v / 255 for 'none'; for binarisation each
 * pixel becomes 1 with probability v / 255 (u * 255 < v with u uniform in [0, 1): always for 255,
 * never for 0). 'static' draws u from a hash of (seed, sample index, pixel), so a sample binarises
 * the same way every time without storing a binarised copy; 'dynamic' draws from `rng`.
 */
function toFloatBatch(
  u8: Uint8Array,
  n: number,
  dim: number,
  mode: 'none' | 'static' | 'dynamic',
  indices: ArrayLike<number>,
  staticSeed: number,
  rng: Rng,
): Float32Array {
  const out = new Float32Array(n * dim);
  if (mode === 'none') {
    const scale = 1 / 255;
    for (let k = 0; k < n * dim; k++) out[k] = u8[k]! * scale;
  } else if (mode === 'dynamic') {
    for (let k = 0; k < n * dim; k++) out[k] = rng.uniform() * 255 < u8[k]! ? 1 : 0;
  } else {
    for (let r = 0; r < n; r++) {
      const base = mix32((staticSeed ^ Math.imul(indices[r]! + 1, 0x9e3779b1)) >>> 0);
      for (let j = 0; j < dim; j++) {
        const u = mix32((base + Math.imul(j + 1, 0x632be5ab)) >>> 0) / TWO_POW_32;
        out[r * dim + j] = u * 255 < u8[r * dim + j]! ? 1 : 0;
      }
    }
  }
  return out;
}

/**
 * The loop's random streams, drawn from the seed in a fixed order. Independent streams, so that e.g.
 * changing the validation fraction does not change the noise; new streams are appended at the end
 * so the earlier ones keep their values. Evaluation (the trainer's eval mode) draws the same split
 * and static binarisation from here.
 */
export function seedStreams(seed: number) {
  const root = new Rng(seed);
  const split = root.fork();
  const shuffle = root.fork();
  const noise = root.fork();
  const valSeed = root.nextUint32();
  const initSeed = root.nextUint32();
  const binarize = root.fork();
  const staticSeed = root.nextUint32();
  return { split, shuffle, noise, valSeed, initSeed, binarize, staticSeed };
}

/**
 * A uint8 batch as the model of `config` is evaluated on it, like the loop's validation pass:
 * intensities v / 255, or for a binarised run the run's static binarisation of those samples.
 */
export function evaluationBatch(config: Pick<TrainConfig, 'seed' | 'binarization'>, u8: Uint8Array, indices: ArrayLike<number>, dim: number): Float32Array {
  const { staticSeed, binarize } = seedStreams(config.seed);
  return toFloatBatch(u8, indices.length, dim, config.binarization === 'none' ? 'none' : 'static', indices, staticSeed, binarize);
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** The per-sample terms of one forward pass with z drawn by the reparameterisation trick. */
type Forward = (x: Tensor2D, eps: Tensor2D) => { mu: Tensor2D; recon: Tensor1D; klDims: Tensor2D };

/**
 * Trains a VAE on `data` per `config`. Resolves 'completed' after the last epoch, the step budget
 * or an early stop, or 'stopped' when `shouldStop` asked; rejects with a clear error when the loss
 * stops being finite. Frees every tensor it created (models, optimizer state) before it returns.
 */
export async function train(opts: TrainOptions): Promise<TrainStatus> {
  const { tf, config } = opts;
  const source = toDataSource(opts.data);
  const reportEveryMs = opts.reportEveryMs ?? 100;
  const yieldEveryMs = opts.yieldEveryMs ?? 100;
  const shape = { width: source.width, height: source.height, channels: source.channels };
  const dim = shape.width * shape.height * shape.channels;

  const streams = seedStreams(config.seed);
  const splitRng = streams.split;
  let shuffleRng = streams.shuffle;
  let noiseRng = streams.noise;
  const { valSeed, initSeed, staticSeed } = streams;
  let binarizeRng = streams.binarize;

  const { train: trainIdx, val: valIdx } = splitIndices(source.count, config, splitRng);
  if (trainIdx.length === 0) {
    throw new Error(`no training samples: the dataset has ${source.count} images, maxSamples ${config.maxSamples}, validationFraction ${config.validationFraction}`);
  }
  if (config.earlyStopping.patience > 0 && valIdx.length === 0) {
    throw new Error('early stopping watches the validation -ELBO: set validationFraction above 0 (or patience to 0)');
  }
  // The latent diagnostics (KL per dimension, active units) run on the validation split, or on a
  // fixed slice of the (already shuffled) training indices without one.
  const diagIdx = valIdx.length > 0 ? valIdx : trainIdx.subarray(0, Math.min(trainIdx.length, DIAGNOSTIC_SAMPLES));

  const latentDim = config.model.latentDim;
  const batchSize = config.batchSize;
  const totalSteps = plannedSteps(config, trainIdx.length);
  const lr0 = config.optimizer.learningRate;
  const weightDecay = config.optimizer.name === 'adamw' ? config.optimizer.weightDecay : 0;
  const clipNorm = config.gradClipNorm;
  const freeBits = config.freeBits;
  let t0 = performance.now();
  let step = 0;
  let pending: StepPoint[] = [];
  let lastReport = t0;
  let lastYield = t0;
  let speed = 0;
  const u8 = new Uint8Array(Math.max(batchSize, Math.min(MAX_EVAL_BATCH, diagIdx.length)) * dim);

  const flush = () => {
    if (pending.length === 0) return;
    const points = pending;
    pending = [];
    opts.onSteps?.(points);
  };

  let vae: Vae | null = null;
  let optimizer: Optimizer | null = null;
  let logSigma: Variable | null = null;
  let parallel: StepEngine | null = null;
  // The single-thread step's fused Adam (wasm), made once the optimiser state is final (after a resume).
  let localAdam: LocalAdam | null = null;
  try {
    vae = buildVae(tf, config.model, shape, initSeed);
    const { encoder, decoder } = vae;
    optimizer = makeOptimizer(tf, config);
    const modelVars = [...encoder.trainableWeights, ...decoder.trainableWeights].map((w) => w.read() as Variable);
    const gaussian = config.likelihood === 'gaussian';
    if (gaussian && config.gaussianSigmaMode === 'learned') {
      const init = Math.log(config.gaussianSigma);
      logSigma = tf.tidy(() => tf.variable(tf.scalar(init), true));
    }
    const vars = logSigma ? [...modelVars, logSigma] : modelVars;
    const spec: LikelihoodSpec = { likelihood: config.likelihood, sigma: logSigma ? (logSigma as Scalar) : config.gaussianSigma };
    const sigmaNow = (): number | null =>
      !gaussian ? null : logSigma ? Math.exp((logSigma.dataSync() as Float32Array)[0]!) : config.gaussianSigma;

    const forward: Forward = (x, eps) => {
      const [mu, logvar] = encoder.apply(x, { training: true }) as [Tensor2D, Tensor2D];
      // z = mu + sigma * eps, sigma = exp(logvar / 2)  (Kingma & Welling 2014, section 2.4)
      const z = mu.add(logvar.mul(0.5).exp().mul(eps)) as Tensor2D;
      const out = decoder.apply(z, { training: true }) as Tensor2D;
      return { mu, recon: reconstructionNll(spec, x, out), klDims: klPerDimension(mu, logvar) };
    };

    const readXData = (indices: Uint32Array, binarization: TrainConfig['binarization']): Float32Array =>
      toFloatBatch(source.readBatch(indices, u8), indices.length, dim, binarization, indices, staticSeed, binarizeRng);
    const readX = (indices: Uint32Array, binarization: TrainConfig['binarization']): Tensor2D =>
      tf.tensor2d(readXData(indices, binarization), [indices.length, dim]);

    // ---- How a step's gradients are computed (StepEngine, core/parallel/engine.ts) ----
    // On one thread: the objective below, its gradient by tf, the update by applyUpdate. With
    // threads > 1 on a backend that registered replica workers (wasm), `parallel` splits each batch
    // over worker threads instead; the data and noise of a step are drawn here either way.
    const localStep = async (xData: Float32Array, epsData: Float32Array, n: number, beta: number, lr: number): Promise<ArrayLike<number>> => {
      const x = tf.tensor2d(xData, [n, dim]);
      const eps = tf.tensor2d(epsData, [n, latentDim]);
      let stats: Tensor | null = null;
      let result: Tensor;
      try {
        const { value, grads } = optimizer!.computeGradients(() => {
          const { recon, klDims } = forward(x, eps);
          const reconMean = recon.mean();
          const klDimMean = klDims.mean(0);
          const klMean = klDimMean.sum();
          // Free bits: dimensions whose batch-mean KL is below lambda are not pushed further down.
          const klObjective = freeBits > 0 ? klDimMean.maximum(freeBits).sum() : klMean;
          // Kept past the gradient scope so the values can be read after the update.
          stats = tf.keep(tf.stack([reconMean, klMean, klObjective]));
          return reconMean.add(klObjective.mul(beta)) as Scalar;
        }, vars);
        value.dispose();
        const s = stats as Tensor | null;
        if (!s) throw new Error('internal: the step produced no statistics');
        if (localAdam) {
          const norm = localAdam.apply(grads, lr);
          const values = await s.data();
          s.dispose();
          return [values[0]!, values[1]!, values[2]!, norm];
        }
        // log-sigma is not decayed: it is a noise scale, not a weight.
        const norm = applyUpdate(tf, optimizer!, grads, { lr, clipNorm, weightDecay, decayed: modelVars });
        result = tf.tidy(() => tf.concat([s, norm.reshape([1])]));
        s.dispose();
        norm.dispose();
      } finally {
        x.dispose();
        eps.dispose();
      }
      const values = await result.data();
      result.dispose();
      return values;
    };
    // ---- end of the step engine's single-thread part ----

    let best = Number.POSITIVE_INFINITY;
    let sinceBest = 0;
    let lastBeta = config.beta;
    let lastLr = lr0;
    let appliedLr = Number.NaN;
    let epoch = 0;

    if (opts.resume) {
      const r = opts.resume;
      const { rng } = await applyResumeState(r, { encoder, decoder, optimizer });
      const restore = (name: string): Rng => {
        const g = rng[name];
        if (!g) throw new Error(`the checkpoint ${r.path} lacks the '${name}' random stream`);
        return g;
      };
      shuffleRng = restore('shuffle');
      noiseRng = restore('noise');
      binarizeRng = restore('binarize');
      const extra = r.loop.extra as { best?: number | null; sinceBest?: number; logSigma?: number };
      best = typeof extra.best === 'number' ? extra.best : Number.POSITIVE_INFINITY;
      sinceBest = extra.sinceBest ?? 0;
      const saved = extra.logSigma;
      if (logSigma && typeof saved === 'number') tf.tidy(() => logSigma!.assign(tf.scalar(saved)));
      step = r.step;
      epoch = r.epoch;
      t0 = performance.now() - r.loop.elapsedMs;
      lastReport = lastYield = performance.now();
    }

    // After a resume, so the worker replicas (or the native step) start from the restored weights and optimiser state.
    const native = opts.native && !stepGraphUnsupported(config) ? opts.native : null;
    parallel = native
      ? await createOrtEngine({ ort: native.ort, tf, config, shape, threads: native.threads, optimizer, logSigma, vars })
      : await createParallelEngine({
          tf,
          config,
          shape,
          initSeed,
          threads: resolveThreads(config),
          encoder,
          decoder,
          optimizer,
          logSigma,
          vars,
          forward,
          apply: (grads, lr) => applyUpdate(tf, optimizer!, grads, { lr, clipNorm, weightDecay, decayed: modelVars }),
        });
    if (!parallel && useLocalAdam(tf, config)) localAdam = await createLocalAdam({ tf, config, optimizer, logSigma, vars });

    while (step < totalSteps) {
      epoch++;
      let epochStart = performance.now();
      const order = shuffleRng.shuffle(trainIdx.slice());
      let sumRecon = 0;
      let sumKl = 0;
      let sumLoss = 0;
      let seen = 0;

      for (let from = 0; from < order.length && step < totalSteps; from += batchSize) {
        const hold = opts.waitIfPaused?.();
        if (hold) {
          flush();
          const heldFrom = performance.now();
          await hold;
          const held = performance.now() - heldFrom;
          t0 += held;
          epochStart += held;
          lastReport = lastYield = performance.now();
        }
        if (opts.shouldStop?.()) {
          flush();
          parallel?.syncModel?.();
          await opts.onTrained?.({ encoder, decoder, sigma: sigmaNow(), epoch: epoch - 1, step });
          return 'stopped';
        }
        const stepStart = performance.now();
        const to = Math.min(order.length, from + batchSize);
        const n = to - from;
        const beta = config.beta * klWarmupFactor(config.klWarmup, step);
        const lr = learningRateAt(lr0, config.lrSchedule, step, totalSteps);
        if (lr !== appliedLr) {
          setLearningRate(optimizer, lr);
          appliedLr = lr;
        }
        const xData = readXData(order.subarray(from, to), config.binarization);
        const epsData = noiseRng.fillNormal(new Float32Array(n * latentDim));
        const values = await (parallel ?? { step: localStep }).step(xData, epsData, n, beta, lr);
        const recon = values[0]!;
        const kl = values[1]!;
        // The objective is recombined in double precision from its float32 terms.
        const loss = recon + beta * values[2]!;
        const gradNorm = values[3]!;
        step++;
        if (!Number.isFinite(recon) || !Number.isFinite(kl) || !Number.isFinite(gradNorm)) {
          flush();
          const what = !Number.isFinite(recon + kl) ? 'the loss' : "the loss's gradient";
          throw new TrainingDivergedError(
            `training diverged at epoch ${epoch}, step ${step}: ${what} became ${Number.isNaN(recon + kl + gradNorm) ? 'NaN' : 'infinite'} ` +
              `(reconstruction ${recon}, KL ${kl}, gradient norm ${gradNorm}); try a lower learning rate (now ${lr}), gradient clipping or a smaller beta`,
            epoch,
            step,
          );
        }
        sumRecon += recon * n;
        sumKl += kl * n;
        sumLoss += loss * n;
        seen += n;
        lastBeta = beta;
        lastLr = lr;

        const now = performance.now();
        // Exponential moving average of the step throughput: steady enough to read, quick to follow changes.
        const instant = (n * 1000) / Math.max(now - stepStart, 1e-3);
        speed = speed === 0 ? instant : 0.9 * speed + 0.1 * instant;
        pending.push({ step, epoch, loss, recon, kl, negElbo: recon + kl, samplesPerSec: speed, timeMs: now - t0, beta, lr, gradNorm });
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

      // The native step keeps the weights outside the tfjs model between epochs.
      parallel?.syncModel?.();
      const diag = await diagnose(tf, forward, diagIdx, latentDim, new Rng(valSeed), (idx) => readX(idx, config.binarization === 'none' ? 'none' : 'static'));
      const val = valIdx.length > 0 ? diag : null;
      const recon = sumRecon / seen;
      const kl = sumKl / seen;
      const activeUnits = countActiveUnits(diag.muVariance);
      const point: EpochPoint = {
        epoch,
        step,
        loss: sumLoss / seen,
        recon,
        kl,
        negElbo: recon + kl,
        valNegElbo: val ? val.recon + val.kl : null,
        valRecon: val ? val.recon : null,
        valKl: val ? val.kl : null,
        bitsPerDim: (recon + kl) / (dim * Math.LN2),
        durationMs: 0,
        valBitsPerDim: val ? (val.recon + val.kl) / (dim * Math.LN2) : null,
        klPerDim: diag.klPerDim,
        activeUnits,
        collapseWarning: collapseWarning(activeUnits, latentDim),
        beta: lastBeta,
        lr: lastLr,
      };
      const sigma = sigmaNow();
      if (sigma !== null) point.sigma = sigma;

      let early = false;
      if (val && config.earlyStopping.patience > 0) {
        const v = val.recon + val.kl;
        if (v < best - config.earlyStopping.minDelta) {
          best = v;
          sinceBest = 0;
        } else if (++sinceBest >= config.earlyStopping.patience) {
          early = true;
        }
      }
      if (early) point.stopReason = 'earlyStopping';
      else if (step >= totalSteps) point.stopReason = config.maxSteps > 0 ? 'maxSteps' : 'epochs';
      // Before the epoch is reported, so whoever hears of the epoch finds its previews written.
      await opts.onEpochModel?.({ encoder, decoder, sigma: sigmaNow(), epoch, step });
      point.durationMs = performance.now() - epochStart;
      opts.onEpoch?.(point);

      if (opts.checkpointDir) {
        // The parallel engine's sharded Adam keeps the moments outside the tfjs optimiser.
        await parallel?.syncOptimizer?.();
        await localAdam?.sync();
        const written = await writeCheckpoint(tf, opts.checkpointDir, {
          encoder,
          decoder,
          optimizer,
          // Everything the next epoch depends on besides weights and optimiser (resume.ts). log-sigma
          // is a float32, exact as a JSON number; best is null while still infinite.
          state: captureLoopState(
            performance.now() - t0,
            { shuffle: shuffleRng, noise: noiseRng, binarize: binarizeRng },
            {
              best: Number.isFinite(best) ? best : null,
              sinceBest,
              ...(logSigma ? { logSigma: (logSigma.dataSync() as Float32Array)[0]! } : {}),
            },
          ),
          meta: {
            epoch,
            step,
            config,
            input: shape,
            dim,
            paramCount: vae.paramCount,
            metrics: point,
          },
        });
        opts.onCheckpoint?.({ epoch, step, ...written });
      }
      lastYield = performance.now();
      await yieldToEventLoop();
      if (early) break;
    }
    await opts.onTrained?.({ encoder, decoder, sigma: sigmaNow(), epoch, step });
    return 'completed';
  } finally {
    flush();
    await parallel?.close();
    if (optimizer) disposeOptimizer(optimizer);
    logSigma?.dispose();
    vae?.encoder.dispose();
    vae?.decoder.dispose();
  }
}

interface Diagnostics {
  /** Mean -log p(x|z) and mean total KL per sample over the set (one reparameterised sample each). */
  recon: number;
  kl: number;
  klPerDim: number[];
  /** Var_x of the posterior means, per latent dimension. */
  muVariance: Float64Array;
}

/**
 * One pass over `indices` with fixed noise (the same every epoch, so epochs compare on equal
 * terms): the validation -ELBO terms, the mean KL per latent dimension and the variance across
 * data points of each posterior mean (for the active units).
 */
async function diagnose(
  tf: Tf,
  forward: Forward,
  indices: Uint32Array,
  latentDim: number,
  rng: Rng,
  readX: (indices: Uint32Array) => Tensor2D,
): Promise<Diagnostics> {
  let sumRecon = 0;
  const klSums = new Float64Array(latentDim);
  const moments = new ColumnMoments(latentDim);
  for (let from = 0; from < indices.length; from += MAX_EVAL_BATCH) {
    const to = Math.min(indices.length, from + MAX_EVAL_BATCH);
    const n = to - from;
    const x = readX(indices.subarray(from, to));
    const noise = rng.fillNormal(new Float32Array(n * latentDim));
    const packed = tf.tidy(() => {
      const { mu, recon, klDims } = forward(x, tf.tensor2d(noise, [n, latentDim]));
      const muMean = mu.mean(0);
      const muM2 = mu.sub(muMean).square().sum(0);
      return tf.concat([recon.sum().reshape([1]), klDims.sum(0), muMean, muM2]);
    });
    x.dispose();
    const v = await packed.data();
    packed.dispose();
    sumRecon += v[0]!;
    for (let j = 0; j < latentDim; j++) klSums[j] = klSums[j]! + v[1 + j]!;
    moments.addBatch(n, v.subarray(1 + latentDim, 1 + 2 * latentDim), v.subarray(1 + 2 * latentDim, 1 + 3 * latentDim));
    await yieldToEventLoop();
  }
  const count = indices.length;
  const klPerDim = Array.from(klSums, (s) => s / count);
  return { recon: sumRecon / count, kl: klPerDim.reduce((a, b) => a + b, 0), klPerDim, muVariance: moments.variance() };
}

/**
 * One parameter update from gradients (which it frees); returns the gradient's global L2 norm
 * before clipping, as a scalar tensor the caller frees.
 * - Clipping by global norm (Pascanu et al. 2013, algorithm 2): g <- g * c / max(||g||, c).
 * - Decoupled weight decay (Loshchilov & Hutter 2019, algorithm 2, AdamW): before the optimiser's
 *   own update, every variable in `decayed` is scaled by (1 - lr * weightDecay), outside the
 *   adaptive moments, so the decay is not rescaled by them as an L2 term in the loss would be.
 */
export function applyUpdate(
  tf: Tf,
  optimizer: Optimizer,
  grads: NamedTensorMap,
  o: { lr: number; clipNorm: number; weightDecay: number; decayed: readonly Variable[] },
): Scalar {
  const names = Object.keys(grads);
  const norm = tf.tidy(() => tf.addN(names.map((k) => grads[k]!.square().sum())).sqrt() as Scalar);
  let update: NamedTensorMap = grads;
  if (o.clipNorm > 0) {
    update = tf.tidy(() => {
      const scale = tf.scalar(o.clipNorm).div(norm.maximum(o.clipNorm));
      return Object.fromEntries(names.map((k) => [k, grads[k]!.mul(scale)]));
    });
    tf.dispose(Object.values(grads));
  }
  if (o.weightDecay > 0) {
    const keep = 1 - o.lr * o.weightDecay;
    tf.tidy(() => {
      for (const v of o.decayed) v.assign(v.mul(keep));
    });
  }
  optimizer.applyGradients(update);
  tf.dispose(Object.values(update));
  return norm;
}

/** The optimiser of the config; its learning rate is set per step by the schedule (setLearningRate). */
export function makeOptimizer(tf: Tf, config: TrainConfig): Optimizer {
  const o = config.optimizer;
  switch (o.name) {
    case 'adam':
    case 'adamw':
      return tf.train.adam(o.learningRate, o.beta1, o.beta2, o.epsilon);
    case 'rmsprop':
      return tf.train.rmsprop(o.learningRate, o.rho, 0, o.epsilon);
    case 'sgd':
      return o.momentum > 0 ? tf.train.momentum(o.learningRate, o.momentum) : tf.train.sgd(o.learningRate);
  }
}

/**
 * tfjs's Adam and RMSprop read their `learningRate` field at every update; SGD and momentum bake
 * it into a scalar that setLearningRate replaces. The field is not public in the typings.
 */
export function setLearningRate(optimizer: Optimizer, lr: number): void {
  const o = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/**
 * Frees an optimiser. tfjs's MomentumOptimizer.dispose() does not call its parent's, so the
 * learning-rate scalar `c` that SGD keeps would leak one tensor per run: free it here too.
 */
export function disposeOptimizer(optimizer: Optimizer): void {
  optimizer.dispose();
  const c = (optimizer as unknown as { c?: Tensor }).c;
  if (c && !c.isDisposed) c.dispose();
}
