/**
 * Million-step charts (`npm run bench:metrics`): how long runs.metrics takes, through the studio's
 * dispatch (validation, handler, SQLite, JSON-ready answer), for a run of 1,000,000 steps, read
 * whole and zoomed (10 %, 1 %, 0.1 % of the run) at 2000 points, as the training view asks.
 *
 * The history is a fresh temporary folder: the run and its epochs are made with the store, then the
 * steps are inserted in one transaction (100 rows a statement), with a loss that decays with noise
 * and rare spikes. Each zoomed sample reads a different range (seeded), so no answer is cached.
 * Reference rows measured in the same run, on the same file: a plain `SELECT count(*)` over the
 * run's steps (every row read once, nothing computed: the floor of any whole-run read), and the
 * whole-run statement the studio used before ranges (one GROUP BY on the bucket number). Ratios
 * are against the count.
 *
 * Run: node --import tsx bench/metrics.ts [--steps N] [--epochs N] [--reps N] [--points N]
 */
import { rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { TrainConfigSchema } from '../src-main/contract/index.ts';
import type { RunMetrics, StepPoint } from '../src-main/contract/index.ts';
import { createStudio } from '../src-main/services/studio.ts';
import { HISTORY_FILE, openStore } from '../src-main/store/index.ts';
import { fakeLauncher } from '../test/helpers/fake-trainer.ts';
import { tmpDir } from '../test/helpers/tmp.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const STEPS = arg('steps', 1_000_000);
const EPOCHS = arg('epochs', 1000);
const REPS = arg('reps', 15);
const POINTS = arg('points', 2000);
const RUN = 'run-bench-metrics';

/** A small deterministic generator (mulberry32), so every run of the bench reads the same data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function fill(dataDir: string): { seconds: number; bytes: number } {
  const store = openStore({ dataDir });
  store.datasets.upsert({ id: 'd1', name: 'bench', kind: 'imported', source: '/bench', count: 60000, width: 28, height: 28, channels: 1, labels: null, createdAt: 1 });
  store.runs.create({ id: RUN, name: 'a million steps', datasetId: 'd1', config: TrainConfigSchema.parse({}), appVersion: 'bench', ownerPid: process.pid });
  store.runs.update(RUN, { status: 'completed', startedAt: 1, finishedAt: 2 });
  const perEpoch = Math.ceil(STEPS / Math.max(1, EPOCHS));
  for (let e = 1; e <= EPOCHS; e++) {
    const v = 90 + 100 / Math.sqrt(e);
    store.metrics.appendEpoch(RUN, { epoch: e, step: Math.min(STEPS, e * perEpoch), loss: v, recon: v - 20, kl: 20, negElbo: v, valNegElbo: v + 2, valRecon: v - 18, valKl: 20, bitsPerDim: v / (784 * Math.LN2), durationMs: 60_000, klPerDim: Array.from({ length: 16 }, (_, i) => 20 / (i + 1)), activeUnits: 12 });
  }
  store.close();

  const db = new Database(path.join(dataDir, HISTORY_FILE));
  const t0 = performance.now();
  const ROWS = 100;
  const cols = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  const insert = (n: number) =>
    db.prepare(`INSERT INTO step_metrics (run_id, step, epoch, loss, recon, kl, neg_elbo, samples_per_sec, time_ms, beta, lr, grad_norm) VALUES ${Array(n).fill(cols).join(', ')}`);
  const full = insert(ROWS);
  const rand = rng(42);
  const row = (s: number): (string | number)[] => {
    const base = 90 + 100 / Math.sqrt(s / 500 + 1);
    const spike = rand() < 1e-4 ? 50 * rand() : 0;
    const kl = 20 + rand();
    const negElbo = base + 3 * (rand() - 0.5) + spike;
    const p: StepPoint = { step: s, epoch: Math.ceil(s / perEpoch), loss: negElbo, recon: negElbo - kl, kl, negElbo, samplesPerSec: 9000 + 500 * rand(), timeMs: s * 7.1, beta: 1, lr: 1e-3, gradNorm: 5 * rand() };
    return [RUN, p.step, p.epoch, p.loss, p.recon, p.kl, p.negElbo, p.samplesPerSec, p.timeMs, p.beta!, p.lr!, p.gradNorm!];
  };
  db.transaction(() => {
    for (let s = 1; s <= STEPS; s += ROWS) {
      const n = Math.min(ROWS, STEPS - s + 1);
      const values: (string | number)[] = [];
      for (let i = 0; i < n; i++) values.push(...row(s + i));
      (n === ROWS ? full : insert(n)).run(values);
    }
  })();
  const seconds = (performance.now() - t0) / 1000;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { seconds, bytes: statSync(path.join(dataDir, HISTORY_FILE)).size };
}

interface Row {
  label: string;
  times: number[];
  points: number;
  kib: number;
}

const median = (xs: readonly number[]) => quantile(xs, 0.5);
function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.ceil(i)]! - s[lo]!) * (i - lo);
}

async function main(): Promise<void> {
  const dataDir = tmpDir('vae-bench-metrics-');
  console.log(`Filling a history with one run of ${STEPS.toLocaleString('en-US')} steps and ${EPOCHS} epochs…`);
  const filled = fill(dataDir);
  console.log(`  inserted in ${filled.seconds.toFixed(1)} s (one transaction, ${Math.round(STEPS / filled.seconds).toLocaleString('en-US')} rows/s), history file ${(filled.bytes / 2 ** 20).toFixed(0)} MiB\n`);

  const raw = new Database(path.join(dataDir, HISTORY_FILE), { readonly: true });
  const count = raw.prepare(`SELECT count(*) AS n FROM step_metrics WHERE run_id = ?`);
  const mean = (c: string) => `CASE WHEN count(${c}) = count(*) THEN avg(${c}) END AS ${c}`;
  const groupBy = raw.prepare(`
    SELECT avg(step) AS step, avg(epoch) AS epoch, ${['loss', 'recon', 'kl', 'neg_elbo', 'samples_per_sec', 'beta', 'lr', 'grad_norm'].map(mean).join(', ')}, avg(time_ms) AS time_ms
    FROM step_metrics WHERE run_id = @runId AND step < @hi
    GROUP BY (step - CAST(@lo AS INTEGER)) * CAST(@buckets AS INTEGER) / (CAST(@hi AS INTEGER) - CAST(@lo AS INTEGER)) ORDER BY 1`);

  const studio = createStudio({ dataDir, mode: 'cli', launcher: fakeLauncher() });
  const rows: Row[] = [];
  const time = async (label: string, reps: number, input: (i: number) => Record<string, unknown>): Promise<void> => {
    const times: number[] = [];
    let last: RunMetrics | null = null;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const r = await studio.dispatch('runs.metrics', { id: RUN, maxPoints: POINTS, ...input(i) });
      times.push(performance.now() - t0);
      if (!r.ok) throw new Error(`${label}: ${JSON.stringify(r.error)}`);
      last = r.value as RunMetrics;
    }
    rows.push({ label, times, points: last!.steps.length, kib: Buffer.byteLength(JSON.stringify(last)) / 1024 });
  };
  const rawTime = (label: string, reps: number, fn: () => unknown, points: number): void => {
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      fn();
      times.push(performance.now() - t0);
    }
    rows.push({ label, times, points, kib: Number.NaN });
  };

  try {
    // Warm the OS page cache with one full read, not timed.
    count.get(RUN);
    const wholeReps = Math.max(3, Math.ceil(REPS / 3));
    rawTime('reference: SELECT count(*) over the run', REPS, () => count.get(RUN), 1);
    rawTime('reference: previous whole-run GROUP BY', wholeReps, () => groupBy.all({ runId: RUN, lo: 1, hi: STEPS, buckets: POINTS - 1 }), POINTS - 1);
    await time('whole run (no range)', wholeReps, () => ({}));
    for (const share of [0.1, 0.01, 0.001]) {
      const width = Math.round(STEPS * share);
      const rand = rng(7);
      await time(`zoomed ${share * 100} % (${width.toLocaleString('en-US')} steps)`, REPS, () => {
        const from = 1 + Math.floor(rand() * (STEPS - width));
        return { fromStep: from, toStep: from + width - 1 };
      });
    }
    await time('zoomed to the last 0.1 % (live tail)', REPS, () => ({ fromStep: STEPS - Math.round(STEPS * 0.001) + 1 }));
  } finally {
    await studio.close();
    raw.close();
  }

  const ref = median(rows[0]!.times);
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (x: number, n: number, d = 1) => (Number.isNaN(x) ? '-' : x.toFixed(d)).padStart(n);
  console.log(`runs.metrics through dispatch, ${POINTS} points asked, ${STEPS.toLocaleString('en-US')}-step run (${EPOCHS} epochs: all in a whole-run answer, those in the range otherwise)`);
  console.log(`${pad('case', 44)}${'reps'.padStart(6)}${'points'.padStart(8)}${'KiB'.padStart(8)}${'median ms'.padStart(11)}${'p95 ms'.padStart(10)}${'x count'.padStart(9)}`);
  for (const r of rows) {
    const m = median(r.times);
    console.log(`${pad(r.label, 44)}${String(r.times.length).padStart(6)}${String(r.points).padStart(8)}${num(r.kib, 8, 0)}${num(m, 11, 2)}${num(quantile(r.times, 0.95), 10, 2)}${num(m / ref, 9, 3)}`);
  }
  console.log(`\nmachine: ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(2)} (1 min) at the end`);
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
