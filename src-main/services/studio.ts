/**
 * The composition of the studio from its ports: opens the history, registers the built-in datasets,
 * marks runs orphaned by a dead process as interrupted, and answers every command of the contract.
 * Electron main, the web server and the CLI all drive this one object.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type {
  AppInfo,
  CommandName,
  CommandOutput,
  CommandParsed,
  Events,
  Result,
  RunSummary,
} from '../contract/index.ts';
import {
  StudioError,
  TrainConfigSchema,
  commands,
  fail,
  isCommandName,
  ok,
  parseOrThrow,
  ACTIVE_STATUSES,
} from '../contract/index.ts';
import { BUILTIN_DATASETS } from '../core/sample-data.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/index.ts';
import { createDatasetService, sweepOrphanDatasets } from './datasets.ts';
import type { DatasetHandlers } from './datasets.ts';
import { readAppVersion } from './paths.ts';
import { datasetSource, evalRun, listEvaluations, resumeRun } from './run-ops.ts';
import type { Studio, StudioListener, StudioOptions } from './studio-api.ts';
import { systemDoctor } from './system.ts';
import { TrainingSupervisor } from './training.ts';
import { createHistoryService, type HistoryCommand } from './history.ts';
import { createLatentService, type LatentCommand } from './latent.ts';
import { createExportService, type ExportCommand } from './export.ts';
import type { ServiceContext } from './studio-api.ts';

export type Handlers = {
  [K in CommandName]: (input: CommandParsed<K>) => CommandOutput<K> | Promise<CommandOutput<K>>;
};

/** Whether a process id is alive (signal 0 checks without signalling). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function newRunId(now = Date.now()): string {
  const t = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `run-${t}-${randomBytes(3).toString('hex')}`;
}

export function createStudio(opts: StudioOptions): Studio {
  mkdirSync(opts.dataDir, { recursive: true });
  const store = openStore(
    opts.nativeBinding ? { dataDir: opts.dataDir, nativeBinding: opts.nativeBinding } : { dataDir: opts.dataDir },
  );
  const notices: string[] = [];
  if (store.recovered) {
    notices.push(
      `The run history could not be read (${store.recovered.reason}). It was moved to ${store.recovered.movedTo} and a new history was started.`,
    );
  }
  store.transaction(() => {
    for (const d of BUILTIN_DATASETS) store.datasets.upsert(d);
  });
  const interrupted = store.runs.markInterrupted(isProcessAlive);
  // Dataset folders without a row are leftovers of an import killed mid-way.
  sweepOrphanDatasets(store, opts.dataDir);
  if (interrupted.length > 0) {
    notices.push(`${interrupted.length} run(s) were interrupted when the studio last closed: ${interrupted.join(', ')}`);
  }

  const listeners = new Set<StudioListener>();
  const emit = <E extends keyof Events>(event: E, payload: Events[E]): void => {
    for (const l of listeners) {
      try {
        l(event, payload);
      } catch {
        /* one broken listener must not starve the others */
      }
    }
  };

  const supervisor = new TrainingSupervisor({
    store,
    launcher: opts.launcher,
    emit,
    checkpointRoot: path.join(opts.dataDir, 'checkpoints'),
  });

  const info: AppInfo = {
    name: 'VAE Studio',
    version: opts.appVersion ?? readAppVersion(),
    dataDir: opts.dataDir,
    mode: opts.mode,
    platform: `${process.platform}-${process.arch}`,
    node: process.versions.node,
    notices,
  };

  const datasets = createDatasetService({
    store,
    dataDir: opts.dataDir,
    emit,
    isRunActive: (id) => supervisor.isActive(id),
    checkpointRoot: path.join(opts.dataDir, 'checkpoints'),
  });
  const ctx: ServiceContext = { store, supervisor, dataDir: opts.dataDir, appVersion: info.version, launcher: opts.launcher, emit };
  const areas = [createHistoryService(ctx), createLatentService(ctx), createExportService(ctx)] as const;
  const handlers: Handlers = {
    ...buildHandlers(store, supervisor, info),
    ...datasets.handlers,
    ...areas[0].handlers,
    ...areas[1].handlers,
    ...areas[2].handlers,
  };
  let closed = false;

  return {
    info,
    async dispatch(command: string, input: unknown): Promise<Result<unknown>> {
      if (closed) return fail('CONFLICT', 'the studio is shutting down');
      if (!isCommandName(command)) return fail('UNKNOWN_COMMAND', `unknown command "${String(command)}"`);
      try {
        const parsed = parseOrThrow(commands[command].input, input ?? {}, command);
        const handler = handlers[command] as (i: unknown) => unknown;
        return ok(await handler(parsed));
      } catch (e) {
        if (e instanceof StudioError) return { ok: false, error: e.toJSON() };
        return fail('INTERNAL', `${command} failed: ${(e as Error)?.message ?? String(e)}`);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      datasets.jobs.cancelAll();
      for (const a of areas) await a.close();
      await supervisor.stopAll();
      listeners.clear();
      store.close();
    },
  };
}

