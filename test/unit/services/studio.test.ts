import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Events, RunMetrics, RunSummary } from '../../../src-main/contract/index.ts';
import { createStudio } from '../../../src-main/services/studio.ts';
import type { Studio } from '../../../src-main/services/studio-api.ts';
import { openStore } from '../../../src-main/store/index.ts';
import { epochPoint, fakeLauncher, step, until } from '../../helpers/fake-trainer.ts';
import type { FakeTrainer } from '../../helpers/fake-trainer.ts';
import { tmpDir } from '../../helpers/tmp.ts';

/** A trainer that reports a backend, `steps` steps over one epoch, and completes. */
function completing(steps = 30) {
  return fakeLauncher((msg, t) => {
    if (msg.type !== 'start') return;
    t.emit({ type: 'backend', info: { backend: 'wasm', device: 'CPU', tfjsVersion: '4.22.0', skipped: [{ backend: 'tensorflow', reason: 'not installed' }] } });
    for (let i = 1; i <= steps; i++) t.emit({ type: 'steps', points: [step(i)] });
    t.emit({ type: 'epoch', point: epochPoint(0, steps) });
    t.emit({ type: 'done', status: 'completed' });
    t.exit(0);
  });
}

function record(studio: Studio) {
  const events: { event: keyof Events; payload: unknown }[] = [];
  studio.subscribe((event, payload) => events.push({ event, payload }));
  return events;
}

async function value<T>(p: Promise<{ ok: boolean; value?: unknown; error?: unknown }>): Promise<T> {
  const r = await p;
  assert.ok(r.ok, `expected ok, got ${JSON.stringify(r)}`);
  return r.value as T;
}

describe('studio commands', () => {
  test('unknown commands and invalid inputs are refused with a code and the field', async () => {
    const studio = createStudio({ dataDir: tmpDir(), mode: 'cli', launcher: completing() });
    try {
      const unknown = await studio.dispatch('runs.explode', {});
      assert.deepEqual(unknown.ok ? null : unknown.error.code, 'UNKNOWN_COMMAND');
      const missing = await studio.dispatch('runs.get', {});
      assert.ok(!missing.ok);
      assert.equal(missing.error.code, 'INVALID_INPUT');
      assert.equal(missing.error.field, 'id');
      const extra = await studio.dispatch('runs.list', { evil: true });
      assert.ok(!extra.ok && extra.error.code === 'INVALID_INPUT' && /evil/.test(extra.error.message));
      const notFound = await studio.dispatch('runs.get', { id: 'nope' });
      assert.ok(!notFound.ok && notFound.error.code === 'NOT_FOUND');
    } finally {
      await studio.close();
    }
  });

  test('a malformed training config is rejected with the field and the reason, and creates no run', async () => {
    const launcher = completing();
    const studio = createStudio({ dataDir: tmpDir(), mode: 'cli', launcher });
    try {
      const bad = await studio.dispatch('training.start', { datasetId: 'builtin-digits', config: { model: { latentDim: 0 } } });
      assert.ok(!bad.ok);
      assert.equal(bad.error.code, 'INVALID_INPUT');
      assert.equal(bad.error.field, 'model.latentDim');
      assert.match(bad.error.message, />=\s*1|too small/i);
      const unknownKey = await studio.dispatch('training.start', { datasetId: 'builtin-digits', config: { optimizer: { nesterov: true } } });
      assert.ok(!unknownKey.ok);
      assert.equal(unknownKey.error.field, 'optimizer.nesterov');
      const noData = await studio.dispatch('training.start', { datasetId: 'nope', config: {} });
      assert.ok(!noData.ok && noData.error.code === 'NOT_FOUND');
      assert.deepEqual(await value(studio.dispatch('runs.list', {})), []);
      assert.equal(launcher.trainers.length, 0);
    } finally {
      await studio.close();
    }
  });

  test('the built-in dataset is listed and previewed', async () => {
    const studio = createStudio({ dataDir: tmpDir(), mode: 'cli', launcher: completing() });
    try {
      const list = await value<{ id: string; count: number; labels: string[] }[]>(studio.dispatch('datasets.list', {}));
      const digits = list.find((d) => d.id === 'builtin-digits');
      assert.ok(digits && digits.count > 0 && digits.labels.length === 10);
      const p = await value<{ samples: { pixels: number[]; label: number }[]; width: number; height: number }>(
        studio.dispatch('datasets.preview', { id: 'builtin-digits', count: 10 }),
      );
      assert.equal(p.samples.length, 10);
      for (const s of p.samples) {
        assert.equal(s.pixels.length, p.width * p.height);
        assert.ok(s.pixels.some((v) => v > 128), 'a digit has bright pixels');
      }
    } finally {
      await studio.close();
    }
  });
});

