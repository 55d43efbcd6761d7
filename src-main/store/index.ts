/**
 * The run history: one SQLite file, `<dataDir>/history.sqlite`, written by main (the app, web mode
 * or the CLI; several may share the file, hence WAL and a busy timeout). This file is the store's
 * whole public surface; the tables are described in migrations/001-initial.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openDatabase } from './open.ts';
import { datasetsRepo, type DatasetsRepo } from './datasets.ts';
import { runsRepo, type RunsRepo } from './runs.ts';
import { checkpointsRepo, metricsRepo, type CheckpointsRepo, type MetricsRepo } from './metrics.ts';

export { SCHEMA_VERSION, MIGRATIONS } from './migrations/index.ts';
export { migrate, userVersion, type Migration } from './migrate.ts';
export type { DatasetsRepo, DatasetRecord } from './datasets.ts';
export type { RunsRepo, NewRun, RunPatch } from './runs.ts';
export type { MetricsRepo, CheckpointsRepo } from './metrics.ts';

export const HISTORY_FILE = 'history.sqlite';

export interface OpenStoreOptions {
  /** Folder of the history file; created (with parents) if missing. */
  dataDir: string;
  /**
   * Path of the better-sqlite3 addon to load instead of the one beside the package: the Electron
   * app passes its Electron-ABI build, plain Node (CLI, web mode, tests) leaves it out.
   */
  nativeBinding?: string;
  /** Clock for created/finished times and the moved-aside file name (tests pass a fake one). */
  now?: () => number;
}

export interface Store {
  readonly path: string;
  /** Set when a corrupt database file was moved aside at open: where it went and why. */
  readonly recovered: { movedTo: string; reason: string } | null;
  /** Closes the connection (the last one to close folds the WAL back into the file). Idempotent. */
  close(): void;
  /**
   * Runs `fn` in one write transaction (BEGIN IMMEDIATE, so it waits for other processes up to the
   * busy timeout instead of failing mid-way); nested calls become savepoints. `fn` must be
   * synchronous: an async function would commit at its first await.
   */
  transaction<T>(fn: () => T): T;
  datasets: DatasetsRepo;
  runs: RunsRepo;
  metrics: MetricsRepo;
  checkpoints: CheckpointsRepo;
}

/**
 * Opens (creating and migrating as needed) the history in `dataDir`.
 * Throws StudioError DB_NEWER, leaving the file untouched, for a database from a newer studio. A
 * corrupt file is moved aside (never deleted) and a fresh one created; `recovered` tells.
 */
export function openStore(opts: OpenStoreOptions): Store {
  const now = opts.now ?? Date.now;
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const file = path.join(opts.dataDir, HISTORY_FILE);
  const { db, recovered } = openDatabase(file, opts.nativeBinding, now);
  return makeStore(db, file, recovered, now);
}

function makeStore(db: Database.Database, file: string, recovered: Store['recovered'], now: () => number): Store {
  return {
    path: file,
    recovered,
    close() {
      if (db.open) db.close();
    },
    transaction<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
    datasets: datasetsRepo(db, now),
    runs: runsRepo(db, now),
    metrics: metricsRepo(db),
    checkpoints: checkpointsRepo(db),
  };
}