/** The history knows no pauses (a paused run is 'running' there): the live trainer does. */
export function withPaused(supervisor: TrainingSupervisor, r: RunSummary): RunSummary {
  return supervisor.isPaused(r.id) ? { ...r, paused: true } : r;
}

function buildHandlers(
  store: Store,
  supervisor: TrainingSupervisor,
  info: AppInfo,
): Omit<Handlers, keyof DatasetHandlers | HistoryCommand | LatentCommand | ExportCommand> {
  const dataset = (id: string) => {
    const d = store.datasets.get(id);
    if (!d) throw new StudioError('NOT_FOUND', `no dataset with id "${id}"`, 'id');
    return d;
  };
  const run = (id: string) => {
    const r = store.runs.get(id);
    if (!r) throw new StudioError('NOT_FOUND', `no run with id "${id}"`, 'id');
    return withPaused(supervisor, r);
  };

  return {
    'app.info': () => info,
    'system.doctor': () => systemDoctor(),

    // datasets.* handlers: createDatasetService in datasets.ts.

    'runs.list': () => store.runs.list().map((r) => withPaused(supervisor, r)),
    'runs.get': ({ id }) => run(id),
    'runs.metrics': ({ id, maxPoints, fromStep, toStep }) => {
      run(id);
      if (fromStep === undefined && toStep === undefined) {
        const { points, total } = store.metrics.steps(id, maxPoints);
        return { runId: id, steps: points, totalSteps: total, epochs: store.metrics.epochs(id) };
      }
      // A zoomed read costs what its range holds: the run's length comes from its last step number
      // (steps are recorded 1, 2, ... without gaps), not from counting a million rows.
      const { points, covered, lastOfRun } = store.metrics.stepsInRange(id, maxPoints, { fromStep, toStep });
      return { runId: id, steps: points, totalSteps: lastOfRun, epochs: store.metrics.epochs(id, { fromStep, toStep }), range: covered };
    },
    'runs.checkpoints': ({ id }) => {
      run(id);
      return store.checkpoints.list(id);
    },
    'runs.delete': ({ id }) => {
      const r = run(id);
      if (supervisor.isActive(id) || ACTIVE_STATUSES.includes(r.status)) {
        throw new StudioError('CONFLICT', `run ${id} is ${r.status}; stop it before deleting it`);
      }
      store.runs.delete(id);
      rmSync(path.join(info.dataDir, 'checkpoints', id), { recursive: true, force: true });
      return { id };
    },
    'runs.resume': ({ id }) => resumeRun({ store, supervisor, dataDir: info.dataDir }, id),
    'runs.eval': (input) => evalRun({ store, supervisor, dataDir: info.dataDir }, input),
    'runs.evals': ({ id }) => {
      run(id);
      return listEvaluations(info.dataDir, id);
    },

    'training.start': ({ datasetId, name, config: raw }) => {
      const d = dataset(datasetId);
      const config = parseOrThrow(TrainConfigSchema, raw, 'config');
      const source = datasetSource(store, d);
      const id = newRunId();
      const count = store.runs.list().filter((r) => r.datasetId === d.id).length;
      store.runs.create({
        id,
        name: name?.trim() || `${d.name} #${count + 1}`,
        datasetId: d.id,
        config,
        appVersion: info.version,
        ownerPid: process.pid,
      });
      supervisor.start(id, config, source);
      return run(id);
    },
    'training.stop': ({ runId }) => {
      run(runId);
      supervisor.stop(runId);
      return run(runId);
    },
    'training.active': () => supervisor.activeRunIds(),
  };
}
