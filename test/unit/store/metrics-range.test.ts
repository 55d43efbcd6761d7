/**
 * runs.metrics for a range of steps (a zoomed chart): only [fromStep, toStep] is read and
 * downsampled, its first and last stored steps kept, the steps between averaged in equal-width
 * buckets of step numbers. Expected values are worked out by hand from the definition; the
 * statements are checked with EXPLAIN QUERY PLAN to search the primary key, never scan the table.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { StudioError, TrainConfigSchema } from '../../../src-main/contract/index.ts';
import type { RunMetrics, StepPoint } from '../../../src-main/contract/index.ts';
import { createStudio } from '../../../src-main/services/studio.ts';
import { MIGRATIONS, migrate, openStore } from '../../../src-main/store/index.ts';
import type { Store } from '../../../src-main/store/index.ts';
import { metricsRepo } from '../../../src-main/store/metrics.ts';
import { fakeLauncher } from '../../helpers/fake-trainer.ts';
import { tmpDir } from '../../helpers/tmp.ts';

/** A step whose loss is step², so a bucket's mean loss differs from the loss at its mean step. */
const pt = (s: number, over: Partial<StepPoint> = {}): StepPoint => ({
  step: s,
  epoch: Math.ceil(s / 4),
  loss: s * s,
  recon: 2 * s,
  kl: 1,
  negElbo: s * s + 1,
  samplesPerSec: 100,
  timeMs: 10 * s,
  ...over,
});