describe('training supervision', () => {
  test('a run is recorded from start to completion, with its backend and metrics, and events are sent', async () => {
    const dataDir = tmpDir();
    const studio = createStudio({ dataDir, mode: 'cli', launcher: completing(30) });
    const events = record(studio);
    const run = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config: { epochs: 1, seed: 7 } }));
    assert.equal(run.status, 'running');
    assert.equal(run.seed, 7);
    await until(() => events.some((e) => e.event === 'training.status' && (e.payload as { status: string }).status === 'completed'));
    const done = await value<RunSummary>(studio.dispatch('runs.get', { id: run.id }));
    assert.equal(done.status, 'completed');
    assert.equal(done.backend, 'wasm');
    assert.equal(done.tfjsVersion, '4.22.0');
    assert.equal(done.epochsDone, 1);
    assert.ok(done.finishedAt !== null && done.startedAt !== null);
    const m = await value<RunMetrics>(studio.dispatch('runs.metrics', { id: run.id, maxPoints: 1000 }));
    assert.equal(m.totalSteps, 30);
    assert.deepEqual(m.steps.map((s) => s.step), Array.from({ length: 30 }, (_, i) => i + 1));
    const streamed = events.filter((e) => e.event === 'training.progress').flatMap((e) => (e.payload as { points: unknown[] }).points);
    assert.equal(streamed.length, 30, 'every step is forwarded exactly once');
    await studio.close();
    // The history survives a restart.
    const again = createStudio({ dataDir, mode: 'cli', launcher: completing() });
    try {
      const list = await value<RunSummary[]>(again.dispatch('runs.list', {}));
      assert.equal(list.length, 1);
      assert.equal(list[0]!.status, 'completed');
      assert.deepEqual(list[0]!.config, done.config);
    } finally {
      await again.close();
    }
  });

  test('a trainer that dies mid-run leaves the run interrupted with the metrics it reported', async () => {
    const launcher = fakeLauncher((msg, t) => {
      if (msg.type !== 'start') return;
      for (let i = 1; i <= 5; i++) t.emit({ type: 'steps', points: [step(i)] });
      t.exit(null, 'SIGKILL');
    });
    const studio = createStudio({ dataDir: tmpDir(), mode: 'cli', launcher });
    try {
      const run = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config: {} }));
      await until(() => launcher.trainers[0]?.exited === true);
      const r = await value<RunSummary>(studio.dispatch('runs.get', { id: run.id }));
      assert.equal(r.status, 'interrupted');
      assert.match(r.error ?? '', /killed \(SIGKILL\)/);
      const m = await value<RunMetrics>(studio.dispatch('runs.metrics', { id: run.id }));
      assert.equal(m.totalSteps, 5);
      // The studio keeps working: another run starts.
      assert.ok((await studio.dispatch('training.start', { datasetId: 'builtin-digits', config: {} })).ok);
    } finally {
      await studio.close();
    }
  });

  test('a trainer failure is recorded with its message', async () => {
    const launcher = fakeLauncher((msg, t) => {
      if (msg.type !== 'start') return;
      t.emit({ type: 'failed', message: 'loss became NaN at step 3' });
      t.exit(0);
    });
    const studio = createStudio({ dataDir: tmpDir(), mode: 'cli', launcher });
    try {
      const run = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config: {} }));
      await until(() => launcher.trainers[0]!.exited);
      const r = await value<RunSummary>(studio.dispatch('runs.get', { id: run.id }));
      assert.equal(r.status, 'failed');
      assert.equal(r.error, 'loss became NaN at step 3');
    } finally {
      await studio.close();
    }
  });

  test('stop asks the trainer to stop and records the run as stopped; stopping twice is a conflict', async () => {
    const launcher = fakeLauncher((msg, t) => {
      if (msg.type === 'start') t.emit({ type: 'steps', points: [step(1)] });
      if (msg.type === 'stop') {
        t.emit({ type: 'done', status: 'stopped' });
        t.exit(0);
      }
    });
    const studio = createStudio({ dataDir: tmpDir(), mode: 'cli', launcher });
    try {
      const run = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config: {} }));
      assert.deepEqual(await value(studio.dispatch('training.active', {})), [run.id]);
      assert.ok((await studio.dispatch('training.stop', { runId: run.id })).ok);
      await until(() => launcher.trainers[0]!.exited);
      const r = await value<RunSummary>(studio.dispatch('runs.get', { id: run.id }));
      assert.equal(r.status, 'stopped');
      assert.equal(r.error, null);
      const again = await studio.dispatch('training.stop', { runId: run.id });
      assert.ok(!again.ok && again.error.code === 'CONFLICT');
      assert.deepEqual(await value(studio.dispatch('training.active', {})), []);
    } finally {
      await studio.close();
    }
  });

  test('a launcher that cannot start a process fails the run with TRAINER_FAILED', async () => {
    const studio = createStudio({
      dataDir: tmpDir(),
      mode: 'cli',
      launcher: () => {
        throw new Error('spawn ENOENT');
      },
    });
    try {
      const r = await studio.dispatch('training.start', { datasetId: 'builtin-digits', config: {} });
      assert.ok(!r.ok);
      assert.equal(r.error.code, 'TRAINER_FAILED');
      const runs = await value<RunSummary[]>(studio.dispatch('runs.list', {}));
      assert.equal(runs[0]!.status, 'failed');
      assert.match(runs[0]!.error ?? '', /ENOENT/);
    } finally {
      await studio.close();
    }
  });

  test('closing the studio stops running trainers', async () => {
    let trainer: FakeTrainer | undefined;
    const launcher = fakeLauncher((msg, t) => {
      trainer = t;
      if (msg.type === 'stop') {
        t.emit({ type: 'done', status: 'stopped' });
        t.exit(0);
      }
    });
    const dataDir = tmpDir();
    const studio = createStudio({ dataDir, mode: 'cli', launcher });
    const run = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config: {} }));
    await studio.close();
    assert.ok(trainer?.exited);
    const store = openStore({ dataDir });
    try {
      assert.equal(store.runs.get(run.id)?.status, 'stopped');
    } finally {
      store.close();
    }
  });
});

