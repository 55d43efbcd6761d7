/**
 * The run history against real SQLite files, each test in a fresh temporary folder.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import {
  ACTIVE_STATUSES,
  RUN_STATUSES,
  StudioError,
  TrainConfigSchema,
  type EpochPoint,
  type StepPoint,
} from '../../../src-main/contract/index.ts';
import {
  HISTORY_FILE,
  MIGRATIONS,
  SCHEMA_VERSION,
  migrate,
  openStore,
  userVersion,
  type Migration,
  type Store,
} from '../../../src-main/store/index.ts';

const T0 = 1_700_000_000_000;
const TABLES = ['checkpoints', 'datasets', 'epoch_metrics', 'runs', 'step_metrics'];

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanups.splice(0).reverse()) f();
});

function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vae-store-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A clock the test moves by hand. */
function clock(start = T0) {
  let t = start;
  const now = () => t;
  now.set = (v: number) => {
    t = v;
  };
  return now;
}

function open(dataDir: string, now?: () => number): Store {
  const store = openStore(now ? { dataDir, now } : { dataDir });
  cleanups.push(() => store.close());
  return store;
}

function raw(file: string, readonly = false): Database.Database {
  const db = new Database(file, { readonly, fileMustExist: true });
  cleanups.push(() => db.open && db.close());
  return db;
}

function dataset(id: string, over: Partial<Parameters<Store['datasets']['upsert']>[0]> = {}) {
  return {
    id,
    name: `Dataset ${id}`,
    kind: 'imported' as const,
    source: `/data/${id}`,
    count: 100,
    width: 28,
    height: 28,
    channels: 1,
    labels: null,
    createdAt: T0,
    ...over,
  };
}

const config = TrainConfigSchema.parse({
  model: { hidden: [512, 256], latentDim: 2, activation: 'elu' },
  likelihood: 'gaussian',
  gaussianSigma: 0.05,
  beta: 4,
  optimizer: { name: 'rmsprop', learningRate: 3e-4 },
  batchSize: 64,
  epochs: 3,
  seed: 1234,
});

function newRun(store: Store, id: string, datasetId = 'd1', ownerPid = 1000) {
  return store.runs.create({ id, name: `Run ${id}`, datasetId, config, appVersion: '0.1.0', ownerPid });
}

function stepPoint(step: number, over: Partial<StepPoint> = {}): StepPoint {
  return {
    step,
    epoch: Math.floor(step / 100),
    loss: 200 - step * 0.1,
    recon: 180 - step * 0.05,
    kl: 20 + Math.sin(step),
    negElbo: 200 - step * 0.07,
    samplesPerSec: 1000 + (step % 13),
    timeMs: step * 7.5,
    ...over,
  };
}

function epochPoint(epoch: number, over: Partial<EpochPoint> = {}): EpochPoint {
  return {
    epoch,
    step: (epoch + 1) * 100,
    loss: 150 - epoch,
    recon: 130 - epoch,
    kl: 20,
    negElbo: 150 - epoch,
    valNegElbo: 155 - epoch,
    valRecon: 134 - epoch,
    valKl: 21,
    bitsPerDim: (150 - epoch) / (784 * Math.LN2),
    durationMs: 1234.5,
    ...over,
  };
}

function isStudioError(code: string, message?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof StudioError, `expected a StudioError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  };
}

function tableNames(db: Database.Database): string[] {
  return db
    .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name`)
    .pluck()
    .all() as string[];
}

function filesIn(dir: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]),
  );
}

