/**
 * Messages between main (the supervisor) and one trainer process. The trainer runs exactly one
 * training: it receives `start`, reports its backend, streams steps (batched, ~10 per second),
 * epochs and checkpoints, and ends with `done` or `failed`, then exits. `stop` asks it to end after
 * the current step; main kills it if it does not exit in time.
 */
import type { TrainConfig } from '../contract/config.ts';
import type { BackendInfo, EpochPoint, StepPoint } from '../contract/types.ts';

export type DatasetSource =
  /** A dataset generated in code (deterministic), e.g. the sample digits. */
  | { kind: 'builtin'; name: string }
  /** A uint8 file of count*height*width*channels bytes, row-major HWC per sample (issue: datasets). */
  | { kind: 'file'; path: string; count: number; width: number; height: number; channels: number };

export type ToTrainer =
  | {
      type: 'start';
      runId: string;
      config: TrainConfig;
      dataset: DatasetSource;
      /** Folder the trainer writes its checkpoints into (created by main). */
      checkpointDir: string;
    }
  | { type: 'stop' };

export type FromTrainer =
  | { type: 'backend'; info: BackendInfo }
  | { type: 'steps'; points: StepPoint[] }
  | { type: 'epoch'; point: EpochPoint }
  | { type: 'checkpoint'; epoch: number; step: number; path: string; bytes: number }
  | { type: 'done'; status: 'completed' | 'stopped' }
  | { type: 'failed'; message: string; stack?: string };

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
