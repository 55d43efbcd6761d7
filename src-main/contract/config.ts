/**
 * The one training configuration schema. Main validates every config with it; the CLI's
 * `--set key=value` and the renderer's panels write into it; each run stores the fully resolved
 * result so that a run can be rebuilt from its row alone. Defaults follow the classic MNIST VAE
 * (Kingma & Welling 2014, appendix C: 784-400-20, Adam), which trains well on 28x28 data.
 */
import { z } from 'zod';

export const MODEL_KINDS = ['mlp', 'conv'] as const;
export const ACTIVATIONS = ['relu', 'tanh', 'elu', 'leakyRelu'] as const;
export const LIKELIHOODS = ['bernoulli', 'continuousBernoulli', 'gaussian'] as const;
export const BINARIZATIONS = ['none', 'static', 'dynamic'] as const;
export const SIGMA_MODES = ['fixed', 'learned'] as const;
export const KL_SCHEDULES = ['none', 'linear', 'sigmoid', 'cyclical'] as const;
export const OPTIMIZERS = ['adam', 'adamw', 'rmsprop', 'sgd'] as const;
export const LR_SCHEDULES = ['constant', 'step', 'cosine'] as const;
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'onnxruntime', 'wasm', 'cpu'] as const;

export const ModelConfigSchema = z
  .object({
    /**
     * 'mlp': dense layers on the flattened image. 'conv': strided convolutions (stride 2, 'same'
     * padding) on the image, then the heads; the decoder mirrors them with transposed convolutions.
     */
    kind: z.enum(MODEL_KINDS).default('mlp'),
    /** Encoder hidden widths of the MLP; the decoder mirrors them ([] = linear, e.g. probabilistic PCA). Unused by 'conv'. */
    hidden: z.array(z.number().int().min(1).max(8192)).min(0).max(8).default([400]),
    latentDim: z.number().int().min(1).max(512).default(20),
    activation: z.enum(ACTIVATIONS).default('relu'),
    /**
     * 'conv' only: output channels of the encoder's convolutions, each halving the image's height
     * and width (28 -> 14 -> 7 for [32, 64]); the decoder's transposed convolutions mirror them.
     */
    channels: z.array(z.number().int().min(1).max(1024)).min(1).max(6).default([32, 64]),
    /** 'conv' only: square kernel size; 4 is a multiple of the stride 2, which avoids checkerboard artefacts. */
    kernelSize: z.number().int().min(2).max(7).default(4),
    /** 'conv' only: width of a dense layer between the flattened features and the heads (0 = none). */
    denseUnits: z.number().int().min(0).max(8192).default(0),
  })
  .strict();

export const OptimizerConfigSchema = z
  .object({
    /** 'adamw' is Adam with decoupled weight decay (Loshchilov & Hutter 2019); 'sgd' uses `momentum`. */
    name: z.enum(OPTIMIZERS).default('adam'),
    /** The base (peak) learning rate; `lrSchedule` scales it per step. */
    learningRate: z.number().positive().max(10).default(1e-3),
    /** Adam / AdamW first- and second-moment decay rates. */
    beta1: z.number().min(0).max(0.9999).default(0.9),
    beta2: z.number().min(0).max(0.99999).default(0.999),
    /** Adam / AdamW / RMSprop denominator offset. */
    epsilon: z.number().positive().max(1).default(1e-8),
    /** AdamW only: decoupled decay, theta <- theta * (1 - lr_t * weightDecay) every step. */
    weightDecay: z.number().min(0).max(1).default(0.01),
    /** SGD only: heavy-ball momentum (0 = plain SGD). */
    momentum: z.number().min(0).max(0.9999).default(0.9),
    /** RMSprop only: decay of the running mean of squared gradients. */
    rho: z.number().min(0).max(0.9999).default(0.9),
  })
  .strict();

/**
 * The learning rate per step t (0-based), for a run of T steps: a linear warm-up lr * (t + 1) / W
 * over the first W = warmupSteps steps, then 'constant' lr, 'step' lr * gamma^floor((t - W) /
 * stepSize), or 'cosine' from lr down to lr * minFactor at the last step (Loshchilov & Hutter 2017,
 * without restarts). schedules.ts holds the formulas.
 */
export const LrScheduleConfigSchema = z
  .object({
    kind: z.enum(LR_SCHEDULES).default('constant'),
    warmupSteps: z.number().int().min(0).default(0),
    /** 'step': steps between two decays. */
    stepSize: z.number().int().min(1).default(1000),
    /** 'step': factor applied at every decay. */
    gamma: z.number().positive().max(1).default(0.1),
    /** 'cosine': final learning rate as a fraction of the base one. */
    minFactor: z.number().min(0).max(1).default(0),
  })
  .strict();

/**
 * KL warm-up: the KL weight at step t is beta * w(t) with w rising from 0 to 1 ('none': w = 1).
 * 'linear': w = min(1, t / steps) (Bowman et al. 2016; Sonderby et al. 2016). 'sigmoid': a
 * logistic ramp of steepness `steepness` centred at steps / 2, rescaled to run exactly from 0 at
 * t = 0 to 1 at t = steps. 'cyclical' (Fu et al. 2019): period `steps`; in each period w rises
 * linearly over the first `rampFraction` of it, then stays 1.
 */
