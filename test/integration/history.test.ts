/**
 * The training studio's history commands with real trainer processes (tfjs 'cpu', built-in digits,
 * tiny configs): pause holds the trainer and its clock, resume and stop-while-paused work, each epoch
 * leaves previews that match the checkpoint's own decoder, a long run is announced when it
 * finishes, and training.estimate measures without recording anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Tensor2D } from '@tensorflow/tfjs';
import type { RunPreviews, TrainEstimate } from '../../src-main/contract/history.ts';
import type { Events, Result, RunMetrics, RunSummary, StepPoint } from '../../src-main/contract/index.ts';
import { TrainConfigSchema } from '../../src-main/contract/index.ts';
import { listCheckpoints, loadCheckpoint } from '../../src-main/core/checkpoint.ts';
import { likelihoodMean } from '../../src-main/contract/likelihood.ts';
import { loadBuiltin } from '../../src-main/core/sample-data.ts';
import { runFolder } from '../../src-main/services/run-ops.ts';
import { createStudio } from '../../src-main/services/studio.ts';
import type { Studio } from '../../src-main/services/studio-api.ts';
import { forkTrainer } from '../../src-main/trainer/fork.ts';
import { previewIndices, priorDraws } from '../../src-main/trainer/previews.ts';
import { until } from '../helpers/fake-trainer.ts';
import { tmpDir } from '../helpers/tmp.ts';

const value = async <T>(p: Promise<Result<unknown>>): Promise<T> => {
  const r = await p;
  assert.ok(r.ok, JSON.stringify(r));
  return r.value as T;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForEnd(studio: Studio, id: string, ms = 60_000): Promise<RunSummary> {
  const t0 = Date.now();
  for (;;) {
    const r = await value<RunSummary>(studio.dispatch('runs.get', { id }));
    if (!['queued', 'running'].includes(r.status)) return r;
    if (Date.now() - t0 > ms) throw new Error(`run ${id} still ${r.status} after ${ms} ms`);
    await sleep(25);
  }
}

// 9 steps per epoch on the pure-JS backend (one thread: the previews are compared with a decode
// on the same backend in this process).
const config = { backend: 'cpu', epochs: 2, maxSamples: 600, batchSize: 64, validationFraction: 0.1, model: { hidden: [64], latentDim: 4 }, seed: 3 };

describe('history with real trainer processes', { timeout: 120_000 }, () => {
  let studio: Studio;
  let dataDir: string;
  const steps = new Map<string, StepPoint[]>();
  const finished: Events['runs.finished'][] = [];
  const held = new Set<string>();

  before(() => {
    dataDir = tmpDir();
    // Every run is "long" here, so that its end is announced (the supervisor reads this at creation).
    process.env['VAE_STUDIO_NOTIFY_AFTER_MS'] = '0';
    studio = createStudio({ dataDir, mode: 'cli', launcher: () => forkTrainer() });
    delete process.env['VAE_STUDIO_NOTIFY_AFTER_MS'];
    studio.subscribe((event, payload) => {
      if (event === 'training.progress') {
        const p = payload as Events['training.progress'];
        steps.set(p.runId, [...(steps.get(p.runId) ?? []), ...p.points]);
      }
      if (event === 'runs.finished') finished.push(payload as Events['runs.finished']);
      if (event === 'training.status' && (payload as Events['training.status']).held) held.add((payload as Events['training.status']).runId);
    });
  });
  after(async () => {
    await studio.close();
  });

  test('pause holds the trainer (no steps, clock stopped), resume finishes the run, which is announced', async () => {
    const run = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config }));
    await until(() => (steps.get(run.id)?.length ?? 0) > 0, 30_000, 'first steps');
    const paused = await value<RunSummary>(studio.dispatch('training.pause', { runId: run.id }));
    const pausedAt = Date.now();
    assert.equal(paused.paused, true);
    assert.equal(paused.status, 'running');
    // The trainer confirms once it holds between two steps (the steps before it are delivered first).
    await until(() => held.has(run.id), 30_000, 'the trainer to hold');
    const count = steps.get(run.id)!.length;
    await sleep(2000);
    assert.equal(steps.get(run.id)!.length, count, 'no step while paused');
    assert.ok(count < 18, 'the run was paused before its end');
    assert.equal((await value<RunSummary[]>(studio.dispatch('runs.list', {})))[0]!.paused, true);
    const resumed = await value<RunSummary>(studio.dispatch('training.resume', { runId: run.id }));
    const pauseMs = Date.now() - pausedAt;
    assert.equal(resumed.paused, false);
    const done = await waitForEnd(studio, run.id);
    assert.equal(done.status, 'completed');
    assert.equal(done.paused, false);

    const m = await value<RunMetrics>(studio.dispatch('runs.metrics', { id: run.id, maxPoints: 100000 }));
    assert.equal(m.totalSteps, 18);
    // The run's clock left the pause out: the step after the hold is a step later, not a pause later.
    const across = m.steps[count]!.timeMs - m.steps[count - 1]!.timeMs;
    assert.ok(across < pauseMs * 0.75, `the step across the pause took ${across} ms of run time; the pause lasted ${pauseMs} ms`);
    assert.ok(m.steps.every((s, i) => i === 0 || s.timeMs > m.steps[i - 1]!.timeMs), 'run time increases');

    const f = finished.find((x) => x.runId === run.id);
    assert.ok(f, 'runs.finished was emitted');
    assert.equal(f.status, 'completed');
    assert.equal(f.name, done.name);
    assert.equal(f.error, null);
    assert.ok(f.durationMs !== null && f.durationMs >= 0);

    // Previews of both epochs; they are what the epoch-2 checkpoint decodes (pixels equal up to rounding).
    const pv = await value<RunPreviews>(studio.dispatch('runs.previews', { id: run.id }));
    assert.deepEqual(pv.epochs, [1, 2]);
    assert.equal(pv.epoch, 2);
    assert.deepEqual([pv.width, pv.height, pv.channels], [28, 28, 1]);
    assert.deepEqual(pv.count, { reconstructions: 16, samples: 64 });
    const D = 28 * 28;
    const originals = Buffer.from(pv.originals, 'base64');
    const recon = Buffer.from(pv.reconstructions, 'base64');
    const samples = Buffer.from(pv.samples, 'base64');
    assert.equal(originals.length, 16 * D);
    assert.equal(recon.length, 16 * D);
    assert.equal(samples.length, 64 * D);
    const digits = loadBuiltin('digits');
    const idx = previewIndices(TrainConfigSchema.parse(config), digits.count);
    const expectOriginals = Buffer.concat([...idx].map((i) => Buffer.from(digits.images.subarray(i * D, (i + 1) * D))));
    assert.ok(originals.equals(expectOriginals), 'the originals are the first 16 validation images');

    await tf.setBackend('cpu');
    const cp = (await listCheckpoints(runFolder(dataDir, run.id))).at(-1)!;
    assert.equal(cp.epoch, 2);
    const { encoder, decoder } = await loadCheckpoint(tf, cp.path);
    try {
      const decode = (z: Tensor2D) => likelihoodMean('bernoulli', (decoder.predict(z) as Tensor2D).dataSync() as Float32Array);
      const zPrior = tf.tensor2d(priorDraws(4), [64, 4]);
      const expectSamples = decode(zPrior);
      const x = tf.tensor2d(Float32Array.from(expectOriginals, (v) => v / 255), [16, D]);
      const [mu] = encoder.predict(x) as Tensor2D[];
      const expectRecon = decode(mu!);
      const maxDiff = (u8: Buffer, means: Float32Array) => Math.max(...Array.from(means, (v, i) => Math.abs(Math.round(v * 255) - u8[i]!)));
      assert.ok(maxDiff(samples, expectSamples) <= 1, 'prior samples = decoder(z fixed)');
      assert.ok(maxDiff(recon, expectRecon) <= 1, 'reconstructions = decoder(mu(x))');
      // Not one blank image repeated: different z, different samples.
      assert.ok(!samples.subarray(0, D).equals(samples.subarray(D, 2 * D)), 'two prior samples differ');
    } finally {
      encoder.dispose();
      decoder.dispose();
    }
  });

  test('stop while paused ends the run as stopped; a stopped run is not announced', async () => {
    const run = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config }));
    await until(() => (steps.get(run.id)?.length ?? 0) > 0, 30_000, 'first steps');
    await value(studio.dispatch('training.pause', { runId: run.id }));
    await value(studio.dispatch('training.stop', { runId: run.id }));
    const done = await waitForEnd(studio, run.id);
    assert.equal(done.status, 'stopped');
    assert.equal(done.paused, false);
    assert.ok(!finished.some((x) => x.runId === run.id));
    const e = await studio.dispatch('training.resume', { runId: run.id });
    assert.ok(!e.ok && e.error.code === 'CONFLICT');
  });

  test('training.estimate measures steps in a worker process and records nothing', async () => {
    const before = (await value<RunSummary[]>(studio.dispatch('runs.list', {}))).length;
    const est = await value<TrainEstimate>(studio.dispatch('training.estimate', { datasetId: 'builtin-digits', config, steps: 4 }));
    assert.equal(est.backend, 'cpu');
    assert.equal(est.measuredSteps, 4);
    assert.equal(est.stepsPerEpoch, Math.ceil(540 / 64));
    assert.ok(est.msPerStep > 0 && Number.isFinite(est.msPerStep));
    assert.ok(Math.abs(est.samplesPerSec - (64 * 1000) / est.msPerStep) < 1e-6 * est.samplesPerSec);
    assert.ok(est.secondsPerEpoch >= (est.stepsPerEpoch * est.msPerStep) / 1000);
    assert.ok(Math.abs(est.secondsTotal - 2 * est.secondsPerEpoch) < 1e-9);
    assert.equal((await value<RunSummary[]>(studio.dispatch('runs.list', {}))).length, before, 'no run recorded');

    const bad = await studio.dispatch('training.estimate', { datasetId: 'builtin-digits', config: { batchSize: 0 } });
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, 'INVALID_INPUT');
    // The same field as training.start names.
    const badStart = await studio.dispatch('training.start', { datasetId: 'builtin-digits', config: { batchSize: 0 } });
    assert.ok(!badStart.ok);
    assert.equal(bad.error.field, 'batchSize');
    assert.equal(bad.error.field, badStart.error.field);
    const unknownKey = await studio.dispatch('training.estimate', { datasetId: 'builtin-digits', config: { batchSise: 3 } });
    assert.ok(!unknownKey.ok && unknownKey.error.code === 'INVALID_INPUT');
    const noData = await studio.dispatch('training.estimate', { datasetId: 'nope', config: {} });
    assert.ok(!noData.ok && noData.error.code === 'NOT_FOUND');
  });
});
