/**
 * Exact resume and evaluation with real trainer processes (tfjs 'cpu' backend, built-in digits):
 * a run killed with SIGKILL during its third epoch and resumed from its epoch-2 checkpoint ends
 * with the same metrics and weights as an uninterrupted run; the same seed + config + backend gives
 * identical metrics; checkpoints evaluate through the studio and through the real CLI.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { CheckpointInfo, EpochPoint, EvalResult, Result, RunMetrics, RunSummary, StepPoint } from '../../src-main/contract/index.ts';
import { readModelWeights } from '../../src-main/core/checkpoint.ts';
import { createStudio } from '../../src-main/services/studio.ts';
import type { Studio } from '../../src-main/services/studio-api.ts';
import { forkTrainer } from '../../src-main/trainer/fork.ts';
import type { TrainerHandle } from '../../src-main/trainer/protocol.ts';
import { until } from '../helpers/fake-trainer.ts';
import { tmpDir } from '../helpers/tmp.ts';
import { jsonLines, runCli } from '../helpers/cli.ts';


const value = async <T>(p: Promise<Result<unknown>>): Promise<T> => {
  const r = await p;
  assert.ok(r.ok, JSON.stringify(r));
  return r.value as T;
};

async function waitForEnd(studio: Studio, id: string, ms = 120_000): Promise<RunSummary> {
  const t0 = Date.now();
  for (;;) {
    const r = await value<RunSummary>(studio.dispatch('runs.get', { id }));
    if (!['queued', 'running'].includes(r.status)) return r;
    if (Date.now() - t0 > ms) throw new Error(`run ${id} still ${r.status} after ${ms} ms`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

const metrics = (studio: Studio, id: string) => value<RunMetrics>(studio.dispatch('runs.metrics', { id, maxPoints: 100000 }));

/** Relative closeness of every numeric field except the wall-clock ones. */
function assertClose(a: object, b: object, what: string, tol = 1e-5): void {
  const skip = new Set(['samplesPerSec', 'timeMs', 'durationMs']);
  for (const [k, va] of Object.entries(a)) {
    if (skip.has(k)) continue;
    const vb = (b as Record<string, unknown>)[k];
    if (typeof va === 'number') {
      const d = Math.abs(va - (vb as number)) / Math.max(1e-6, Math.abs(va));
      assert.ok(d <= tol, `${what}.${k}: ${va} vs ${String(vb)} (relative ${d})`);
    } else if (Array.isArray(va)) {
      (va as number[]).forEach((x, i) => assertClose({ v: x }, { v: (vb as number[])[i] }, `${what}.${k}[${i}]`, tol));
    } else assert.deepEqual(vb, va, `${what}.${k}`);
  }
}

const withoutTime = (s: StepPoint) => {
  const { samplesPerSec: _s, timeMs: _t, ...rest } = s;
  return rest;
};
const epochWithoutTime = (e: EpochPoint) => {
  const { durationMs: _d, ...rest } = e;
  return rest;
};

