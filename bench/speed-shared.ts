/**
 * What the speed benchmark's parent (speed.ts) and its per-backend children (speed-child.ts) agree
 * on: the workload, the measuring plan, and the shape of a measurement. Kept apart so that the child
 * imports nothing of the parent and the parent loads no tfjs at all.
 */

/** The backends the benchmark knows how to start, each in its own process. */
export const VARIANTS = ['cpu', 'wasm-shipped', 'wasm', 'wasm-threads', 'onnxruntime-1', 'onnxruntime', 'tensorflow'] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_LABEL: Record<Variant | 'pytorch', string> = {
  pytorch: 'PyTorch (CPU, 2 threads)',
  cpu: "tfjs 'cpu'",
  'wasm-shipped': "tfjs 'wasm' as shipped",
  wasm: "tfjs 'wasm' + studio kernels, 1 thread",
  'wasm-threads': "tfjs 'wasm' + studio kernels, N threads (data-parallel)",
  'onnxruntime-1': 'onnxruntime (native step), 1 thread',
  onnxruntime: 'onnxruntime (native step), N threads',
  tensorflow: 'tfjs-node (tensorflow)',
};

/** The models measured, each on every backend. */
export const MODELS = ['mlp', 'conv'] as const;
export type ModelName = (typeof MODELS)[number];

interface WorkloadCommon {
  /** The model config as the studio's schema takes it (ModelConfigSchema input). */
  model: Record<string, unknown>;
  /** One line for the table's title. */
  title: string;
  inputDim: number;
  latentDim: number;
  likelihood: 'bernoulli';
  optimizer: 'adam';
  learningRate: number;
  batchSize: number;
  seed: number;
  dataset: 'digits';
}

/**
 * The workloads of issue 3 (item 10), both on the built-in 28x28 digits, ReLU, a Bernoulli decoder,
 * Adam 1e-3, batch 128:
 * - mlp: the MLP VAE 784-400-20 of Kingma & Welling 2014 (appendix C) — the studio's default
 *   configuration, so the numbers describe what a person gets out of the box;
 * - conv: Conv 32 and 64 (kernel 3, stride 2, 'same') -> flatten -> mu, logvar (latent 16), and the
 *   mirrored decoder: dense to 7x7x64 -> transposed conv to 14x14x32 -> transposed conv to 28x28x1.
 *   Kernel 3 as in the classic Keras conv VAE example (the studio's default is 4).
 */
export const WORKLOADS: Record<ModelName, WorkloadCommon> = {
  mlp: {
    model: { kind: 'mlp', hidden: [400], latentDim: 20, activation: 'relu' },
    title: 'MLP 784-400-20 (ReLU)',
    inputDim: 784,
    latentDim: 20,
    likelihood: 'bernoulli',
    optimizer: 'adam',
    learningRate: 1e-3,
    batchSize: 128,
    seed: 1,
    dataset: 'digits',
  },
  conv: {
    model: { kind: 'conv', channels: [32, 64], kernelSize: 3, latentDim: 16, denseUnits: 0, activation: 'relu' },
    title: 'conv VAE 28x28x1, Conv 32-64 (k3, stride 2), latent 16, mirrored transposed-conv decoder (ReLU)',
    inputDim: 784,
    latentDim: 16,
    likelihood: 'bernoulli',
    optimizer: 'adam',
    learningRate: 1e-3,
    batchSize: 128,
    seed: 1,
    dataset: 'digits',
  },
};

/** The MLP workload, kept under its old name. */
export const WORKLOAD = WORKLOADS.mlp;

/**
 * How long to measure. Steps are timed one by one after a warm-up (JIT, wasm compilation, first
 * allocations) and summarised by their median, which shrugs off the occasional event-loop yield or
 * epoch boundary. A backend stops at `maxSteps` timed steps or once `budgetMs` of timed steps have
 * passed, whichever comes first, but never before `minSteps`: slow backends get few steps, fast
 * ones many, and the whole run stays within its time target.
 */
export interface MeasurePlan {
  warmupSteps: number;
  minSteps: number;
  maxSteps: number;
  budgetMs: number;
}

export const PLANS: Record<'full' | 'quick', MeasurePlan> = {
  full: { warmupSteps: 5, minSteps: 8, maxSteps: 400, budgetMs: 15_000 },
  quick: { warmupSteps: 2, minSteps: 3, maxSteps: 60, budgetMs: 2_500 },
};

/** Sent from the parent to a child on its command line (one JSON argument). */
export interface ChildRequest {
  variant: Variant;
  model: ModelName;
  plan: MeasurePlan;
  /** Training threads of the 'wasm-threads' and 'onnxruntime' rows (config.threads); the other rows train on one. */
  threads: number;
}

/** A row's label: the data-parallel row names its thread count. */
export function variantLabel(id: Variant | 'pytorch', threads: number): string {
  if (id === 'wasm-threads') return `tfjs 'wasm' + studio kernels, ${threads} threads (data-parallel)`;
  if (id === 'onnxruntime') return `onnxruntime (native step), ${threads} threads`;
  return VARIANT_LABEL[id];
}

/** One backend's result; `status` says whether the numbers exist. */
export type Measurement =
  | {
      status: 'ok';
      /** The device string the backend reports (threads, SIMD, CPU model). */
      device: string;
      /** Library version: tfjs for tfjs rows, torch for the PyTorch row. */
      version: string;
      warmupSteps: number;
      /** Wall-clock duration of every timed step, in milliseconds. */
      stepMs: number[];
      medianMs: number;
      samplesPerSec: number;
      /** Peak resident set size of the measuring process, in MiB. */
      peakRssMiB: number;
      /** The -ELBO (beta = 1, nats) of the last warm-up step: a sanity check that it trains. */
      negElboAfterWarmup: number;
      /**
       * CPU time over wall time while the timed steps ran: about 1 for a one-thread backend on a
       * quiet machine, less when other processes took the cores (then the numbers are too low).
       */
      coresUsed: number;
      /** Tensors still allocated after training returned (tfjs only): should be 0. */
      leakedTensors?: number;
    }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; reason: string };

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Linear-interpolated quantile, q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
