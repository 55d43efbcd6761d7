/**
 * Migration 2 (metrics-extra): the engine's per-step beta / lr / gradient norm and the optional
 * per-epoch fields persist and come back through the repositories; rows from before it read as
 * they always did (the new fields absent, not undefined).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import Database from 'better-sqlite3';
import { TrainConfigSchema, type EpochPoint, type StepPoint } from '../../../src-main/contract/index.ts';
import { MIGRATIONS, migrate, openStore, userVersion, type Store } from '../../../src-main/store/index.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanups.splice(0).reverse()) f();
});

function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vae-store-extra-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(dataDir: string): Store {
  const store = openStore({ dataDir });
  cleanups.push(() => store.close());
  return store;
}

function seed(store: Store): void {
  store.datasets.upsert({ id: 'd1', name: 'D', kind: 'imported', source: '/d', count: 10, width: 7, height: 7, channels: 1, labels: null, createdAt: 1 });
  store.runs.create({ id: 'r1', name: 'R', datasetId: 'd1', config: TrainConfigSchema.parse({}), appVersion: '0', ownerPid: 1 });
}

const step = (s: number, over: Partial<StepPoint> = {}): StepPoint => ({
  step: s,
  epoch: 1,
  loss: 10 - s,
  recon: 8 - s,
  kl: 2,
  negElbo: 10 - s,
  samplesPerSec: 100,
  timeMs: s * 10,
  ...over,
});

const epoch = (e: number, over: Partial<EpochPoint> = {}): EpochPoint => ({
  epoch: e,
  step: e * 10,
  loss: 5,
  recon: 4,
  kl: 1,
  negElbo: 5,
  valNegElbo: 6,
  valRecon: 5,
  valKl: 1,
  bitsPerDim: 5 / (49 * Math.LN2),
  durationMs: 12,
  ...over,
});

test('steps keep beta, lr and the gradient norm, downsampled like the losses; older points stay without them', () => {
  const store = open(tmp());
  seed(store);
  const points = [1, 2, 3, 4, 5].map((s) => step(s, { beta: s / 10, lr: 1e-3 * s, gradNorm: 2 * s }));
  store.metrics.appendSteps('r1', [...points, step(6)]);
  const all = store.metrics.steps('r1', 100).points;
  assert.deepEqual(all, [...points, step(6)]);
  assert.ok(!('beta' in all[5]!), 'a point without the fields has no such keys');
  // 3 points: steps 1-5 fall into 2 buckets, {1, 2, 3} and {4, 5}; then the last step as stored.
  const down = store.metrics.steps('r1', 3).points;
  assert.equal(down.length, 3);
  assert.ok(Math.abs(down[0]!.beta! - 0.2) < 1e-12);
  assert.ok(Math.abs(down[0]!.gradNorm! - 4) < 1e-12);
  assert.ok(Math.abs(down[1]!.lr! - 4.5e-3) < 1e-12);
});

test('epochs keep the optional fields, the latest epoch in the run summary too', () => {
  const store = open(tmp());
  seed(store);
  const rich = epoch(2, {
    valBitsPerDim: 6 / (49 * Math.LN2),
    klPerDim: [0.5, 0.25, 0.25, 0],
    activeUnits: 3,
    collapseWarning: false,
    sigma: 0.0412,
    beta: 1,
    lr: 5e-4,
    stopReason: 'earlyStopping',
  });
  store.metrics.appendEpoch('r1', epoch(1));
  store.metrics.appendEpoch('r1', rich);
  assert.deepEqual(store.metrics.epochs('r1'), [epoch(1), rich]);
  assert.deepEqual(store.runs.get('r1')?.last, rich);
});

test('migration 2 upgrades a version-1 history in place: old rows survive and read as before', () => {
  const dir = tmp();
  const file = path.join(dir, 'history.sqlite');
  const db = new Database(file);
  migrate(db, MIGRATIONS.slice(0, 1));
  db.exec(`
    INSERT INTO datasets VALUES ('d1', 'D', 'imported', '/d', 10, 7, 7, 1, NULL, NULL, NULL, 1);
    INSERT INTO runs (id, name, dataset_id, status, config, seed, app_version, created_at)
      VALUES ('r1', 'R', 'd1', 'completed', '{}', 1, '0', 1);
    INSERT INTO step_metrics VALUES ('r1', 1, 1, 9, 7, 2, 9, 100, 10);
    INSERT INTO epoch_metrics VALUES ('r1', 1, 10, 5, 4, 1, 5, 6, 5, 1, ${5 / (49 * Math.LN2)}, 12);
  `);
  assert.deepEqual(migrate(db, MIGRATIONS.slice(0, 2)), { from: 1, to: 2 });
  assert.equal(userVersion(db), 2);
  assert.throws(() => db.prepare(`UPDATE epoch_metrics SET extra = 'not json'`).run(), /CHECK constraint failed/);
  db.close();

  const store = open(dir);
  assert.deepEqual(store.metrics.steps('r1', 10).points, [step(1, { loss: 9, recon: 7, negElbo: 9 })]);
  assert.deepEqual(store.metrics.epochs('r1'), [epoch(1)]);
});

test('migration 3 adds notes and tags to existing runs, empty, and refuses tags that are not a JSON array', () => {
  const dir = tmp();
  const db = new Database(path.join(dir, 'history.sqlite'));
  migrate(db, MIGRATIONS.slice(0, 2));
  db.exec(`
    INSERT INTO datasets VALUES ('d1', 'D', 'imported', '/d', 10, 7, 7, 1, NULL, NULL, NULL, 1);
    INSERT INTO runs (id, name, dataset_id, status, config, seed, app_version, created_at)
      VALUES ('r1', 'R', 'd1', 'completed', '{}', 1, '0', 1);
  `);
  assert.deepEqual(migrate(db, MIGRATIONS.slice(0, 3)), { from: 2, to: 3 });
  assert.throws(() => db.prepare(`UPDATE runs SET tags = '{"a":1}'`).run(), /CHECK constraint failed/);
  db.close();
  const store = open(dir);
  const r = store.runs.get('r1')!;
  assert.equal(r.notes, '');
  assert.deepEqual(r.tags, []);
  store.runs.update('r1', { notes: 'lr too high', tags: ['baseline', 'fmnist'], name: 'Renamed' });
  const u = store.runs.get('r1')!;
  assert.deepEqual([u.name, u.notes, u.tags], ['Renamed', 'lr too high', ['baseline', 'fmnist']]);
});