describe('exact resume and evaluation (real trainer processes)', { timeout: 300_000 }, () => {
  test('SIGKILL during epoch 3, resume from the epoch-2 checkpoint: same metrics and weights as the uninterrupted run', async () => {
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
    const progress: { runId: string; epoch: number }[] = [];
    const evalPhases = new Set<string>();
    studio.subscribe((event, payload) => {
      if (event === 'training.progress') {
        const p = payload as { runId: string; points: StepPoint[] };
        for (const pt of p.points) progress.push({ runId: p.runId, epoch: pt.epoch });
      }
      if (event === 'runs.evalProgress') evalPhases.add((payload as { phase: string }).phase);
    });
    // About 60 steps per epoch on the pure-JS backend: long enough to be killed inside epoch 3.
    const config = { backend: 'cpu', epochs: 3, maxSamples: 1100, batchSize: 16, validationFraction: 0.1, model: { hidden: [32], latentDim: 4 }, seed: 5 };
    try {
      // A: uninterrupted.
      const a = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', name: 'A', config }));
      assert.equal((await waitForEnd(studio, a.id)).status, 'completed');
      const ma = await metrics(studio, a.id);
      assert.equal(ma.epochs.length, 3);

      // B: killed during epoch 3, after its epoch-2 checkpoint is recorded.
      const b = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', name: 'B', config }));
      await until(() => progress.some((p) => p.runId === b.id && p.epoch === 3), 120_000, 'B in epoch 3');
      const cps = await value<CheckpointInfo[]>(studio.dispatch('runs.checkpoints', { id: b.id }));
      assert.deepEqual(cps.map((c) => c.epoch), [1, 2], 'epoch 2 checkpointed, epoch 3 not yet');
      process.kill(handles[1]!.pid!, 'SIGKILL');
      const killed = await waitForEnd(studio, b.id);
      assert.equal(killed.status, 'interrupted');
      assert.match(killed.error ?? '', /SIGKILL/);
      const mbKilled = await metrics(studio, b.id);
      assert.equal(mbKilled.epochs.length, 2, 'killed before epoch 3 ended');
      const epoch2Step = mbKilled.epochs[1]!.step;
      assert.ok(mbKilled.totalSteps > epoch2Step, 'some epoch-3 steps were recorded before the kill');

      // Reproducibility: same seed + config + backend -> identical metrics, bit for bit.
      assert.deepEqual(mbKilled.epochs.map(epochWithoutTime), ma.epochs.slice(0, 2).map(epochWithoutTime));
      assert.deepEqual(mbKilled.steps.map(withoutTime), ma.steps.slice(0, mbKilled.totalSteps).map(withoutTime));

      // Resume: same run id, a new trainer process, status running -> completed.
      const resumed = await value<RunSummary>(studio.dispatch('runs.resume', { id: b.id }));
      assert.equal(resumed.id, b.id);
      assert.equal(resumed.status, 'running');
      assert.equal(resumed.epochsDone, 2, 'metrics after the checkpoint were dropped before retraining');
      assert.equal(handles.length, 3);
      const done = await waitForEnd(studio, b.id);
      assert.equal(done.status, 'completed', done.error ?? '');
      assert.equal(done.error, null);
      assert.equal(done.startedAt, b.startedAt ?? done.startedAt);

      const mb = await metrics(studio, b.id);
      assert.equal(mb.totalSteps, ma.totalSteps);
      assert.deepEqual(mb.steps.map((s) => s.step), ma.steps.map((s) => s.step));
      mb.steps.forEach((s, i) => assertClose(ma.steps[i]!, s, `step ${s.step}`));
      assert.deepEqual(mb.epochs.map((e) => e.epoch), [1, 2, 3]);
      mb.epochs.forEach((e, i) => assertClose(ma.epochs[i]!, e, `epoch ${e.epoch}`));
      // Step times continue after the checkpoint instead of restarting at 0.
      const firstResumed = mb.steps.find((s) => s.step === epoch2Step + 1)!;
      assert.ok(firstResumed.timeMs >= mb.steps.find((s) => s.step === epoch2Step)!.timeMs);

      // The final weights match.
      await tf.setBackend('cpu');
      const cpsA = await value<CheckpointInfo[]>(studio.dispatch('runs.checkpoints', { id: a.id }));
      const cpsB = await value<CheckpointInfo[]>(studio.dispatch('runs.checkpoints', { id: b.id }));
      assert.deepEqual(cpsB.map((c) => c.epoch), [1, 2, 3]);
      for (const part of ['encoder', 'decoder'] as const) {
        const wa = await readModelWeights(tf, cpsA[2]!.path, part);
        const wb = await readModelWeights(tf, cpsB[2]!.path, part);
        let worst = 0;
        wa.forEach((t, i) => {
          const x = t.dataSync();
          const y = wb[i]!.dataSync();
          for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j]! - y[j]!) / Math.max(1, Math.abs(x[j]!)));
        });
        tf.dispose([...wa, ...wb]);
        assert.ok(worst <= 1e-5, `${part} weights differ by ${worst}`);
      }

      // A completed run has nothing left to resume.
      const again = await studio.dispatch('runs.resume', { id: b.id });
      assert.ok(!again.ok && again.error.code === 'CONFLICT');

      // Evaluation of both final checkpoints on the validation split: equal weights, equal numbers.
      const req = { split: 'validation', iwaeK: 16, iwaeSamples: 8, seed: 3 };
      const ea = await value<EvalResult>(studio.dispatch('runs.eval', { id: a.id, ...req }));
      const eb = await value<EvalResult>(studio.dispatch('runs.eval', { id: b.id, ...req }));
      assert.equal(ea.split, 'validation');
      assert.equal(ea.count, 110, '10 % of 1100 samples');
      assert.equal(ea.checkpointEpoch, 3);
      assert.equal(ea.iwae?.k, 16);
      assert.equal(ea.iwae?.count, 8);
      assertClose(
        { negElbo: ea.negElbo, iwae: ea.iwae!.nll, mse: ea.mse, psnr: ea.psnr, ssim: ea.ssim },
        { negElbo: eb.negElbo, iwae: eb.iwae!.nll, mse: eb.mse, psnr: eb.psnr, ssim: eb.ssim },
        'eval A vs B',
        1e-4,
      );
      assert.ok(Math.abs(ea.negElbo - (ea.recon + ea.kl)) < 1e-9);
      assert.ok(Math.abs(ea.bitsPerDim - ea.negElbo / (784 * Math.LN2)) < 1e-9);
      // The validation -ELBO the loop reported for epoch 3 estimates the same quantity.
      assert.ok(Math.abs(ea.negElbo - ma.epochs[2]!.valNegElbo!) < 0.05 * ma.epochs[2]!.valNegElbo!, `${ea.negElbo} vs ${ma.epochs[2]!.valNegElbo}`);
      assert.ok(ea.ssim > 0 && ea.ssim < 1 && ea.mse > 0 && ea.mse < 0.25);
      assert.ok(evalPhases.has('elbo') && evalPhases.has('iwae'), [...evalPhases].join(','));
      // An earlier checkpoint can be chosen; evaluations are kept in the run's folder.
      const e1 = await value<EvalResult>(studio.dispatch('runs.eval', { id: a.id, ...req, checkpointEpoch: 1, iwaeK: 0 }));
      assert.equal(e1.checkpointEpoch, 1);
      assert.equal(e1.iwae, null);
      assert.ok(e1.negElbo > ea.negElbo, 'epoch 1 is worse than epoch 3');
      const kept = await value<EvalResult[]>(studio.dispatch('runs.evals', { id: a.id }));
      assert.deepEqual(kept.map((e) => e.checkpointEpoch), [3, 1]);
      assert.ok(fs.existsSync(path.join(dataDir, 'checkpoints', a.id, 'evaluations.json')));
      // No official test split on the built-in digits: a clear refusal, and 'test' is not the default.
      const noTest = await studio.dispatch('runs.eval', { id: a.id, split: 'test' });
      assert.ok(!noTest.ok && noTest.error.code === 'INVALID_INPUT' && /no official test split/.test(noTest.error.message));
      const missing = await studio.dispatch('runs.eval', { id: a.id, checkpointEpoch: 9 });
      assert.ok(!missing.ok && missing.error.code === 'NOT_FOUND');
    } finally {
      await studio.close();
    }
  });

  test('a loss that becomes NaN: the run fails saying which checkpoint is the last good one, and that checkpoint is intact', async () => {
    const dataDir = tmpDir();
    const studio = createStudio({ dataDir, mode: 'cli', launcher: () => forkTrainer() });
    try {
      // SGD whose learning rate warms up towards 10: fine for a few epochs, then it blows up.
      const config = { backend: 'cpu', epochs: 20, maxSamples: 300, batchSize: 30, model: { hidden: [16], latentDim: 2 }, lrSchedule: { warmupSteps: 10000 }, optimizer: { name: 'sgd', learningRate: 10, momentum: 0.9 } };
      const run = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config }));
      const r = await waitForEnd(studio, run.id);
      assert.equal(r.status, 'failed');
      const m = /training diverged at epoch (\d+), step (\d+).* The last good checkpoint is epoch (\d+) \(step (\d+)\), kept at (\S+)\.$/.exec(r.error ?? '');
      assert.ok(m, r.error ?? '');
      const [, epoch, , goodEpoch, goodStep, at] = m;
      assert.ok(Number(epoch) >= 2, 'diverged after at least one checkpoint');
      assert.equal(Number(goodEpoch), Number(epoch) - 1);
      const cps = await value<CheckpointInfo[]>(studio.dispatch('runs.checkpoints', { id: run.id }));
      assert.equal(cps.at(-1)?.epoch, Number(goodEpoch));
      assert.equal(cps.at(-1)?.step, Number(goodStep));
      assert.equal(cps.at(-1)?.path, at);
      // The last good checkpoint evaluates to finite numbers.
      const e = await value<EvalResult>(studio.dispatch('runs.eval', { id: run.id, split: 'validation', iwaeK: 0 }));
      assert.equal(e.checkpointEpoch, Number(goodEpoch));
      assert.ok(Number.isFinite(e.negElbo));
    } finally {
      await studio.close();
    }
  });

  test('CLI: train --config file.json with --set on top, runs resume of a stopped run, eval --json', async () => {
    const dataDir = tmpDir();
    const file = path.join(dataDir, 'config.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ datasetId: 'builtin-digits', name: 'from a file', config: { backend: 'cpu', epochs: 2, maxSamples: 300, batchSize: 30, model: { hidden: [16], latentDim: 4 } } }),
    );
    const t = await cli(['--data-dir', dataDir, 'train', '--config', file, '--set', 'model.latentDim=3', '--json'], { interruptAtStep: 3 });
    assert.equal(t.code, 130, t.stderr);
    const result = lines(t.stdout).find((l) => l.type === 'result')!;
    assert.equal(result.status, 'stopped');
    const id = result.runId as string;

    const r = await cli(['--data-dir', dataDir, 'runs', 'resume', id, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.equal(out.at(-1)?.type, 'result');
    assert.equal(out.at(-1)?.status, 'completed');
    const epochs = out.filter((l) => l.type === 'epoch');
    assert.ok(epochs.length >= 1 && epochs.at(-1)!.epoch === 2);

    const show = await cli(['--data-dir', dataDir, 'runs', 'show', id, '--json']);
    const run = JSON.parse(show.stdout) as RunSummary & { epochs: EpochPoint[]; totalSteps: number };
    assert.equal(run.name, 'from a file');
    assert.equal(run.config.model.latentDim, 3, '--set applies on top of the file');
    assert.equal(run.config.epochs, 2);
    assert.deepEqual(run.epochs.map((e) => e.epoch), [1, 2]);
    assert.equal(run.totalSteps, 2 * Math.ceil(270 / 30), 'every step once, numbered on across the resume');

    const e = await cli(['--data-dir', dataDir, 'eval', id, '--split', 'validation', '--iwae-k', '5', '--iwae-samples', '4', '--json']);
    assert.equal(e.code, 0, e.stderr);
    const ev = JSON.parse(e.stdout) as EvalResult;
    assert.equal(e.stdout.trim().split('\n').length, 1, 'one JSON object');
    assert.equal(ev.runId, id);
    assert.equal(ev.count, 30);
    assert.equal(ev.iwae?.k, 5);
    assert.ok(Number.isFinite(ev.negElbo) && Number.isFinite(ev.psnr) && ev.ssim <= 1);

    const human = await cli(['--data-dir', dataDir, 'eval', id, '--split', 'validation', '--iwae-k', '0']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /-ELBO \(beta = 1\)\s+[\d.]+ nats/);
    assert.match(human.stdout, /SSIM 0\.\d{4}/);

    const bad = await cli(['--data-dir', dataDir, 'eval', id, '--split', 'train']);
    assert.equal(bad.code, 2);
    const again = await cli(['--data-dir', dataDir, 'runs', 'resume', id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /completed; there is nothing left to train/);
  });
});


const lines = jsonLines;
const cli = (args: string[], opts: { interruptAtStep?: number } = {}) =>
  runCli(args, opts.interruptAtStep ? { interruptWhen: (out) => out.includes(`"step":${opts.interruptAtStep},`) } : {});
