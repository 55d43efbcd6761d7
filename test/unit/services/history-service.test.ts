/**
 * The history service against a scripted trainer (test/helpers/fake-trainer.ts): editing runs,
 * pausing and resuming (what is sent to the trainer, what runs.get/list and the events say, the
 * conflicts), and the 'runs.finished' announcement of long runs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TrainConfigSchema, type Events, type Result, type RunSummary } from '../../../src-main/contract/index.ts';
import { normalizeTags } from '../../../src-main/services/history.ts';
import { BUILTIN_DATASETS } from '../../../src-main/core/sample-data.ts';
import { createStudio } from '../../../src-main/services/studio.ts';
import type { Studio } from '../../../src-main/services/studio-api.ts';
import { TrainingSupervisor } from '../../../src-main/services/training.ts';
import { openStore } from '../../../src-main/store/index.ts';
import { epochPoint, fakeLauncher, step, until } from '../../helpers/fake-trainer.ts';
import { tmpDir } from '../../helpers/tmp.ts';

const value = async <T>(p: Promise<Result<unknown>>): Promise<T> => {
  const r = await p;
  assert.ok(r.ok, JSON.stringify(r));
  return r.value as T;
};
const failure = async (p: Promise<Result<unknown>>) => {
  const r = await p;
  assert.ok(!r.ok, `expected a failure, got ${JSON.stringify(r)}`);
  return r.error;
};

/** A trainer that starts and then waits (for stop, or for the test to end it). */
const waiting = () =>
  fakeLauncher((msg, t) => {
    if (msg.type === 'start') t.emit({ type: 'steps', points: [step(1)] });
    if (msg.type === 'stop') {
      t.emit({ type: 'done', status: 'stopped' });
      t.exit(0);
    }
  });

function studioWith(launcher = waiting()) {
  const studio = createStudio({ dataDir: tmpDir(), mode: 'cli', launcher });
  const events: { event: keyof Events; payload: unknown }[] = [];
  studio.subscribe((event, payload) => events.push({ event, payload }));
  return { studio, launcher, events };
}

const start = (studio: Studio) => value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config: { epochs: 1 } }));

describe('runs.update', () => {
  test('tags are trimmed and de-duplicated, first spelling kept', () => {
    assert.deepEqual(normalizeTags([' a ', 'b', 'A', 'c', 'b ', 'C']), ['a', 'b', 'c']);
    assert.deepEqual(normalizeTags([]), []);
  });

  test('renames, edits notes and tags, leaves the other fields, and says NOT_FOUND for an unknown run', async () => {
    const { studio, launcher, events } = studioWith();
    try {
      const r = await start(studio);
      await studio.dispatch('training.stop', { runId: r.id });
      await until(() => launcher.trainers[0]!.exited);
      const u = await value<RunSummary>(studio.dispatch('runs.update', { id: r.id, name: '  Baseline  ', tags: ['mlp', ' beta ', 'mlp'] }));
      assert.equal(u.name, 'Baseline');
      assert.deepEqual(u.tags, ['mlp', 'beta']);
      assert.equal(u.notes, '');
      const n = await value<RunSummary>(studio.dispatch('runs.update', { id: r.id, notes: 'lr too high?' }));
      assert.equal(n.notes, 'lr too high?');
      assert.equal(n.name, 'Baseline', 'fields not given are kept');
      assert.deepEqual(n.tags, ['mlp', 'beta']);
      const listed = (await value<RunSummary[]>(studio.dispatch('runs.list', {}))).find((x) => x.id === r.id)!;
      assert.deepEqual([listed.name, listed.notes, listed.tags], ['Baseline', 'lr too high?', ['mlp', 'beta']]);
      assert.ok(events.some((e) => e.event === 'runs.changed' && (e.payload as { runId: string }).runId === r.id));

      const missing = await failure(studio.dispatch('runs.update', { id: 'nope', name: 'x' }));
      assert.equal(missing.code, 'NOT_FOUND');
      const blank = await failure(studio.dispatch('runs.update', { id: r.id, name: '   ' }));
      assert.equal(blank.code, 'INVALID_INPUT');
      assert.equal(blank.field, 'name');
      const long = await failure(studio.dispatch('runs.update', { id: r.id, tags: ['x'.repeat(41)] }));
      assert.equal(long.code, 'INVALID_INPUT');
      assert.equal(long.field, 'tags.0');
    } finally {
      await studio.close();
    }
  });
});

