/**
 * The run commands that go back to a run's checkpoints: runs.resume (continue training exactly
 * from the latest checkpoint) and runs.eval / runs.evals (evaluate a checkpoint on a split, keep
 * the results in the run's folder as `evaluations.json`).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommandParsed, DatasetInfo, EvalResult, EvalSplit, RunSummary } from '../contract/index.ts';
import { ACTIVE_STATUSES, StudioError } from '../contract/index.ts';
import { listCheckpoints, readCheckpointMeta } from '../core/checkpoint.ts';
import { writeFileAtomicSync } from '../core/fs-durable.ts';
import type { Store } from '../store/index.ts';
import type { DatasetSource, ToTrainer } from '../trainer/protocol.ts';
import { META_FILE, readDatasetMeta } from './datasets.ts';
import type { TrainingSupervisor } from './training.ts';

export const EVALUATIONS_FILE = 'evaluations.json';

export interface RunOpsContext {
  store: Store;
  supervisor: TrainingSupervisor;
  dataDir: string;
  now?: () => number;
}

/** Where a run's checkpoints (and evaluations) live. */
export function runFolder(dataDir: string, runId: string): string {
  return path.join(dataDir, 'checkpoints', runId);
}

/** The trainer's view of a dataset: built-in generator or the stored uint8 file. */
export function datasetSource(store: Store, d: DatasetInfo): DatasetSource {
  if (d.kind === 'builtin') return { kind: 'builtin', name: d.source.replace(/^builtin:/, '') };
  const p = store.datasets.dataPath(d.id);
  if (!p) throw new StudioError('NOT_FOUND', `dataset ${d.id} has no stored data`);
  const source: DatasetSource = { kind: 'file', path: p, count: d.count, width: d.width, height: d.height, channels: d.channels };
  // An official test split (MNIST-format folders) is kept out of training; eval scores it.
  const split = readSplit(p);
  if (split && split.train > 0 && split.train < d.count) source.trainCount = split.train;
  return source;
}

function readSplit(dataPath: string): { train: number; test: number } | null {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(path.dirname(dataPath), META_FILE), 'utf8')) as { splits?: { train: number; test: number } | null };
    return meta.splits ?? null;
  } catch {
    return null;
  }
}

function getRun(store: Store, id: string): RunSummary {
  const r = store.runs.get(id);
  if (!r) throw new StudioError('NOT_FOUND', `no run with id "${id}"`, 'id');
  return r;
}

function getDataset(store: Store, id: string): DatasetInfo {
  const d = store.datasets.get(id);
  if (!d) throw new StudioError('NOT_FOUND', `the run's dataset "${id}" no longer exists`);
  return d;
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? folderBytes(p) : fs.statSync(p).size;
  }
  return total;
}

export const RESUMABLE_STATUSES: readonly RunSummary['status'][] = ['stopped', 'interrupted', 'failed'];

/**
 * Restarts a stopped, interrupted or failed run from its latest complete checkpoint (from the
 * beginning when it has none) in a new trainer process, under the same run id. The metrics and
 * checkpoint rows recorded after that checkpoint are deleted first: the resumed trainer records
 * them again, identical up to float rounding, with the same step numbers.
 */
export async function resumeRun(ctx: RunOpsContext, id: string): Promise<RunSummary> {
  const { store, supervisor } = ctx;
  const r = getRun(store, id);
  if (supervisor.isActive(id) || ACTIVE_STATUSES.includes(r.status)) {
    throw new StudioError('CONFLICT', `run ${id} is ${r.status}; only a stopped, interrupted or failed run can be resumed`);
  }
  if (!RESUMABLE_STATUSES.includes(r.status)) {
    throw new StudioError('CONFLICT', `run ${id} is ${r.status}; there is nothing left to train`);
  }
  const d = getDataset(store, r.datasetId);
  const source = datasetSource(store, d);
  const dir = runFolder(ctx.dataDir, id);
  const latest = (await listCheckpoints(dir)).at(-1) ?? null;
  if (latest) {
    const meta = await readCheckpointMeta(latest.path);
    if (!meta.state || !meta.optimizer) {
      throw new StudioError(
        'CONFLICT',
        `run ${id}'s latest checkpoint (epoch ${latest.epoch}) was written by an older studio without optimizer state; it cannot be resumed exactly`,
      );
    }
  }
  const epoch = latest?.epoch ?? 0;
  const step = latest?.step ?? 0;
  store.transaction(() => {
    store.metrics.truncateAfter(id, step, epoch);
    store.checkpoints.removeAfter(id, epoch);
    // A checkpoint written just before the trainer died may have missed its row.
    if (latest && !store.checkpoints.list(id).some((c) => c.epoch === latest.epoch)) {
      store.checkpoints.add({ runId: id, epoch, step, path: latest.path, bytes: folderBytes(latest.path), createdAt: (ctx.now ?? Date.now)() });
    }
  });
  supervisor.start(id, r.config, source, latest ? { resumeFrom: latest.path } : {});
  return getRun(store, id);
}

