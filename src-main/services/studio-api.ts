/**
 * The studio's composition surface: one object built from ports (data dir, trainer launcher) that
 * every host (Electron main, web server, CLI) dispatches commands into and listens to.
 */
import type { AppInfo, CommandName, CommandOutput, CommandParsed, EventName, Events, Result } from '../contract/index.ts';
import type { Store } from '../store/index.ts';
import type { TrainingSupervisor } from './training.ts';
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

/** The handlers of a subset of the contract's commands (each area's service builds its own). */
export type HandlersFor<K extends CommandName> = {
  [C in K]: (input: CommandParsed<C>) => CommandOutput<C> | Promise<CommandOutput<C>>;
};

/** What each area's service gets from the studio. */
export interface ServiceContext {
  store: Store;
  supervisor: TrainingSupervisor;
  dataDir: string;
  appVersion: string;
  launcher: TrainerLauncher;
  emit: <E extends EventName>(event: E, payload: Events[E]) => void;
}

/** An area's service: its handlers, and what to do when the studio closes (cancel jobs, stop workers). */
export interface AreaService<K extends CommandName> {
  handlers: HandlersFor<K>;
  close(): Promise<void> | void;
}