export const KlWarmupConfigSchema = z
  .object({
    schedule: z.enum(KL_SCHEDULES).default('none'),
    steps: z.number().int().min(1).default(1000),
    steepness: z.number().positive().max(100).default(10),
    rampFraction: z.number().positive().max(1).default(0.5),
  })
  .strict();

/** Early stopping on the validation -ELBO (needs validationFraction > 0). patience 0 = off. */
export const EarlyStoppingConfigSchema = z
  .object({
    /** Epochs without an improvement larger than minDelta before training ends. */
    patience: z.number().int().min(0).max(10000).default(0),
    /** Nats: an epoch improves only when its validation -ELBO beats the best by more than this. */
    minDelta: z.number().min(0).default(0),
  })
  .strict();

export const TrainConfigSchema = z
  .object({
    model: ModelConfigSchema.prefault({}),
    /**
     * p(x|z), data scaled to [0, 1]: Bernoulli from logits, continuous Bernoulli from logits
     * (Loaiza-Ganem & Cunningham 2019, a proper density on [0, 1]) or Gaussian.
     */
    likelihood: z.enum(LIKELIHOODS).default('bernoulli'),
    /**
     * Binarisation of the data before the model sees it: 'static' draws each pixel once (x ~
     * Bernoulli(intensity), fixed per sample for the whole run), 'dynamic' draws anew at every
     * step. Validation always uses the static draw. Meant for the Bernoulli likelihood.
     */
    binarization: z.enum(BINARIZATIONS).default('none'),
    /** Observation noise of the Gaussian likelihood, in data units (the initial value when learned). */
    gaussianSigma: z.number().positive().max(10).default(0.1),
    /** 'learned': one shared log-sigma parameter trained with the model. */
    gaussianSigmaMode: z.enum(SIGMA_MODES).default('fixed'),
    /** Weight of the KL term in the training objective; reported ELBO always uses beta = 1. */
    beta: z.number().min(0).max(1000).default(1),
    klWarmup: KlWarmupConfigSchema.prefault({}),
    /** Free bits (Kingma et al. 2016, eq. 15): nats per latent dimension below which KL is not penalised (0 = off). */
    freeBits: z.number().min(0).max(100).default(0),
    optimizer: OptimizerConfigSchema.prefault({}),
    lrSchedule: LrScheduleConfigSchema.prefault({}),
    /** Gradients are rescaled so their global L2 norm is at most this (0 = no clipping). */
    gradClipNorm: z.number().min(0).default(0),
    batchSize: z.number().int().min(1).max(4096).default(128),
    epochs: z.number().int().min(1).max(10000).default(10),
    /** A step budget: when > 0 training runs exactly this many steps and `epochs` is ignored. */
    maxSteps: z.number().int().min(0).default(0),
    earlyStopping: EarlyStoppingConfigSchema.prefault({}),
    seed: z.number().int().min(0).max(2147483647).default(42),
    /** Fraction of the training data held out (seeded shuffle) to report the validation ELBO. */
    validationFraction: z.number().min(0).max(0.5).default(0.1),
    /** Use at most this many training samples (0 = all); handy for quick trials. */
    maxSamples: z.number().int().min(0).default(0),
    /**
     * Where training runs: 'auto' = the best that loads, in the order tensorflow (GPU, then CPU) >
     * onnxruntime (native CPU training steps, evaluation in tfjs wasm) > wasm > cpu.
     */
    backend: z.enum(BACKEND_CHOICES).default('auto'),
    /**
     * 'onnxruntime': ONNX Runtime's intra-op threads (absent = $VAE_STUDIO_THREADS, else one per
     * core). CPU threads a wasm run trains on (data-parallel: each thread computes the gradient of a share
     * of every batch). Absent = $VAE_STUDIO_THREADS, else one per core for conv models (measured
     * 1.25-1.8x faster on 2 cores) and one for MLPs (~1.1x: not worth a thread). A run is
     * reproducible for a given thread count; different counts differ only by float rounding.
     * Ignored by 'tensorflow' (it uses every core itself) and 'cpu'.
     */
    threads: z.number().int().min(1).max(64).optional(),
  })
  .strict();

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type OptimizerConfig = z.infer<typeof OptimizerConfigSchema>;
export type LrScheduleConfig = z.infer<typeof LrScheduleConfigSchema>;
export type KlWarmupConfig = z.infer<typeof KlWarmupConfigSchema>;

export const DEFAULT_CONFIG: TrainConfig = TrainConfigSchema.parse({});

/**
 * Applies `key=value` overrides with dotted keys (`model.latentDim=2`, `optimizer.learningRate=3e-4`,
 * `model.hidden=512,256`) to a plain object. Values are parsed as JSON where possible, as a
 * comma-separated number list where that fits, and as a string otherwise; the schema then validates.
 */
export function applyOverrides(base: Record<string, unknown>, pairs: readonly string[]): Record<string, unknown> {
  const out = structuredClone(base);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`expected key=value, got "${pair}"`);
    const path = pair.slice(0, eq).trim().split('.');
    const raw = pair.slice(eq + 1).trim();
    let node: Record<string, unknown> = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = parseValue(raw);
  }
  return out;
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    if (/^-?[\d.e+-]+(,-?[\d.e+-]+)+$/i.test(raw)) return raw.split(',').map(Number);
    return raw;
  }
}