function seeded(steps: readonly number[], over: (s: number) => Partial<StepPoint> = () => ({})): { store: Store; dataDir: string } {
  const dataDir = tmpDir('vae-metrics-range-');
  const store = openStore({ dataDir });
  store.datasets.upsert({ id: 'd1', name: 'D', kind: 'imported', source: '/d', count: 10, width: 7, height: 7, channels: 1, labels: null, createdAt: 1 });
  store.runs.create({ id: 'r1', name: 'R', datasetId: 'd1', config: TrainConfigSchema.parse({}), appVersion: '0', ownerPid: 1 });
  store.metrics.appendSteps('r1', steps.map((s) => pt(s, over(s))));
  return { store, dataDir };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const isInvalid = (field: string) => (e: unknown) => e instanceof StudioError && e.code === 'INVALID_INPUT' && e.field === field;

describe('steps in a range', () => {
  test('10 steps into 5 points: the first and last step, and 3 buckets of the 8 between', () => {
    const { store } = seeded(range(1, 10));
    try {
      const { points, covered, lastOfRun } = store.metrics.stepsInRange('r1', 5, { fromStep: 1, toStep: 10 });
      assert.deepEqual(covered, { fromStep: 1, toStep: 10, count: 10 });
      assert.equal(lastOfRun, 10);
      // Steps 2..9 (width 8) in 3 buckets of width 8/3: {2,3,4}, {5,6,7}, {8,9}.
      assert.deepEqual(points[0], pt(1));
      assert.deepEqual(points[4], pt(10));
      assert.deepEqual(
        points.slice(1, 4).map((p) => [p.step, p.loss, p.epoch, p.timeMs]),
        [
          [3, (4 + 9 + 16) / 3, (1 + 1 + 1) / 3, 30],
          [6, (25 + 36 + 49) / 3, (2 + 2 + 2) / 3, 60],
          [8.5, (64 + 81) / 2, (2 + 3) / 2, 85],
        ],
      );
      assert.equal(points.length, 5);
    } finally {
      store.close();
    }
  });

  test('a range inside the run is downsampled on its own, whatever lies outside it', () => {
    const { store } = seeded(range(1, 1000));
    try {
      // Steps 3..9 into 4 points: 3, then 4..8 (width 5) in 2 buckets {4,5,6} and {7,8}, then 9.
      const { points, covered } = store.metrics.stepsInRange('r1', 4, { fromStep: 3, toStep: 9 });
      assert.deepEqual(covered, { fromStep: 3, toStep: 9, count: 7 });
      assert.deepEqual(
        points.map((p) => [p.step, p.loss]),
        [
          [3, 9],
          [5, (16 + 25 + 36) / 3],
          [7.5, (49 + 64) / 2],
          [9, 81],
        ],
      );
      // 101..1000 into 11 points: 101, 102..999 (898 steps) in 9 buckets, 1000. A buckets' mean
      // step is the middle of its steps, and the mean of s² over n consecutive steps a..b is
      // (b(b+1)(2b+1) - (a-1)a(2a-1)) / 6n.
      const big = store.metrics.stepsInRange('r1', 11, { fromStep: 101, toStep: 1000 }).points;
      assert.equal(big.length, 11);
      assert.deepEqual([big[0], big[10]], [pt(101), pt(1000)]);
      const sq = (n: number) => (n * (n + 1) * (2 * n + 1)) / 6;
      for (let b = 0; b < 9; b++) {
        const a = 102 + Math.ceil((b * 898) / 9);
        const z = 102 + Math.ceil(((b + 1) * 898) / 9) - 1;
        const p = big[b + 1]!;
        assert.equal(p.step, (a + z) / 2, `bucket ${b}`);
        assert.ok(Math.abs(p.loss - (sq(z) - sq(a - 1)) / (z - a + 1)) < 1e-9, `bucket ${b} loss ${p.loss}`);
      }
    } finally {
      store.close();
    }
  });

  test('edges: bounds are inclusive, fall between stored steps, or are left open', () => {
    const { store } = seeded(range(1, 10).map((i) => 2 * i)); // 2, 4, ..., 20
    try {
      const r = (fromStep?: number, toStep?: number, maxPoints = 100) => store.metrics.stepsInRange('r1', maxPoints, { fromStep, toStep });
      assert.deepEqual(r(5, 15).points.map((p) => p.step), [6, 8, 10, 12, 14]);
      assert.deepEqual(r(5, 15).covered, { fromStep: 6, toStep: 14, count: 5 });
      assert.deepEqual(r(4, 4).points, [pt(4)]);
      assert.deepEqual(r(4, 6).points, [pt(4), pt(6)]);
      assert.deepEqual(r(15).points.map((p) => p.step), [16, 18, 20]);
      assert.deepEqual(r(undefined, 5).points.map((p) => p.step), [2, 4]);
      assert.deepEqual(r(1, 10_000).points, r().points);
      assert.equal(r().points.length, 10);
      // Exactly maxPoints steps in the range come back as stored; one more and they are bucketed.
      assert.deepEqual(r(2, 20, 10).points, range(1, 10).map((i) => pt(2 * i)));
      const nine = r(2, 20, 9).points;
      assert.equal(nine.length, 9);
      assert.deepEqual([nine[0], nine[8]], [pt(2), pt(20)]);
      // Two points: only the ends; one point: the last step.
      assert.deepEqual(r(2, 20, 2).points, [pt(2), pt(20)]);
      assert.deepEqual(r(2, 20, 1).points, [pt(20)]);
    } finally {
      store.close();
    }
  });

  test('an empty range, or a run without steps, gives no points and says so', () => {
    const { store } = seeded(range(1, 10));
    try {
      assert.deepEqual(store.metrics.stepsInRange('r1', 50, { fromStep: 11 }), { points: [], covered: { fromStep: null, toStep: null, count: 0 }, lastOfRun: 10 });
      assert.deepEqual(store.metrics.stepsInRange('r1', 50, { fromStep: 3, toStep: 3 }).covered, { fromStep: 3, toStep: 3, count: 1 });
      assert.deepEqual(store.metrics.stepsInRange('nope', 50, { fromStep: 1, toStep: 5 }), { points: [], covered: { fromStep: null, toStep: null, count: 0 }, lastOfRun: 0 });
    } finally {
      store.close();
    }
  });

  test('a NaN poisons only its own bucket; the kept ends are exact', () => {
    const { store } = seeded(range(1, 100), (s) => (s === 40 ? { loss: Number.NaN } : {}));
    try {
      // 1..100 into 6 points: 1, then 2..99 in 4 buckets of width 98/4 = 24.5 ({2..26}, {27..50},
      // {51..75}, {76..99}), then 100; step 40 is in the second.
      const { points } = store.metrics.stepsInRange('r1', 6, { fromStep: 1, toStep: 100 });
      assert.deepEqual(points.map((p) => Number.isNaN(p.loss)), [false, false, true, false, false, false]);
      assert.deepEqual(points.map((p) => p.step), [1, 14, 38.5, 63, 87.5, 100]);
      assert.ok(points.every((p) => !Number.isNaN(p.negElbo)));
    } finally {
      store.close();
    }
  });

  test('invalid ranges are refused with the field', () => {
    const { store } = seeded(range(1, 10));
    try {
      assert.throws(() => store.metrics.stepsInRange('r1', 10, { fromStep: 6, toStep: 5 }), isInvalid('fromStep'));
      assert.throws(() => store.metrics.stepsInRange('r1', 10, { fromStep: 0 }), isInvalid('fromStep'));
      assert.throws(() => store.metrics.stepsInRange('r1', 10, { toStep: 2.5 }), isInvalid('toStep'));
      assert.throws(() => store.metrics.stepsInRange('r1', 10, { toStep: Number.NaN }), isInvalid('toStep'));
      assert.throws(() => store.metrics.stepsInRange('r1', 0, { toStep: 5 }), isInvalid('maxPoints'));
    } finally {
      store.close();
    }
  });
});

describe('runs.metrics with a range, through the studio', () => {
  test('the answer carries the range; without one it is as before; bad ranges name the field', async () => {
    const { store, dataDir } = seeded(range(1, 500));
    for (let e = 1; e <= 5; e++) {
      store.metrics.appendEpoch('r1', { epoch: e, step: 100 * e, loss: 1, recon: 1, kl: 0, negElbo: 1, valNegElbo: null, valRecon: null, valKl: null, bitsPerDim: 1, durationMs: 1 });
    }
    store.close();
    const studio = createStudio({ dataDir, mode: 'cli', launcher: fakeLauncher() });
    try {
      const zoomed = await studio.dispatch('runs.metrics', { id: 'r1', fromStep: 101, toStep: 200, maxPoints: 10 });
      assert.ok(zoomed.ok);
      const m = zoomed.value as RunMetrics;
      assert.deepEqual(m.range, { fromStep: 101, toStep: 200, count: 100 });
      assert.equal(m.totalSteps, 500);
      assert.equal(m.steps.length, 10);
      assert.deepEqual([m.steps[0], m.steps[9]], [pt(101), pt(200)]);
      // 102..199 (98 steps) in 8 buckets: the first holds 102..114 (ceil(98/8) = 13 steps).
      assert.equal(m.steps[1]!.step, 108);
      // The epochs ending in the range only (the chart holds the run's epochs already).
      assert.deepEqual(m.epochs.map((e) => e.epoch), [2]);

      const whole = await studio.dispatch('runs.metrics', { id: 'r1', maxPoints: 10 });
      assert.ok(whole.ok);
      const w = whole.value as RunMetrics;
      assert.equal(w.range, undefined);
      assert.equal(w.totalSteps, 500);
      assert.deepEqual(w.steps.at(-1), pt(500));
      assert.deepEqual(w.epochs.map((e) => e.epoch), [1, 2, 3, 4, 5]);
      const tail = await studio.dispatch('runs.metrics', { id: 'r1', fromStep: 450 });
      assert.ok(tail.ok);
      assert.deepEqual((tail.value as RunMetrics).range, { fromStep: 450, toStep: 500, count: 51 });
      assert.deepEqual((tail.value as RunMetrics).epochs.map((e) => e.epoch), [5]);

      for (const [input, field] of [
        [{ fromStep: 9, toStep: 3 }, 'fromStep'],
        [{ fromStep: 0 }, 'fromStep'],
        [{ toStep: 1.5 }, 'toStep'],
      ] as const) {
        const bad = await studio.dispatch('runs.metrics', { id: 'r1', ...input });
        assert.ok(!bad.ok && bad.error.code === 'INVALID_INPUT' && bad.error.field === field, JSON.stringify(bad));
      }
      const missing = await studio.dispatch('runs.metrics', { id: 'nope', fromStep: 1 });
      assert.ok(!missing.ok && missing.error.code === 'NOT_FOUND');
    } finally {
      await studio.close();
    }
  });
});

test('every statement on step_metrics searches the primary key (run_id, step): no scan, no sort', () => {
  const db = new Database(':memory:');
  try {
    migrate(db, MIGRATIONS);
    // The statements the repository prepares, as it prepares them.
    const sqls: string[] = [];
    const prepare = db.prepare.bind(db);
    (db as { prepare: typeof db.prepare }).prepare = ((sql: string) => {
      sqls.push(sql);
      return prepare(sql);
    }) as typeof db.prepare;
    metricsRepo(db);
    const reads = sqls.filter((s) => /^\s*SELECT[\s\S]*FROM step_metrics/.test(s));
    assert.ok(reads.length >= 6, `found ${reads.length} reads`);
    let ranged = 0;
    for (const sql of reads) {
      const params = Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map((m) => [m[1]!, 1]));
      const positional = (sql.match(/\?/g) ?? []).map(() => 1);
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...(positional.length > 0 ? positional : [params]))
        .map((r) => (r as { detail: string }).detail);
      const text = plan.join(' | ');
      assert.ok(plan.some((d) => d.startsWith('SEARCH step_metrics USING PRIMARY KEY (run_id=?')), `${sql}\n→ ${text}`);
      assert.ok(!/SCAN step_metrics|TEMP B-TREE/.test(text), `${sql}\n→ ${text}`);
      if (/step (BETWEEN|>=)/.test(sql)) {
        ranged++;
        assert.match(text, /run_id=\? AND step>\? AND step<\?/, sql);
      }
    }
    assert.ok(ranged >= 3, 'the range statements were found');
  } finally {
    db.close();
  }
});