/** The official test split of a dataset as a sample range, or null when it has none. */
function testRange(dataDir: string, d: DatasetInfo): { from: number; to: number } | null {
  if (d.kind === 'builtin') return null;
  const splits = readDatasetMeta(dataDir, d.id)?.splits ?? null;
  if (!splits || splits.test <= 0) return null;
  return { from: splits.train, to: splits.train + splits.test };
}

/** Evaluates a checkpoint of a run on a split in a trainer process and keeps the result. */
export async function evalRun(ctx: RunOpsContext, input: CommandParsed<'runs.eval'>): Promise<EvalResult> {
  const { store, supervisor, dataDir } = ctx;
  const r = getRun(store, input.id);
  const d = getDataset(store, r.datasetId);
  const dir = runFolder(dataDir, r.id);
  const cps = await listCheckpoints(dir);
  if (cps.length === 0) throw new StudioError('NOT_FOUND', `run ${r.id} has no checkpoint yet (one is written at the end of every epoch)`);
  const cp = input.checkpointEpoch === undefined ? cps[cps.length - 1]! : cps.find((c) => c.epoch === input.checkpointEpoch);
  if (!cp) {
    throw new StudioError('NOT_FOUND', `run ${r.id} has no checkpoint of epoch ${input.checkpointEpoch}; it has ${cps.map((c) => c.epoch).join(', ')}`, 'checkpointEpoch');
  }
  const test = testRange(dataDir, d);
  const split: EvalSplit = input.split ?? (test ? 'test' : 'validation');
  let samples: Extract<ToTrainer, { type: 'eval' }>['samples'];
  if (split === 'test') {
    if (!test) throw new StudioError('INVALID_INPUT', `dataset "${d.name}" has no official test split; evaluate on split "validation"`, 'split');
    samples = { kind: 'range', ...test };
  } else {
    if (r.config.validationFraction <= 0) {
      throw new StudioError('INVALID_INPUT', `run ${r.id} was trained without a validation hold-out (validationFraction 0); evaluate on split "test"`, 'split');
    }
    samples = { kind: 'validation' };
  }
  const value = await supervisor.evaluate(r.id, {
    checkpoint: cp.path,
    dataset: datasetSource(store, d),
    samples,
    maxSamples: input.maxSamples,
    iwaeK: input.iwaeK,
    iwaeSamples: input.iwaeSamples,
    seed: input.seed,
  });
  const result: EvalResult = { runId: r.id, split, ...value, createdAt: (ctx.now ?? Date.now)() };
  appendEvaluation(dir, result);
  return result;
}

/** The evaluations kept for a run, oldest first ([] when none or unreadable). */
export function listEvaluations(dataDir: string, runId: string): EvalResult[] {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(runFolder(dataDir, runId), EVALUATIONS_FILE), 'utf8')) as unknown;
    return Array.isArray(v) ? (v as EvalResult[]) : [];
  } catch {
    return [];
  }
}

/** Appends to evaluations.json atomically (write a temp file, fsync, rename): a crash keeps the old list. */
function appendEvaluation(dir: string, result: EvalResult): void {
  fs.mkdirSync(dir, { recursive: true });
  const list = listEvaluations(path.dirname(path.dirname(dir)), path.basename(dir));
  list.push(result);
  writeFileAtomicSync(path.join(dir, EVALUATIONS_FILE), JSON.stringify(list, null, 2));
}
