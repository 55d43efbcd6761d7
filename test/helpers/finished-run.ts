/**
 * A run that a scripted trainer (fake-trainer.ts) ends at once, with one metadata-only checkpoint:
 * enough for the services that list checkpoints and hand them to a (scripted) worker job.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Result, RunSummary } from '../../src-main/contract/index.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from '../../src-main/core/checkpoint.ts';
import type { Studio } from '../../src-main/services/studio-api.ts';
import type { ToTrainer } from '../../src-main/trainer/protocol.ts';
import { fakeLauncher, until, type FakeTrainer } from './fake-trainer.ts';

/** Ends a scripted training at once; answers a worker job with `onJob`. */
export function scriptedJobs(onJob: (msg: Extract<ToTrainer, { type: 'job' }>, t: FakeTrainer) => void) {
  return fakeLauncher((msg, t) => {
    if (msg.type === 'start') {
      t.emit({ type: 'done', status: 'completed' });
      t.exit(0);
    } else if (msg.type === 'job') onJob(msg, t);
  });
}

/** A completed run on the built-in digits with one checkpoint of epoch 1 (checkpoint.json only). */
export async function finishedRun(studio: Studio, dataDir: string, trainers: FakeTrainer[]): Promise<RunSummary> {
  const r = (await studio.dispatch('training.start', { datasetId: 'builtin-digits', config: { epochs: 1, model: { latentDim: 4 } } })) as Result<RunSummary>;
  assert.ok(r.ok, JSON.stringify(r));
  const run = r.value;
  await until(() => trainers[0]?.exited === true, 5000, 'the run to end');
  const cp = path.join(dataDir, 'checkpoints', run.id, 'epoch-1');
  fs.mkdirSync(cp, { recursive: true });
  const meta = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, epoch: 1, step: 10, config: run.config, input: { width: 28, height: 28, channels: 1 }, dim: 784, paramCount: 1, metrics: null };
  fs.writeFileSync(path.join(cp, 'checkpoint.json'), JSON.stringify(meta));
  return run;
}
