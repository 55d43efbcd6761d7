/** Plain data types that cross process boundaries (IPC, WebSocket, trainer messages). */
import type { TrainConfig } from './config.ts';

export type DatasetKind = 'builtin' | 'imported';

export interface DatasetInfo {
  id: string;
  name: string;
  kind: DatasetKind;
  /** Where it came from: `builtin:<name>` or the imported path. */
  source: string;
  count: number;
  width: number;
  height: number;
  channels: number;
  /** Class names, index = label id; null when unlabelled. */
  labels: string[] | null;
  createdAt: number;
}

export interface DatasetPreview {
  datasetId: string;
  width: number;
  height: number;
  channels: number;
  /** Up to `count` samples, each row-major uint8 pixels (as a plain number array for JSON). */
  samples: { index: number; label: number | null; pixels: number[] }[];
}

export const RUN_STATUSES = ['queued', 'running', 'completed', 'stopped', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const ACTIVE_STATUSES: readonly RunStatus[] = ['queued', 'running'];

/** One training step as the trainer reports it. All losses are per sample, in nats. */
export interface StepPoint {
  /** 1-based global step. */
  step: number;
  /** 1-based epoch the step belongs to. */
  epoch: number;
  /** The training objective: recon + beta * KL. */
  loss: number;
  /** E_q[-log p(x|z)] */
  recon: number;
  /** KL(q(z|x) || N(0, I)) */
  kl: number;
  /** -ELBO at beta = 1: recon + KL (the number to compare across runs). */
  negElbo: number;
  samplesPerSec: number;
  /** Milliseconds since the run started. */
  timeMs: number;
  /** The KL weight used by this step (beta times the warm-up factor). Absent in runs recorded before it existed. */
  beta?: number;
  /** The learning rate used by this step. */
  lr?: number;
  /** Global L2 norm of the gradient, before clipping. */
  gradNorm?: number;
}

export interface EpochPoint {
  /** 1-based epoch number. */
  epoch: number;
  step: number;
  loss: number;
  recon: number;
  kl: number;
  negElbo: number;
  /** Validation -ELBO at beta = 1 (null without a validation split). */
  valNegElbo: number | null;
  valRecon: number | null;
  valKl: number | null;
  /** -ELBO converted to bits per dimension: negElbo / (D ln 2). */
  bitsPerDim: number;
  durationMs: number;
  // The fields below are absent in runs recorded before they existed.
  /** Validation -ELBO in bits per dimension. */
  valBitsPerDim?: number | null;
  /**
   * Mean KL(q(z_j|x) || N(0, 1)) per latent dimension j, in nats, over the diagnostic set (the
   * validation split, or up to 2048 training samples without one).
   */
  klPerDim?: number[];
  /** Active units (Burda et al. 2016, section 5.2): dimensions j with Var_x(E_q[z_j]) > 0.01. */
  activeUnits?: number;
  /** Posterior-collapse warning: active units fell to 0 or below 10 % of the latent size. */
  collapseWarning?: boolean;
  /** The Gaussian likelihood's sigma at the end of the epoch (learned or fixed); absent otherwise. */
  sigma?: number;
  /** KL weight and learning rate at the epoch's last step. */
  beta?: number;
  lr?: number;
  /**
   * Set on the last epoch only: why training ended. 'epochs' (all done), 'maxSteps' (step budget
   * spent) or 'earlyStopping' (no validation improvement for `patience` epochs; the run still
   * completes).
   */
  stopReason?: 'epochs' | 'maxSteps' | 'earlyStopping';
}

export interface RunSummary {
  id: string;
  name: string;
  datasetId: string;
  datasetName: string;
  status: RunStatus;
  config: TrainConfig;
  seed: number;
  backend: string | null;
  device: string | null;
  appVersion: string;
  tfjsVersion: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  /** Epochs completed, and the latest epoch metrics if any. */
  epochsDone: number;
  last: EpochPoint | null;
  /** Free text the user keeps with the run (runs.update). */
  notes: string;
  /** Short labels for filtering the runs view, in the user's order, without duplicates. */
  tags: string[];
  /**
   * A running run whose trainer is paused between steps (training.pause): the status stays
   * 'running' in the history (a paused run of a studio that dies is interrupted like any other).
   */
  paused: boolean;
}

export interface RunMetrics {
  runId: string;
  /**
   * Downsampled in main to at most `maxPoints` (bucket means), always keeping the last step (and,
   * for a range, its first step).
   */
  steps: StepPoint[];
  /**
   * Steps stored for the whole run. In an answer for a range: the run's last step number, read
   * without counting the rows (the same number, as steps are recorded 1, 2, ... without gaps).
   */
  totalSteps: number;
  /** Every epoch of the run; in an answer for a range, those whose last step is in the range. */
  epochs: EpochPoint[];
  /**
   * Only when fromStep or toStep was asked: the stored steps in that range, i.e. the first and
   * last step the answer covers (null when the range holds none) and how many it holds.
   */
  range?: { fromStep: number | null; toStep: number | null; count: number };
}

export interface CheckpointInfo {
  runId: string;
  epoch: number;
  step: number;
  path: string;
  bytes: number;
  createdAt: number;
}

export interface AppInfo {
  name: string;
  version: string;
  dataDir: string;
  mode: 'electron' | 'web' | 'cli';
  platform: string;
  node: string;
  /** Things the user should know about start-up (e.g. a corrupt history file was moved aside). */
  notices: string[];
}

/** What the trainer reports once its compute backend is up. */
export interface BackendInfo {
  backend: string;
  device: string;
  tfjsVersion: string;
  /** Why the backends above the chosen one did not load, in preference order. */
  skipped: { backend: string; reason: string }[];
}

/** The splits a run can be evaluated on. */
export const EVAL_SPLITS = ['validation', 'test'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

/** Evaluation of one checkpoint of a run on a split (runs.eval); kept in the run's folder. */
export interface EvalResult {
  runId: string;
  checkpointEpoch: number;
  checkpointStep: number;
  /** 'validation': the run's seeded hold-out; 'test': the dataset's official test split. */
  split: EvalSplit;
  /** Images evaluated. */
  count: number;
  /** beta = 1 negative ELBO, nats per image (one reparameterised sample per image + closed-form KL). */
  negElbo: number;
  recon: number;
  kl: number;
  bitsPerDim: number;
  /** Importance-weighted NLL estimate -L_k (Burda et al. 2016) on the first `count` images; null when k = 0. */
  iwae: { k: number; count: number; nll: number; stdErr: number; bitsPerDim: number } | null;
  /** Reconstruction of the decoder mean at z = mu: per-image means of MSE (pixels in [0, 1]), PSNR (dB), SSIM. */
  mse: number;
  psnr: number;
  ssim: number;
  seed: number;
  backend: string;
  durationMs: number;
  createdAt: number;
}

/** Progress of a running evaluation. */
export interface EvalProgress {
  runId: string;
  phase: 'loading' | 'elbo' | 'iwae';
  done: number;
  total: number;
}
