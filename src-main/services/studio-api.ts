/**
 * The studio's composition surface: one object built from ports (data dir, trainer launcher) that
 * every host (Electron main, web server, CLI) dispatches commands into and listens to.
 */
import type { AppInfo, EventName, Events, Result } from '../contract/index.ts';
import type { TrainerLauncher } from '../trainer/protocol.ts';

export interface StudioOptions {
  /** Folder holding history.sqlite, checkpoints/ and datasets/. Created if missing. */
  dataDir: string;
  mode: AppInfo['mode'];
  launcher: TrainerLauncher;
  appVersion?: string;
  /** Path of a better-sqlite3 native addon to load instead of the default (Electron ABI build). */
  nativeBinding?: string;
}

export type StudioListener = <E extends EventName>(event: E, payload: Events[E]) => void;

export interface Studio {
  readonly info: AppInfo;
  /** Validates `input` against the command's schema and runs its handler; never throws. */
  dispatch(command: string, input: unknown): Promise<Result<unknown>>;
  /** Subscribes to every event; returns the unsubscribe function. */
  subscribe(listener: StudioListener): () => void;
  /** Stops running trainers (their runs end as 'stopped') and closes the database. */
  close(): Promise<void>;
}
