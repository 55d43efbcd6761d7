/**
 * Messages between main (the supervisor) and one trainer process. The trainer runs exactly one
 * training: it receives `start`, reports its backend, streams steps (batched, ~10 per second),
 * epochs and checkpoints, and ends with `done` or `failed`, then exits. `stop` asks it to end after
 * the current step; main kills it if it does not exit in time.
 */
import type { TrainConfig } from '../contract/config.ts';
import type { BackendInfo, EpochPoint, EvalProgress, EvalResult, StepPoint } from '../contract/types.ts';

export type DatasetSource =
  /** A dataset generated in code (deterministic), e.g. the sample digits. */
  | { kind: 'builtin'; name: string }
  /** A uint8 file of count*height*width*channels bytes, row-major HWC per sample (issue: datasets). */
  | {
      kind: 'file';
      path: string;
      count: number;
      width: number;
      height: number;
      channels: number;
      /**
       * Samples [0, trainCount) are for training (and its validation hold-out); the rest is the
       * dataset's official test split, which training never sees. Absent: all samples.
       */
      trainCount?: number;
    };

export type ToTrainer =
  | {
      type: 'start';
      runId: string;
      config: TrainConfig;
      dataset: DatasetSource;
      /** Folder the trainer writes its checkpoints into (created by main). */
      checkpointDir: string;
      /**
       * A checkpoint folder (…/epoch-N) to continue from exactly: weights, optimiser state, RNG
       * streams, step and epoch are restored, and training goes on with epoch N + 1 and the
       * checkpoint's step + 1. Absent: training starts from scratch.
       */
      resumeFrom?: string;
    }
  | {
      /** Evaluates one checkpoint on some samples of a dataset, reports progress, ends with evalResult. */
      type: 'eval';
      runId: string;
      /** The checkpoint folder (…/epoch-N). */
      checkpoint: string;
      dataset: DatasetSource;
      /** The split's sample indices (chosen by main), or the run's validation hold-out, recomputed from its config. */
      samples: { kind: 'indices'; indices: number[] } | { kind: 'range'; from: number; to: number } | { kind: 'validation' };
      /** Evaluate at most this many of the samples (0 = all). */
      maxSamples: number;
      iwaeK: number;
      iwaeSamples: number;
      seed: number;
      /** Backend choice; the run's own config.backend when absent. */
      backend?: TrainConfig['backend'];
    }
  | {
      /**
       * A named background job (trainer/jobs.ts lists them): encoding a split for the latent
       * explorer, a projection, an export... `payload` is the job's own JSON input. Large results
       * go to files whose paths main chose (in the payload); the message carries only what is small.
       */
      type: 'job';
      kind: string;
      payload: unknown;
    }
  | { type: 'stop' }
  /** Holds training between two steps (process and memory kept) until 'resume' or 'stop'. */
  | { type: 'pause' }
  | { type: 'resume' };

export type FromTrainer =
  | { type: 'backend'; info: BackendInfo }
  | { type: 'steps'; points: StepPoint[] }
  | { type: 'epoch'; point: EpochPoint }
  | { type: 'checkpoint'; epoch: number; step: number; path: string; bytes: number }
  | { type: 'done'; status: 'completed' | 'stopped' }
  /** Acknowledges 'pause' (once the loop holds, its buffered steps sent) or 'resume'. */
  | { type: 'paused'; paused: boolean }
  /** The previews of an epoch were written to `<checkpointDir>/previews/` (trainer/previews.ts). */
  | { type: 'previews'; epoch: number }
  | { type: 'evalProgress'; phase: EvalProgress['phase']; done: number; total: number }
  | { type: 'evalResult'; result: Omit<EvalResult, 'runId' | 'split' | 'createdAt'> }
  | { type: 'jobProgress'; phase: string; done: number; total: number }
  | { type: 'jobResult'; value: unknown }
  | {
      type: 'failed';
      message: string;
      stack?: string;
      /** Set when the loss became NaN/Inf: training stopped and the last good checkpoint is kept. */
      diverged?: boolean;
      /** The newest checkpoint of the run written before the failure (still valid), if any. */
      lastCheckpoint?: { epoch: number; step: number; path: string } | null;
    };

/** One running trainer process, whatever started it (child_process.fork or Electron utilityProcess). */
export interface TrainerHandle {
  readonly pid: number | undefined;
  send(msg: ToTrainer): void;
  onMessage(cb: (msg: FromTrainer) => void): void;
  /** Called once when the process has exited (code null when killed by a signal). */
  onExit(cb: (code: number | null, signal: string | null) => void): void;
  /** Kills the process at once (SIGKILL where available). */
  kill(): void;
}

/** Starts a fresh trainer process. */
export type TrainerLauncher = () => TrainerHandle;
