import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Result, RunMetrics, RunSummary } from '../../src-main/contract/index.ts';
import { createStudio } from '../../src-main/services/studio.ts';
import { openStore } from '../../src-main/store/index.ts';
import { forkTrainer } from '../../src-main/trainer/fork.ts';
import type { TrainerHandle } from '../../src-main/trainer/protocol.ts';
import { until } from '../helpers/fake-trainer.ts';
import { tmpDir } from '../helpers/tmp.ts';

const value = async <T>(p: Promise<Result<unknown>>): Promise<T> => {
  const r = await p;
  assert.ok(r.ok, JSON.stringify(r));
  return r.value as T;
};

test('a real trainer process killed mid-run: the run is interrupted, its history is kept, the studio carries on', async () => {
  const dataDir = tmpDir();
  const handles: TrainerHandle[] = [];
  const studio = createStudio({
    dataDir,
    mode: 'cli',
    launcher: () => {
      const h = forkTrainer();
      handles.push(h);
      return h;
    },
  });
  let steps = 0;
  let epochs = 0;
  studio.subscribe((event, payload) => {
    if (event === 'training.progress') steps += (payload as { points: unknown[] }).points.length;
    if (event === 'training.epoch') epochs++;
  });
  try {
    const config = { epochs: 200, maxSamples: 1000, batchSize: 50, model: { hidden: [64], latentDim: 2 } };
    const run = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config }));
    await until(() => epochs >= 1 && steps > 25, 60_000, 'an epoch of progress');
    process.kill(handles[0]!.pid!, 'SIGKILL');
    await until(() => handles.length === 1 && studio.dispatch !== undefined, 100);
    let r: RunSummary;
    const t0 = Date.now();
    do {
      r = await value<RunSummary>(studio.dispatch('runs.get', { id: run.id }));
      await new Promise((res) => setTimeout(res, 20));
    } while (r.status === 'running' && Date.now() - t0 < 10_000);
    assert.equal(r.status, 'interrupted');
    assert.match(r.error ?? '', /SIGKILL/);
    assert.ok(r.epochsDone >= 1);
    const m = await value<RunMetrics>(studio.dispatch('runs.metrics', { id: run.id, maxPoints: 100000 }));
    assert.ok(m.totalSteps >= 25, `steps kept: ${m.totalSteps}`);
    assert.ok(m.totalSteps <= steps + 1);
    const cps = await value<unknown[]>(studio.dispatch('runs.checkpoints', { id: run.id }));
    assert.ok(cps.length >= 1, 'the checkpoint of the finished epoch is recorded');

    // The studio is still healthy: a second run completes.
    const again = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config: { ...config, epochs: 1 } }));
    await until(() => handles[1] !== undefined, 1000);
    let s: RunSummary;
    do {
      s = await value<RunSummary>(studio.dispatch('runs.get', { id: again.id }));
      await new Promise((res) => setTimeout(res, 50));
    } while (s.status === 'running');
    assert.equal(s.status, 'completed');
  } finally {
    await studio.close();
  }
  // The file on disk has everything, read by a fresh connection.
  const store = openStore({ dataDir });
  try {
    assert.deepEqual(store.runs.list().map((r) => r.status).sort(), ['completed', 'interrupted']);
  } finally {
    store.close();
  }
});
