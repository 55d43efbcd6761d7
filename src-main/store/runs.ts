/** The runs table: one row per training run, from 'queued' to its final status. */
import type Database from 'better-sqlite3';
import { RUN_STATUSES, StudioError } from '../contract/index.ts';
import type { EpochPoint, RunStatus, RunSummary, TrainConfig } from '../contract/index.ts';
import { translateConstraints } from './sql.ts';
import { type EpochRow, epochColumns, toEpochPoint } from './metrics.ts';

export interface NewRun {
  id: string;
  name: string;
  datasetId: string;
  config: TrainConfig;
  appVersion: string;
  ownerPid: number;
}

export type RunPatch = Partial<{
  status: RunStatus;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  backend: string;
  device: string;
  tfjsVersion: string;
  ownerPid: number | null;
  trainerPid: number | null;
  name: string;
  notes: string;
  tags: string[];
}>;

export interface RunsRepo {
  /** Inserts the run as 'queued'. NOT_FOUND for an unknown dataset, CONFLICT for a taken id. */
  create(r: NewRun): RunSummary;
  get(id: string): RunSummary | undefined;
  /** Newest first (ties in creation order, newest first), with dataset name and latest epoch. */
  list(): RunSummary[];
  /** Sets the given fields (undefined ones are left alone). NOT_FOUND for an unknown id. */
  update(id: string, patch: RunPatch): void;
  /** Deletes the run and, through ON DELETE CASCADE, its metrics and checkpoint rows (not files). */
  delete(id: string): void;
  /**
   * Runs still 'queued'/'running' whose owner process is not alive (or that have no owner)
   * become 'interrupted', with `finishedAt` = now and an error that says why. Returns their ids.
   */
  markInterrupted(isAlive: (pid: number) => boolean): string[];
}

/** Patch field -> column. The only names ever spliced into SQL text. */
const PATCH_COLUMNS = {
  status: 'status',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  error: 'error',
  backend: 'backend',
  device: 'device',
  tfjsVersion: 'tfjs_version',
  ownerPid: 'owner_pid',
  trainerPid: 'trainer_pid',
  name: 'name',
  notes: 'notes',
  tags: 'tags',
} as const satisfies Record<keyof RunPatch, string>;

interface RunRow {
  id: string;
  name: string;
  dataset_id: string;
  dataset_name: string | null;
  status: RunStatus;
  config: string;
  seed: number;
  backend: string | null;
  device: string | null;
  app_version: string;
  tfjs_version: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  epochs_done: number;
  notes: string;
  tags: string;
}
type RunWithLastRow = RunRow & { [K in keyof EpochRow as `e_${K}`]: EpochRow[K] | null };

// The latest epoch row is joined by its key: (run_id, max(epoch)) is one seek in the primary key.
const SELECT_RUNS = `
  SELECT r.id, r.name, r.dataset_id, d.name AS dataset_name, r.status, r.config, r.seed, r.backend, r.device,
         r.app_version, r.tfjs_version, r.created_at, r.started_at, r.finished_at, r.error, r.notes, r.tags,
         (SELECT count(*) FROM epoch_metrics c WHERE c.run_id = r.id) AS epochs_done,
         ${epochColumns.map((c) => `e.${c} AS e_${c}`).join(', ')}
  FROM runs r
  LEFT JOIN datasets d ON d.id = r.dataset_id
  LEFT JOIN epoch_metrics e
         ON e.run_id = r.id AND e.epoch = (SELECT max(m.epoch) FROM epoch_metrics m WHERE m.run_id = r.id)`;

function toSummary(r: RunWithLastRow): RunSummary {
  let last: EpochPoint | null = null;
  if (r.e_epoch !== null) {
    const e = Object.fromEntries(epochColumns.map((c) => [c, r[`e_${c}`]])) as unknown as EpochRow;
    last = toEpochPoint(e);
  }
  return {
    id: r.id,
    name: r.name,
    datasetId: r.dataset_id,
    // A run outlives nothing it references (RESTRICT), but a connection with foreign keys off
    // could still delete the dataset: fall back to the id rather than dropping the run.
    datasetName: r.dataset_name ?? r.dataset_id,
    status: r.status,
    config: JSON.parse(r.config) as TrainConfig,
    seed: r.seed,
    backend: r.backend,
    device: r.device,
    appVersion: r.app_version,
    tfjsVersion: r.tfjs_version,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    epochsDone: r.epochs_done,
    last,
    notes: r.notes,
    tags: JSON.parse(r.tags) as string[],
    paused: false,
  };
}