describe('recovery at start', () => {
  test('a run left running by a dead process shows as interrupted, with its history intact', async () => {
    const dataDir = tmpDir();
    const store = openStore({ dataDir });
    store.datasets.upsert({ id: 'builtin-digits', name: 'Sample digits', kind: 'builtin', source: 'builtin:digits', count: 10, width: 28, height: 28, channels: 1, labels: null, createdAt: 1 });
    const { TrainConfigSchema } = await import('../../../src-main/contract/index.ts');
    store.runs.create({ id: 'run-orphan', name: 'orphan', datasetId: 'builtin-digits', config: TrainConfigSchema.parse({}), appVersion: '0', ownerPid: 2 ** 22 + 12345 });
    store.runs.update('run-orphan', { status: 'running', startedAt: 5 });
    store.metrics.appendSteps('run-orphan', [step(1), step(2)]);
    store.close();
    const studio = createStudio({ dataDir, mode: 'cli', launcher: completing() });
    try {
      const r = await value<RunSummary>(studio.dispatch('runs.get', { id: 'run-orphan' }));
      assert.equal(r.status, 'interrupted');
      assert.ok(studio.info.notices.some((n) => n.includes('run-orphan')));
      const m = await value<RunMetrics>(studio.dispatch('runs.metrics', { id: 'run-orphan' }));
      assert.equal(m.totalSteps, 2);
    } finally {
      await studio.close();
    }
  });

  test('a corrupt history file is moved aside and reported, and the studio starts', async () => {
    const dataDir = tmpDir();
    writeFileSync(path.join(dataDir, 'history.sqlite'), Buffer.alloc(8192, 7));
    const studio = createStudio({ dataDir, mode: 'cli', launcher: completing() });
    try {
      assert.equal(studio.info.notices.length, 1);
      assert.match(studio.info.notices[0]!, /moved to .*history\.sqlite\.corrupt-/);
      assert.ok((await studio.dispatch('runs.list', {})).ok);
    } finally {
      await studio.close();
    }
  });
});