describe('schema and migrations', () => {
  test('an empty folder gets a database at SCHEMA_VERSION with STRICT tables', () => {
    const dir = path.join(tmp(), 'nested', 'data');
    const store = open(dir);
    assert.equal(store.path, path.join(dir, HISTORY_FILE));
    assert.equal(store.recovered, null);
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
    store.close();

    const db = raw(store.path);
    assert.equal(userVersion(db), SCHEMA_VERSION);
    assert.deepEqual(tableNames(db), TABLES);
    const list = db.prepare(`SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite%'`).all() as {
      name: string;
      strict: number;
    }[];
    assert.equal(list.length, TABLES.length);
    for (const t of list) assert.equal(t.strict, 1, `${t.name} is STRICT`);
    for (const sql of db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table'`).pluck().all() as string[]) {
      assert.match(sql, /\)\s*STRICT(, WITHOUT ROWID)?$/);
    }
    // A STRICT table refuses a value of the wrong type instead of storing it.
    db.pragma('foreign_keys = OFF');
    assert.throws(
      () => db.prepare(`INSERT INTO step_metrics (run_id, step, epoch, time_ms) VALUES ('r', 'three', 0, 0)`).run(),
      (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_DATATYPE',
    );
    assert.throws(
      () => db.prepare(`INSERT INTO datasets VALUES ('d', 'n', 'imported', 's', 1.5, 1, 1, 1, NULL, NULL, NULL, 0)`).run(),
      (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_DATATYPE',
    );
  });

  test('migration 1 on a version-0 database without tables creates exactly the expected tables', () => {
    const file = path.join(tmp(), 'm.sqlite');
    const db = new Database(file);
    cleanups.push(() => db.close());
    assert.equal(userVersion(db), 0);
    assert.deepEqual(tableNames(db), []);
    const result = migrate(db, MIGRATIONS.slice(0, 1));
    assert.deepEqual(result, { from: 0, to: 1 });
    assert.equal(userVersion(db), 1);
    assert.deepEqual(tableNames(db), TABLES);
    const indexes = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).pluck().all();
    assert.deepEqual(indexes, ['datasets_list', 'runs_active', 'runs_dataset', 'runs_list']);
    const withoutRowid = db.prepare(`SELECT name FROM pragma_table_list WHERE wr = 1 ORDER BY name`).pluck().all();
    assert.deepEqual(withoutRowid, ['checkpoints', 'epoch_metrics', 'step_metrics']);
    // Applying the same list again is a no-op.
    assert.deepEqual(migrate(db, MIGRATIONS.slice(0, 1)), { from: 1, to: 1 });
  });

  test('a failing migration rolls back its schema changes and its version bump together', () => {
    const file = path.join(tmp(), 'm.sqlite');
    const db = new Database(file);
    cleanups.push(() => db.close());
    const failing: Migration = {
      version: 2,
      name: 'fails-half-way',
      up(d) {
        d.exec('CREATE TABLE half_done (x INTEGER) STRICT');
        throw new Error('boom');
      },
    };
    assert.throws(() => migrate(db, [MIGRATIONS[0]!, failing]), /boom/);
    assert.equal(userVersion(db), 1);
    assert.deepEqual(tableNames(db), TABLES);
    assert.throws(
      () => migrate(db, [{ ...failing, version: 3 }]),
      isStudioError('INTERNAL', /position 1 but says version 3/),
    );
  });

  test('a version-0 file that already holds tables is refused, not migrated into', () => {
    const dir = tmp();
    const file = path.join(dir, HISTORY_FILE);
    const db = new Database(file);
    db.exec('CREATE TABLE notes (body TEXT)');
    db.close();
    const before = fs.readFileSync(file);
    assert.throws(() => openStore({ dataDir: dir }), isStudioError('CONFLICT', /not a VAE Studio history.*notes/));
    assert.deepEqual(fs.readFileSync(file), before);
  });

  test('WAL journaling and a busy timeout let another process hold the write lock meanwhile', async () => {
    const dir = tmp();
    const store = open(dir);
    store.datasets.upsert(dataset('d1'));
    // WAL is persistent: another connection sees it in the file, and the -wal file exists while open.
    assert.equal(raw(store.path, true).pragma('journal_mode', { simple: true }), 'wal');
    assert.ok(fs.existsSync(`${store.path}-wal`));

    // A second process takes the write lock and holds it for a while; the store's write must wait
    // for it (busy_timeout) instead of failing at once with SQLITE_BUSY.
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const D = require(${JSON.stringify(sqlite)});
         const db = new D(${JSON.stringify(store.path)});
         db.exec('BEGIN IMMEDIATE');
         db.prepare("UPDATE datasets SET name = 'from the other process' WHERE id = 'd1'").run();
         process.stdout.write('locked\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
         db.exec('COMMIT');
         db.close();`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => b.toString().includes('locked') && resolve());
      child.on('exit', () => reject(new Error('the locking process ended early')));
    });
    store.datasets.upsert(dataset('d2'));
    assert.equal(await exited, 0);
    assert.equal(store.datasets.get('d1')?.name, 'from the other process');
    assert.equal(store.datasets.get('d2')?.name, 'Dataset d2');
  });

  test('the list queries walk their indexes instead of sorting', () => {
    const store = open(tmp());
    store.close();
    const db = raw(store.path, true);
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
    const datasets = plan(`SELECT id FROM datasets ORDER BY (kind = 'builtin') DESC, created_at DESC, id`);
    assert.match(datasets, /datasets_list/);
    assert.doesNotMatch(datasets, /TEMP B-TREE/);
    const runs = plan(`SELECT id FROM runs r ORDER BY r.created_at DESC, r.rowid DESC`);
    assert.match(runs, /runs_list/);
    assert.doesNotMatch(runs, /TEMP B-TREE/);
    assert.match(plan(`SELECT id FROM runs WHERE status IN ('queued', 'running')`), /runs_active/);
    // The SQL above spells out the active statuses; keep it in step with the contract.
    assert.deepEqual([...ACTIVE_STATUSES], ['queued', 'running']);
  });

  test('nativeBinding is handed to better-sqlite3', () => {
    const dir = tmp();
    const addon = path.join(path.dirname(createRequire(import.meta.url).resolve('better-sqlite3')), '..', 'build', 'Release', 'better_sqlite3.node');
    assert.ok(fs.existsSync(addon));
    const store = openStore({ dataDir: dir, nativeBinding: addon });
    cleanups.push(() => store.close());
    store.datasets.upsert(dataset('d1'));
    assert.equal(store.datasets.list().length, 1);
    const missing = path.join(dir, 'no-such-addon.node');
    assert.throws(() => openStore({ dataDir: tmp(), nativeBinding: missing }), (e: Error) => e.message.includes(missing));
  });
});

describe('files the studio cannot use', () => {
  test('a database from a newer studio is refused with DB_NEWER and left byte for byte as it was', () => {
    const dir = tmp();
    open(dir).close();
    const db = new Database(path.join(dir, HISTORY_FILE));
    db.pragma('user_version = 999');
    db.close();
    const before = filesIn(dir);
    assert.throws(
      () => openStore({ dataDir: dir }),
      (e: unknown) => {
        assert.ok(e instanceof StudioError);
        assert.equal(e.code, 'DB_NEWER');
        assert.ok(e.message.includes(path.join(dir, HISTORY_FILE)), e.message);
        assert.match(e.message, new RegExp(`version 999\\b.*up to version ${SCHEMA_VERSION}\\b`));
        assert.match(e.message, /update the studio/);
        return true;
      },
    );
    // Same files, same bytes: nothing moved aside, rewritten or checkpointed.
    const after = filesIn(dir);
    assert.equal(after[HISTORY_FILE], before[HISTORY_FILE]);
    assert.deepEqual(Object.keys(after).filter((f) => f.includes('corrupt')), []);
  });

  test('random bytes are moved aside with their -wal, intact, and a fresh database is created', () => {
    const dir = tmp();
    const file = path.join(dir, HISTORY_FILE);
    const junk = randomBytes(8192);
    const junkWal = randomBytes(4096);
    fs.writeFileSync(file, junk);
    fs.writeFileSync(`${file}-wal`, junkWal);
    const now = clock(Date.UTC(2025, 0, 2, 3, 4, 5, 6));
    // A file already bearing the name the move would pick must not be replaced.
    const taken = `${file}.corrupt-2025-01-02T03-04-05-006Z`;
    fs.writeFileSync(taken, 'an earlier casualty');

    const store = open(dir, now);
    assert.ok(store.recovered);
    assert.equal(store.recovered.movedTo, `${taken}-2`);
    assert.match(store.recovered.reason, /NOTADB/);
    assert.deepEqual(fs.readFileSync(store.recovered.movedTo), junk);
    assert.deepEqual(fs.readFileSync(`${store.recovered.movedTo}-wal`), junkWal);
    assert.equal(fs.readFileSync(taken, 'utf8'), 'an earlier casualty');

    store.datasets.upsert(dataset('d1'));
    newRun(store, 'r1');
    assert.deepEqual(store.runs.list().map((r) => r.id), ['r1']);
    store.close();
    assert.equal(userVersion(raw(file, true)), SCHEMA_VERSION);
  });

  test('a truncated real database is moved aside intact and replaced by a working empty one', () => {
    const dir = tmp();
    const first = open(dir);
    first.datasets.upsert(dataset('d1'));
    newRun(first, 'r1');
    first.metrics.appendSteps('r1', Array.from({ length: 3000 }, (_, i) => stepPoint(i + 1)));
    first.close();
    const file = path.join(dir, HISTORY_FILE);
    const whole = fs.readFileSync(file);
    assert.ok(whole.length > 64 * 1024);
    const truncated = whole.subarray(0, Math.floor(whole.length / 2));
    fs.writeFileSync(file, truncated);

    const store = open(dir);
    assert.ok(store.recovered);
    assert.match(store.recovered.movedTo, /history\.sqlite\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/);
    assert.match(store.recovered.reason, /CORRUPT|quick_check/);
    assert.deepEqual(fs.readFileSync(store.recovered.movedTo), truncated);
    assert.deepEqual(store.runs.list(), []);
    store.datasets.upsert(dataset('d1'));
    newRun(store, 'r2');
    assert.equal(store.runs.get('r2')?.status, 'queued');
  });

  test('damage that only quick_check sees (a garbled index page) also triggers the move', () => {
    const dir = tmp();
    const first = open(dir);
    first.datasets.upsert(dataset('d1'));
    newRun(first, 'r1');
    first.close();
    const file = path.join(dir, HISTORY_FILE);
    const db = raw(file, true);
    const root = db.prepare(`SELECT rootpage FROM sqlite_schema WHERE name = 'runs_dataset'`).pluck().get() as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    // Opening and reading the version still work on this file: only the integrity check fails.
    assert.equal(userVersion(db), SCHEMA_VERSION);
    db.close();
    const bytes = fs.readFileSync(file);
    bytes.fill(0x55, (root - 1) * pageSize, root * pageSize);
    fs.writeFileSync(file, bytes);

    const store = open(dir);
    assert.ok(store.recovered);
    assert.match(store.recovered.reason, /^quick_check failed: .*page/);
    assert.deepEqual(fs.readFileSync(store.recovered.movedTo), bytes);
    assert.deepEqual(store.runs.list(), []);
  });
});

describe('datasets', () => {
  test('upsert, list order (builtins first, then newest), labels, data path and fingerprint', () => {
    const store = open(tmp());
    store.datasets.upsert(dataset('old', { createdAt: T0 + 1, dataPath: '/d/old.u8', fingerprint: 'abc' }));
    store.datasets.upsert(dataset('new', { createdAt: T0 + 5, labels: ['zero', 'one', 'ü "quoted"'] }));
    store.datasets.upsert(dataset('digits', { kind: 'builtin', source: 'builtin:digits', createdAt: T0 }));
    assert.deepEqual(store.datasets.list().map((d) => d.id), ['digits', 'new', 'old']);
    assert.deepEqual(store.datasets.get('new'), {
      id: 'new',
      name: 'Dataset new',
      kind: 'imported',
      source: '/data/new',
      count: 100,
      width: 28,
      height: 28,
      channels: 1,
      labels: ['zero', 'one', 'ü "quoted"'],
      createdAt: T0 + 5,
    });
    assert.equal(store.datasets.get('nope'), undefined);
    assert.equal(store.datasets.dataPath('old'), '/d/old.u8');
    assert.equal(store.datasets.dataPath('digits'), null);
    assert.equal(store.datasets.dataPath('nope'), null);

    // A second upsert replaces the fields but keeps the first createdAt; an omitted dataPath is kept.
    store.datasets.upsert(dataset('old', { name: 'Renamed', count: 7, createdAt: T0 + 99 }));
    const old = store.datasets.get('old');
    assert.equal(old?.name, 'Renamed');
    assert.equal(old?.count, 7);
    assert.equal(old?.createdAt, T0 + 1);
    assert.equal(store.datasets.dataPath('old'), '/d/old.u8');
    store.datasets.upsert(dataset('old', { dataPath: null }));
    assert.equal(store.datasets.dataPath('old'), null);
    // Objects returned to callers carry only the contract's fields.
    assert.deepEqual(Object.keys(store.datasets.list()[0]!).sort(), Object.keys(dataset('x')).sort());
  });

  test('createdAt defaults to the clock', () => {
    const now = clock(T0 + 42);
    const store = open(tmp(), now);
    const { createdAt: _, ...rest } = dataset('d1');
    store.datasets.upsert(rest);
    assert.equal(store.datasets.get('d1')?.createdAt, T0 + 42);
  });

  test('a dataset used by a run cannot be deleted; once its runs are gone it can', () => {
    const store = open(tmp());
    store.datasets.upsert(dataset('d1'));
    newRun(store, 'r1');
    newRun(store, 'r2');
    assert.throws(() => store.datasets.delete('d1'), isStudioError('CONFLICT', /used by 2 runs/));
    assert.ok(store.datasets.get('d1'));
    store.runs.delete('r1');
    store.runs.delete('r2');
    store.datasets.delete('d1');
    assert.equal(store.datasets.get('d1'), undefined);
    assert.throws(() => store.datasets.delete('d1'), isStudioError('NOT_FOUND'));
  });
});

describe('runs', () => {
  test('create and get round-trip every field, the config included', () => {
    const now = clock();
    const store = open(tmp(), now);
    store.datasets.upsert(dataset('d1'));
    const created = newRun(store, 'r1', 'd1', 4321);
    const expected = {
      id: 'r1',
      name: 'Run r1',
      datasetId: 'd1',
      datasetName: 'Dataset d1',
      status: 'queued',
      config,
      seed: 1234,
      backend: null,
      device: null,
      appVersion: '0.1.0',
      tfjsVersion: null,
      createdAt: T0,
      startedAt: null,
      finishedAt: null,
      error: null,
      epochsDone: 0,
      last: null,
      notes: '',
      tags: [],
      paused: false,
    };
    assert.deepEqual(created, expected);
    assert.deepEqual(store.runs.get('r1'), expected);
    assert.equal(store.runs.get('nope'), undefined);
    assert.throws(() => newRun(store, 'r1'), isStudioError('CONFLICT', /already exists/));
    assert.throws(() => newRun(store, 'r9', 'missing'), isStudioError('NOT_FOUND', /missing/));
  });

  test('status and field updates', () => {
    const store = open(tmp());
    store.datasets.upsert(dataset('d1'));
    newRun(store, 'r1');
    store.runs.update('r1', { status: 'running', startedAt: T0 + 10, backend: 'wasm', device: 'cpu (2 threads)', tfjsVersion: '4.22.0', trainerPid: 777 });
    let r = store.runs.get('r1')!;
    assert.equal(r.status, 'running');
    assert.equal(r.startedAt, T0 + 10);
    assert.equal(r.backend, 'wasm');
    assert.equal(r.device, 'cpu (2 threads)');
    assert.equal(r.tfjsVersion, '4.22.0');
    // undefined fields are left alone; null clears.
    store.runs.update('r1', { status: 'failed', error: 'out of memory', finishedAt: T0 + 20, startedAt: undefined });
    r = store.runs.get('r1')!;
    assert.deepEqual([r.status, r.error, r.finishedAt, r.startedAt], ['failed', 'out of memory', T0 + 20, T0 + 10]);
    store.runs.update('r1', { error: null });
    assert.equal(store.runs.get('r1')!.error, null);
    for (const status of RUN_STATUSES) {
      store.runs.update('r1', { status });
      assert.equal(store.runs.get('r1')!.status, status);
    }
    assert.throws(() => store.runs.update('nope', { status: 'stopped' }), isStudioError('NOT_FOUND'));
    assert.throws(() => store.runs.update('nope', {}), isStudioError('NOT_FOUND'));
    assert.throws(() => store.runs.update('r1', { status: 'paused' as never }), isStudioError('INVALID_INPUT'));
    store.close();
    // The CHECK constraint holds for any writer, not only this code.
    const db = raw(store.path);
    assert.throws(
      () => db.prepare(`UPDATE runs SET status = 'paused' WHERE id = 'r1'`).run(),
      (e: { code?: string }) => e.code === 'SQLITE_CONSTRAINT_CHECK',
    );
  });

  test('list: newest first, ties in reverse creation order, with dataset name and the latest epoch', () => {
    const now = clock();
    const store = open(tmp(), now);
    store.datasets.upsert(dataset('d1', { name: 'Digits' }));
    store.datasets.upsert(dataset('d2', { name: 'Faces' }));
    newRun(store, 'a', 'd1');
    now.set(T0 + 100);
    newRun(store, 'b', 'd2');
    newRun(store, 'c', 'd1'); // same millisecond as b
    now.set(T0 + 50);
    newRun(store, 'd', 'd1'); // created "earlier" by the clock
    assert.deepEqual(store.runs.list().map((r) => r.id), ['c', 'b', 'd', 'a']);

    store.metrics.appendEpoch('b', epochPoint(0));
    store.metrics.appendEpoch('b', epochPoint(2, { valNegElbo: null, valRecon: null, valKl: null }));
    store.metrics.appendEpoch('b', epochPoint(1));
    const b = store.runs.list().find((r) => r.id === 'b')!;
    assert.equal(b.datasetName, 'Faces');
    assert.equal(b.epochsDone, 3);
    assert.deepEqual(b.last, epochPoint(2, { valNegElbo: null, valRecon: null, valKl: null }));
    assert.deepEqual(store.runs.get('b'), b);
    assert.equal(store.runs.get('a')!.last, null);
  });

  test('markInterrupted ends the active runs whose owner is gone, and only those', () => {
    const now = clock();
    const store = open(tmp(), now);
    store.datasets.upsert(dataset('d1'));
    newRun(store, 'alive-running', 'd1', 100);
    newRun(store, 'dead-running', 'd1', 200);
    newRun(store, 'dead-queued', 'd1', 200);
    newRun(store, 'dead-completed', 'd1', 200);
    newRun(store, 'no-owner', 'd1', 300);
    store.runs.update('alive-running', { status: 'running' });
    store.runs.update('dead-running', { status: 'running', startedAt: T0 });
    store.runs.update('dead-completed', { status: 'completed', finishedAt: T0 + 1 });
    store.runs.update('no-owner', { status: 'running', ownerPid: null });

    now.set(T0 + 5000);
    const asked: number[] = [];
    const isAlive = (pid: number) => {
      asked.push(pid);
      return pid === 100;
    };
    const ids = store.runs.markInterrupted(isAlive);
    assert.deepEqual(ids.sort(), ['dead-queued', 'dead-running', 'no-owner']);
    assert.deepEqual([...new Set(asked)].sort(), [100, 200]);
    for (const id of ['dead-running', 'dead-queued']) {
      const r = store.runs.get(id)!;
      assert.equal(r.status, 'interrupted');
      assert.equal(r.finishedAt, T0 + 5000);
      assert.match(r.error ?? '', /pid 200/);
    }
    assert.match(store.runs.get('no-owner')!.error ?? '', /no studio process/);
    assert.equal(store.runs.get('alive-running')!.status, 'running');
    assert.equal(store.runs.get('dead-completed')!.status, 'completed');
    assert.equal(store.runs.get('dead-completed')!.finishedAt, T0 + 1);
    assert.deepEqual(store.runs.markInterrupted(isAlive), []);
  });

  test('deleting a run cascades to its metrics and checkpoints, not to other runs', () => {
    const store = open(tmp());
    store.datasets.upsert(dataset('d1'));
    for (const id of ['gone', 'kept']) {
      newRun(store, id);
      store.metrics.appendSteps(id, [stepPoint(1), stepPoint(2), stepPoint(3)]);
      store.metrics.appendEpoch(id, epochPoint(0));
      store.checkpoints.add({ runId: id, epoch: 0, step: 3, path: `/ck/${id}/0`, bytes: 1024, createdAt: T0 });
    }
    store.runs.delete('gone');
    assert.equal(store.runs.get('gone'), undefined);
    assert.throws(() => store.runs.delete('gone'), isStudioError('NOT_FOUND'));
    store.close();
    const db = raw(store.path, true);
    for (const table of ['step_metrics', 'epoch_metrics', 'checkpoints']) {
      const counts = db.prepare(`SELECT run_id, count(*) AS n FROM ${table} GROUP BY run_id ORDER BY run_id`).all();
      assert.deepEqual(counts, [{ run_id: 'kept', n: table === 'step_metrics' ? 3 : 1 }], table);
    }
  });

  test('transaction: all or nothing, nested calls included', () => {
    const store = open(tmp());
    store.datasets.upsert(dataset('d1'));
    assert.throws(() =>
      store.transaction(() => {
        newRun(store, 'r1');
        store.transaction(() => store.metrics.appendSteps('r1', [stepPoint(1)]));
        throw new Error('abort');
      }),
    );
    assert.equal(store.runs.get('r1'), undefined);
    const value = store.transaction(() => {
      newRun(store, 'r2');
      return 'done';
    });
    assert.equal(value, 'done');
    assert.ok(store.runs.get('r2'));
  });
});

describe('metrics', () => {
  /** Expected downsampling, computed directly from the definition in MetricsRepo.steps. */
  function downsample(points: StepPoint[], maxPoints: number): StepPoint[] {
    const sorted = [...points].sort((a, b) => a.step - b.step);
    if (sorted.length <= maxPoints) return sorted;
    const last = sorted[sorted.length - 1]!;
    const lo = sorted[0]!.step;
    const hi = last.step;
    const buckets = maxPoints - 1;
    const groups = new Map<number, StepPoint[]>();
    for (const p of sorted.slice(0, -1)) {
      const b = Math.floor(((p.step - lo) * buckets) / (hi - lo));
      groups.set(b, [...(groups.get(b) ?? []), p]);
    }
    const fields = ['step', 'epoch', 'loss', 'recon', 'kl', 'negElbo', 'samplesPerSec', 'timeMs'] as const;
    const means = [...groups.keys()]
      .sort((a, b) => a - b)
      .map((b) => {
        const g = groups.get(b)!;
        const out = {} as StepPoint;
        for (const f of fields) out[f] = g.reduce((s, p) => s + p[f], 0) / g.length;
        return out;
      });
    return [...means, last];
  }

  function assertClose(actual: StepPoint[], expected: StepPoint[]) {
    assert.equal(actual.length, expected.length);
    actual.forEach((a, i) => {
      const e = expected[i]!;
      assert.deepEqual(Object.keys(a).sort(), Object.keys(e).sort(), `point ${i}: fields`);
      for (const k of Object.keys(e) as (keyof StepPoint)[]) {
        const [av, ev] = [a[k] as number, e[k] as number];
        if (Number.isNaN(ev)) assert.ok(Number.isNaN(av), `point ${i} ${k}: expected NaN, got ${av}`);
        else assert.ok(Math.abs(av - ev) <= 1e-9 * Math.max(1, Math.abs(ev)), `point ${i} ${k}: ${av} vs ${ev}`);
      }
    });
  }

  test('below maxPoints every step comes back as stored; appending a stored step replaces it', () => {
    const store = open(tmp());
    store.datasets.upsert(dataset('d1'));
    newRun(store, 'r1');
    const points = [3, 1, 2].map((s) => stepPoint(s));
    store.metrics.appendSteps('r1', points);
    store.metrics.appendSteps('r1', [stepPoint(2, { loss: -1 })]);
    const { points: got, total } = store.metrics.steps('r1', 10);
    assert.equal(total, 3);
    assert.deepEqual(got, [stepPoint(1), stepPoint(2, { loss: -1 }), stepPoint(3)]);
    assert.deepEqual(store.metrics.steps('r1', 3).points, got);
    assert.deepEqual(store.metrics.steps('nope', 10), { points: [], total: 0 });
    assert.throws(() => store.metrics.appendSteps('nope', [stepPoint(1)]), isStudioError('NOT_FOUND'));
    assert.throws(() => store.metrics.steps('r1', 0), isStudioError('INVALID_INPUT'));
  });

  test('a linear loss downsamples to the line at each bucket centre, and the last step is kept', () => {
    const store = open(tmp());
    store.datasets.upsert(dataset('d1'));
    newRun(store, 'r1');
    // Steps 1..1001: the 1000 before the last fall into 100 buckets of exactly 10 steps, and a
    // quantity linear in the step has bucket mean = the line at the mean step (k*10 + 5.5).
    const points = Array.from({ length: 1001 }, (_, i) => stepPoint(i + 1, { loss: 3 * (i + 1) + 2, epoch: Math.floor(i / 250) }));
    store.metrics.appendSteps('r1', points);
    const { points: got, total } = store.metrics.steps('r1', 101);
    assert.equal(total, 1001);
    assert.equal(got.length, 101);
    for (let k = 0; k < 100; k++) {
      const centre = k * 10 + 5.5;
      assert.equal(got[k]!.step, centre);
      assert.equal(got[k]!.loss, 3 * centre + 2);
      assert.equal(got[k]!.timeMs, centre * 7.5);
    }
    assert.deepEqual(got[100], points[1000]);
  });

  test('uneven steps: bucket means match an independent computation; NaN poisons only its bucket', () => {
    const store = open(tmp());
    store.datasets.upsert(dataset('d1'));
    newRun(store, 'r1');
    // Gaps in the step numbers, noisy values, stored in shuffled batches.
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const points: StepPoint[] = [];
    for (let s = 5; s <= 2000; s += 1 + Math.floor(rand() * 4)) {
      points.push(stepPoint(s, { loss: 100 * rand(), kl: rand(), samplesPerSec: 1000 * rand() }));
    }
    points[17] = { ...points[17]!, loss: Number.NaN };
    points.push(stepPoint(2003, { loss: 1.25 }));
    const shuffled = [...points].sort(() => rand() - 0.5);
    for (let i = 0; i < shuffled.length; i += 97) store.metrics.appendSteps('r1', shuffled.slice(i, i + 97));

    for (const maxPoints of [2, 7, 50, 333]) {
      const { points: got, total } = store.metrics.steps('r1', maxPoints);
      assert.equal(total, points.length);
      assert.ok(got.length <= maxPoints);
      const expected = downsample(points, maxPoints);
      assertClose(got, expected);
      assert.deepEqual(got.at(-1), stepPoint(2003, { loss: 1.25 }));
      // Only the bucket holding the NaN step is NaN.
      assert.equal(got.filter((p) => Number.isNaN(p.loss)).length, 1);
      assert.ok(got.every((p) => !Number.isNaN(p.kl)));
    }
    const one = store.metrics.steps('r1', 1);
    assert.deepEqual(one.points, [stepPoint(2003, { loss: 1.25 })]);
  });

  test('epochs and checkpoints in order; NaN losses survive the round trip', () => {
    const store = open(tmp());
    store.datasets.upsert(dataset('d1'));
    newRun(store, 'r1');
    store.metrics.appendEpoch('r1', epochPoint(1, { loss: Number.NaN, negElbo: Number.POSITIVE_INFINITY }));
    store.metrics.appendEpoch('r1', epochPoint(0));
    store.metrics.appendEpoch('r1', epochPoint(0, { kl: 19 }));
    const epochs = store.metrics.epochs('r1');
    assert.deepEqual(epochs, [epochPoint(0, { kl: 19 }), epochPoint(1, { loss: Number.NaN, negElbo: Number.POSITIVE_INFINITY })]);
    assert.throws(() => store.metrics.appendEpoch('nope', epochPoint(0)), isStudioError('NOT_FOUND'));

    store.checkpoints.add({ runId: 'r1', epoch: 1, step: 200, path: '/ck/1', bytes: 2048, createdAt: T0 + 2 });
    store.checkpoints.add({ runId: 'r1', epoch: 0, step: 100, path: '/ck/0', bytes: 1024, createdAt: T0 + 1 });
    assert.deepEqual(store.checkpoints.list('r1'), [
      { runId: 'r1', epoch: 0, step: 100, path: '/ck/0', bytes: 1024, createdAt: T0 + 1 },
      { runId: 'r1', epoch: 1, step: 200, path: '/ck/1', bytes: 2048, createdAt: T0 + 2 },
    ]);
    assert.throws(
      () => store.checkpoints.add({ runId: 'nope', epoch: 0, step: 0, path: '/x', bytes: 0, createdAt: T0 }),
      isStudioError('NOT_FOUND'),
    );
  });
});

test('everything persists across close and reopen', () => {
  const dir = tmp();
  const now = clock();
  const first = open(dir, now);
  first.datasets.upsert(dataset('d1', { dataPath: '/d/1.u8', labels: ['a', 'b'] }));
  newRun(first, 'r1');
  first.runs.update('r1', { status: 'completed', finishedAt: T0 + 9 });
  first.metrics.appendSteps('r1', [stepPoint(1), stepPoint(2)]);
  first.metrics.appendEpoch('r1', epochPoint(0));
  first.checkpoints.add({ runId: 'r1', epoch: 0, step: 2, path: '/ck', bytes: 10, createdAt: T0 });
  const snapshot = {
    datasets: first.datasets.list(),
    runs: first.runs.list(),
    steps: first.metrics.steps('r1', 100),
    epochs: first.metrics.epochs('r1'),
    checkpoints: first.checkpoints.list('r1'),
  };
  first.close();
  first.close(); // idempotent
  assert.ok(!fs.existsSync(`${first.path}-wal`), 'the last close folds the WAL back');

  const second = open(dir, now);
  assert.equal(second.recovered, null);
  assert.deepEqual(
    {
      datasets: second.datasets.list(),
      runs: second.runs.list(),
      steps: second.metrics.steps('r1', 100),
      epochs: second.metrics.epochs('r1'),
      checkpoints: second.checkpoints.list('r1'),
    },
    snapshot,
  );
  assert.equal(second.datasets.dataPath('d1'), '/d/1.u8');
  assert.equal(snapshot.runs[0]?.config.model.latentDim, 2);
});