describe('training.pause / training.resume', () => {
  test('pause holds the trainer, shows as paused in runs.get/list and the status event; resume continues', async () => {
    const { studio, launcher, events } = studioWith();
    try {
      const r = await start(studio);
      assert.equal(r.paused, false);
      const p = await value<RunSummary>(studio.dispatch('training.pause', { runId: r.id }));
      assert.equal(p.status, 'running');
      assert.equal(p.paused, true);
      assert.equal((await value<RunSummary>(studio.dispatch('runs.get', { id: r.id }))).paused, true);
      assert.equal((await value<RunSummary[]>(studio.dispatch('runs.list', {}))).find((x) => x.id === r.id)!.paused, true);
      // Pausing twice changes nothing and sends nothing more.
      await value(studio.dispatch('training.pause', { runId: r.id }));
      const t = launcher.trainers[0]!;
      assert.deepEqual(t.received.map((m) => m.type), ['start', 'pause']);
      const statuses = events.filter((e) => e.event === 'training.status').map((e) => e.payload as Events['training.status']);
      assert.ok(statuses.some((s) => s.runId === r.id && s.status === 'running' && s.paused === true));

      const q = await value<RunSummary>(studio.dispatch('training.resume', { runId: r.id }));
      assert.equal(q.paused, false);
      assert.equal(q.status, 'running');
      assert.deepEqual(t.received.map((m) => m.type), ['start', 'pause', 'resume']);
      // Resuming a running run changes nothing.
      await value(studio.dispatch('training.resume', { runId: r.id }));
      assert.equal(t.received.length, 3);
    } finally {
      await studio.close();
    }
  });

  test('stop while paused ends the run as stopped, no longer paused', async () => {
    const { studio, launcher } = studioWith();
    try {
      const r = await start(studio);
      await value(studio.dispatch('training.pause', { runId: r.id }));
      await value(studio.dispatch('training.stop', { runId: r.id }));
      await until(() => launcher.trainers[0]!.exited);
      const s = await value<RunSummary>(studio.dispatch('runs.get', { id: r.id }));
      assert.equal(s.status, 'stopped');
      assert.equal(s.paused, false);
      // A stopped run cannot be paused or resumed.
      assert.equal((await failure(studio.dispatch('training.pause', { runId: r.id }))).code, 'CONFLICT');
      assert.equal((await failure(studio.dispatch('training.resume', { runId: r.id }))).code, 'CONFLICT');
      assert.equal((await failure(studio.dispatch('training.pause', { runId: 'nope' }))).code, 'NOT_FOUND');
    } finally {
      await studio.close();
    }
  });

  test('a run that is stopping cannot be paused', async () => {
    // This trainer never honours stop: the run stays active while stopping.
    const { studio, launcher } = studioWith(fakeLauncher(() => {}));
    try {
      const r = await start(studio);
      await value(studio.dispatch('training.stop', { runId: r.id }));
      const e = await failure(studio.dispatch('training.pause', { runId: r.id }));
      assert.equal(e.code, 'CONFLICT');
      assert.match(e.message, /stopping/);
      launcher.trainers[0]!.exit(0);
    } finally {
      await studio.close();
    }
  });
});

describe("'runs.finished'", () => {
  /** A supervisor on a fake clock; the trainer ends as the test says. */
  function setup(finishedNoticeMs: number) {
    const dataDir = tmpDir();
    const store = openStore({ dataDir });
    let clock = 1_000_000;
    const launcher = fakeLauncher();
    const events: { event: string; payload: unknown }[] = [];
    for (const d of BUILTIN_DATASETS) store.datasets.upsert(d);
    const sup = new TrainingSupervisor({
      store,
      launcher,
      emit: (event, payload) => events.push({ event, payload }),
      checkpointRoot: dataDir,
      finishedNoticeMs,
      stopGraceMs: 50,
      now: () => clock,
    });
    let n = 0;
    const run = () => {
      const id = `run-${++n}`;
      store.runs.create({ id, name: `Run ${n}`, datasetId: 'builtin-digits', config: TrainConfigSchema.parse({}), appVersion: 'test', ownerPid: process.pid });
      sup.start(id, TrainConfigSchema.parse({}), { kind: 'builtin', name: 'digits' });
      return { id, trainer: launcher.trainers.at(-1)! };
    };
    const finished = () => events.filter((e) => e.event === 'runs.finished').map((e) => e.payload as Events['runs.finished']);
    return { store, sup, run, finished, advance: (ms: number) => (clock += ms) };
  }

  test('a long run that completes or fails is announced with its duration, name and error', () => {
    const { store, run, finished, advance } = setup(30_000);
    const a = run();
    advance(45_000);
    a.trainer.emit({ type: 'epoch', point: epochPoint(1, 10) });
    a.trainer.emit({ type: 'done', status: 'completed' });
    a.trainer.exit(0);
    const b = run();
    advance(31_000);
    b.trainer.emit({ type: 'failed', message: 'training diverged at epoch 3' });
    b.trainer.exit(0);
    assert.deepEqual(finished(), [
      { runId: a.id, name: 'Run 1', status: 'completed', error: null, durationMs: 45_000 },
      { runId: b.id, name: 'Run 2', status: 'failed', error: 'training diverged at epoch 3', durationMs: 31_000 },
    ]);
    store.close();
  });

  test('short runs, runs stopped by the user and time spent paused are not announced', () => {
    const { store, sup, run, finished, advance } = setup(30_000);
    const short = run();
    advance(29_999);
    short.trainer.emit({ type: 'done', status: 'completed' });
    short.trainer.exit(0);
    const stopped = run();
    advance(60_000);
    sup.stop(stopped.id);
    stopped.trainer.emit({ type: 'done', status: 'completed' });
    stopped.trainer.exit(0);
    // 40 s of wall time, of which 20 s paused: 20 s of training.
    const paused = run();
    advance(10_000);
    sup.pause(paused.id);
    advance(20_000);
    sup.resume(paused.id);
    advance(10_000);
    paused.trainer.emit({ type: 'done', status: 'completed' });
    paused.trainer.exit(0);
    assert.deepEqual(finished(), []);
    store.close();
  });
});
