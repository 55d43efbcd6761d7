/**
 * Crash recovery as a user meets it: `vae-studio serve` trains a run over the WebSocket API; the
 * studio process and its trainer are killed with SIGKILL mid-epoch; a new studio on the same data
 * folder shows the run as 'interrupted' with its metrics up to the last flush, and runs.resume
 * continues it from its last checkpoint to completion (previews of the earlier epochs kept).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import WebSocket from 'ws';
import type { RunPreviews } from '../../src-main/contract/history.ts';
import type { Result, RunMetrics, RunSummary } from '../../src-main/contract/index.ts';
import { BIN } from '../helpers/cli.ts';
import { until } from '../helpers/fake-trainer.ts';
import { tmpDir } from '../helpers/tmp.ts';

interface Served {
  child: ChildProcess;
  call<T>(command: string, input: unknown): Promise<T>;
  events: { event: string; payload: Record<string, unknown> }[];
  close(): Promise<void>;
}

/** Starts `vae-studio serve` on a free port and connects to its WebSocket with the printed token. */
async function serve(dataDir: string): Promise<Served> {
  const child = spawn(process.execPath, [BIN, '--data-dir', dataDir, 'serve', '--port', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VAE_STUDIO_HOME: '' },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  await until(() => out.includes('\n') || child.exitCode !== null, 60_000, `serve to print its URL (stderr: ${err})`);
  if (!out.includes('\n')) throw new Error(`vae-studio serve exited (code ${child.exitCode}) before printing its URL: ${err}`);
  const { url, port } = JSON.parse(out.split('\n')[0]!) as { url: string; port: number };
  const token = new URL(url).searchParams.get('token')!;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`, { headers: { origin: `http://127.0.0.1:${port}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const pending = new Map<number, (r: Result<unknown>) => void>();
  const events: Served['events'] = [];
  ws.on('message', (d) => {
    const msg = JSON.parse(String(d)) as { id?: number; result?: Result<unknown>; event?: string; payload?: Record<string, unknown> };
    if (msg.event) events.push({ event: msg.event, payload: msg.payload ?? {} });
    else if (msg.id !== undefined) pending.get(msg.id)?.(msg.result!);
  });
  ws.on('error', () => {});
  let seq = 0;
  return {
    child,
    events,
    call: <T>(command: string, input: unknown) =>
      new Promise<T>((resolve, reject) => {
        const id = ++seq;
        pending.set(id, (r) => (r.ok ? resolve(r.value as T) : reject(new Error(`${command}: ${r.error.code} ${r.error.message}`))));
        ws.send(JSON.stringify({ id, command, input }));
      }),
    async close() {
      ws.terminate();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The direct children of a process (its trainer), from ps. */
function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('studio and trainer killed mid-run: the next studio shows the run interrupted, and it resumes to completion', { timeout: 180_000 }, async () => {
  const dataDir = tmpDir();
  // 6 steps per epoch on the pure-JS backend.
  const config = { backend: 'cpu', epochs: 3, maxSamples: 400, batchSize: 64, validationFraction: 0.1, model: { hidden: [32], latentDim: 2 }, seed: 11 };
  const first = await serve(dataDir);
  let run: RunSummary;
  let seenSteps: number;
  try {
    run = await first.call<RunSummary>('training.start', { datasetId: 'builtin-digits', config });
    const steps = () =>
      first.events.filter((e) => e.event === 'training.progress' && e.payload['runId'] === run.id).reduce((n, e) => n + (e.payload['points'] as unknown[]).length, 0);
    // An epoch checkpointed and some steps of the next one reported.
    await until(() => first.events.some((e) => e.event === 'training.epoch') && steps() >= 8, 120_000, 'epoch 1 and steps of epoch 2');
    const trainers = childPids(first.child.pid!);
    assert.equal(trainers.length, 1, 'one trainer process');
    seenSteps = steps();
    process.kill(first.child.pid!, 'SIGKILL');
    process.kill(trainers[0]!, 'SIGKILL');
    await until(() => !alive(trainers[0]!) && first.child.exitCode === null && first.child.signalCode !== null, 10_000, 'both processes gone');
  } finally {
    await first.close();
  }

  const second = await serve(dataDir);
  try {
    const info = await second.call<{ notices: string[] }>('app.info', {});
    assert.ok(info.notices.some((n) => n.includes(run!.id)), 'the studio says which run was interrupted');
    const r = await second.call<RunSummary>('runs.get', { id: run!.id });
    assert.equal(r.status, 'interrupted');
    assert.equal(r.paused, false);
    assert.ok(r.epochsDone >= 1);
    const m = await second.call<RunMetrics>('runs.metrics', { id: run!.id, maxPoints: 100000 });
    // Every step a client was shown had been written first (flush, then forward).
    assert.ok(m.totalSteps >= seenSteps!, `kept ${m.totalSteps} steps, the client saw ${seenSteps}`);
    assert.ok(m.totalSteps < 18, 'the run had not finished');
    const before = await second.call<RunPreviews>('runs.previews', { id: run!.id });
    assert.ok(before.epochs.includes(1), 'the previews of the checkpointed epoch survive the crash');

    const resumed = await second.call<RunSummary>('runs.resume', { id: run!.id });
    assert.equal(resumed.status, 'running');
    let s: RunSummary;
    const t0 = Date.now();
    do {
      await new Promise((res) => setTimeout(res, 100));
      s = await second.call<RunSummary>('runs.get', { id: run!.id });
    } while (s.status === 'running' && Date.now() - t0 < 120_000);
    assert.equal(s.status, 'completed');
    assert.equal(s.epochsDone, 3);
    const done = await second.call<RunMetrics>('runs.metrics', { id: run!.id, maxPoints: 100000 });
    assert.equal(done.totalSteps, 18);
    assert.deepEqual(done.steps.map((p) => p.step), Array.from({ length: 18 }, (_, i) => i + 1), 'each step once, in order');
    const after = await second.call<RunPreviews>('runs.previews', { id: run!.id });
    assert.deepEqual(after.epochs, [1, 2, 3]);
  } finally {
    await second.close();
  }
});