export function runsRepo(db: Database.Database, now: () => number): RunsRepo {
  const insert = db.prepare(`
    INSERT INTO runs (id, name, dataset_id, status, config, seed, app_version, created_at, owner_pid)
    VALUES (@id, @name, @datasetId, 'queued', @config, @seed, @appVersion, @createdAt, @ownerPid)`);
  const get = db.prepare<[string], RunWithLastRow>(`${SELECT_RUNS} WHERE r.id = ?`);
  const list = db.prepare<[], RunWithLastRow>(`${SELECT_RUNS} ORDER BY r.created_at DESC, r.rowid DESC`);
  const del = db.prepare<[string]>(`DELETE FROM runs WHERE id = ?`);
  // The status list is ACTIVE_STATUSES, spelled out so the planner matches the runs_active partial index.
  const active = db.prepare<[], { id: string; owner_pid: number | null }>(
    `SELECT id, owner_pid FROM runs WHERE status IN ('queued', 'running')`,
  );
  const interrupt = db.prepare<[string, number, string]>(
    `UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running')`,
  );
  // One prepared UPDATE per distinct set of patched fields, built from PATCH_COLUMNS only.
  const updates = new Map<string, Database.Statement<unknown[]>>();

  const getRun = (id: string): RunSummary | undefined => {
    const row = get.get(id);
    return row === undefined ? undefined : toSummary(row);
  };

  const markTx = db.transaction((isAlive: (pid: number) => boolean): string[] => {
    const done: string[] = [];
    const at = now();
    for (const r of active.all()) {
      if (r.owner_pid !== null && isAlive(r.owner_pid)) continue;
      const why =
        r.owner_pid === null
          ? 'Interrupted: no studio process owned this run.'
          : `Interrupted: the studio process that ran it (pid ${r.owner_pid}) ended before the run finished.`;
      if (interrupt.run(why, at, r.id).changes > 0) done.push(r.id);
    }
    return done;
  });

  return {
    create(r) {
      translateConstraints(
        () =>
          insert.run({
            id: r.id,
            name: r.name,
            datasetId: r.datasetId,
            config: JSON.stringify(r.config),
            seed: r.config.seed,
            appVersion: r.appVersion,
            createdAt: now(),
            ownerPid: r.ownerPid,
          }),
        { foreignKey: `no dataset ${r.datasetId}`, unique: `a run with id ${r.id} already exists` },
      );
      return getRun(r.id)!;
    },
    get: getRun,
    list: () => list.all().map(toSummary),
    update(id, patch) {
      const keys = (Object.keys(PATCH_COLUMNS) as (keyof RunPatch)[]).filter((k) => patch[k] !== undefined);
      for (const k of Object.keys(patch)) {
        if (!(k in PATCH_COLUMNS)) throw new StudioError('INTERNAL', `runs.update: unknown field ${k}`);
      }
      if (patch.status !== undefined && !RUN_STATUSES.includes(patch.status)) {
        throw new StudioError('INVALID_INPUT', `unknown run status "${String(patch.status)}"`, 'status');
      }
      if (keys.length === 0) {
        if (getRun(id) === undefined) throw new StudioError('NOT_FOUND', `no run ${id}`);
        return;
      }
      const signature = keys.join(',');
      let stmt = updates.get(signature);
      if (stmt === undefined) {
        stmt = db.prepare(`UPDATE runs SET ${keys.map((k) => `${PATCH_COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`);
        updates.set(signature, stmt);
      }
      if (stmt.run(...keys.map((k) => (k === 'tags' ? JSON.stringify(patch.tags) : patch[k])), id).changes === 0) throw new StudioError('NOT_FOUND', `no run ${id}`);
    },
    delete(id) {
      if (del.run(id).changes === 0) throw new StudioError('NOT_FOUND', `no run ${id}`);
    },
    markInterrupted: (isAlive) => markTx.immediate(isAlive),
  };
}
