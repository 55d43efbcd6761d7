import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { TrainConfigSchema, type TrainConfigInput } from '../../../src-main/contract/config.ts';
import type { EpochPoint, StepPoint } from '../../../src-main/contract/types.ts';
import { loadCheckpoint } from '../../../src-main/core/checkpoint.ts';
import { Rng } from '../../../src-main/core/rng.ts';
import { generateDigits } from '../../../src-main/core/sample-data.ts';
import { splitIndices, train, type CheckpointReport, type TrainOptions } from '../../../src-main/core/train.ts';
import { tmpDir } from '../../helpers/tmp.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

/** The sample digits pooled 2x2 down to 14x14: realistic images at a quarter of the compute. */
function smallDigits(count: number) {
  const full = generateDigits({ count, seed: 3 });
  const images = new Uint8Array(count * 196);
  for (let i = 0; i < count; i++)
    for (let y = 0; y < 14; y++)
      for (let x = 0; x < 14; x++) {
        const at = (yy: number, xx: number) => full.images[i * 784 + yy * 28 + xx]!;
        images[i * 196 + y * 14 + x] = Math.round((at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4);
      }
  return { images, count, width: 14, height: 14, channels: 1 };
}
const data = smallDigits(400);
const D = 196;

/** A tiny config that trains in well under a second on the pure-JS backend. */
const tiny = (over: TrainConfigInput = {}) =>
  TrainConfigSchema.parse({
    model: { hidden: [32], latentDim: 4 },
    batchSize: 32,
    epochs: 2,
    maxSamples: 320,
    validationFraction: 0.2,
    optimizer: { learningRate: 3e-3 },
    backend: 'cpu',
    ...over,
  });

async function run(over: TrainConfigInput = {}, extra: Partial<TrainOptions> = {}) {
  const steps: StepPoint[] = [];
  const epochs: EpochPoint[] = [];
  const checkpoints: CheckpointReport[] = [];
  const status = await train({
    tf,
    config: tiny(over),
    data,
    reportEveryMs: 0,
    onSteps: (p) => steps.push(...p),
    onEpoch: (e) => epochs.push(e),
    onCheckpoint: (c) => checkpoints.push(c),
    ...extra,
  });
  return { status, steps, epochs, checkpoints };
}

/** Metrics without the wall-clock fields. */
const metricsOf = (r: { steps: StepPoint[]; epochs: EpochPoint[] }) => ({
  steps: r.steps.map(({ samplesPerSec: _s, timeMs: _t, ...rest }) => rest),
  epochs: r.epochs.map(({ durationMs: _d, ...rest }) => rest),
});

describe('splitIndices', () => {
  test('caps the used samples, then holds out the validation fraction; disjoint and seeded', () => {
    const { train: tr, val } = splitIndices(1000, { maxSamples: 500, validationFraction: 0.1 }, new Rng(1));
    assert.equal(val.length, 50);
    assert.equal(tr.length, 450);
    const all = new Set([...tr, ...val]);
    assert.equal(all.size, 500);
    for (const i of all) assert.ok(i < 1000);
    assert.deepEqual(splitIndices(1000, { maxSamples: 500, validationFraction: 0.1 }, new Rng(1)).train, tr);
    const full = splitIndices(1000, { maxSamples: 0, validationFraction: 0 }, new Rng(1));
    assert.equal(full.train.length, 1000);
    assert.equal(full.val.length, 0);
  });
});

describe('train (cpu backend, tiny model)', () => {
  test('reports consistent steps and epochs, and the loss decreases', async () => {
    const r = await run({ epochs: 4 });
    assert.equal(r.status, 'completed');
    const stepsPerEpoch = Math.ceil(256 / 32);
    assert.equal(r.steps.length, 4 * stepsPerEpoch);
    assert.deepEqual(
      r.steps.map((s) => s.step),
      Array.from({ length: r.steps.length }, (_, i) => i + 1),
    );
    assert.deepEqual(
      r.epochs.map((e) => [e.epoch, e.step]),
      [1, 2, 3, 4].map((e) => [e, e * stepsPerEpoch]),
    );
    for (const s of r.steps) {
      assert.ok(Math.abs(s.negElbo - (s.recon + s.kl)) < 1e-9);
      assert.ok(Math.abs(s.loss - (s.recon + s.kl)) < 1e-9, 'beta = 1: loss = -ELBO');
      assert.ok(s.kl >= 0 && s.recon > 0 && s.samplesPerSec > 0 && s.timeMs > 0);
    }
    const first = r.epochs[0]!;
    const last = r.epochs.at(-1)!;
    assert.ok(last.negElbo < first.negElbo * 0.8, `train -ELBO ${first.negElbo} -> ${last.negElbo}`);
    assert.ok(last.valNegElbo! < first.valNegElbo!, `validation -ELBO ${first.valNegElbo} -> ${last.valNegElbo}`);
    assert.ok(Math.abs(last.bitsPerDim - last.negElbo / (D * Math.LN2)) < 1e-12);
    assert.ok(Math.abs(last.valNegElbo! - (last.valRecon! + last.valKl!)) < 1e-9);
    // An epoch's training numbers are the sample-weighted means of its steps (all batches are full here).
    const e1 = r.steps.filter((s) => s.epoch === 1);
    const meanRecon = e1.reduce((a, s) => a + s.recon, 0) / e1.length;
    assert.ok(Math.abs(first.recon - meanRecon) < 1e-6 * meanRecon);
  });

  test('the same seed gives identical metrics; another seed different ones', async () => {
    const a = metricsOf(await run({ seed: 11 }));
    const b = metricsOf(await run({ seed: 11 }));
    const c = metricsOf(await run({ seed: 12 }));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.steps.map((s) => s.loss), c.steps.map((s) => s.loss));
  });

  test('beta weighs the KL term in the objective but not in the reported -ELBO', async () => {
    const r = await run({ beta: 4, epochs: 1 });
    for (const s of r.steps) {
      assert.ok(Math.abs(s.loss - (s.recon + 4 * s.kl)) < 1e-9);
      assert.ok(Math.abs(s.negElbo - (s.recon + s.kl)) < 1e-9);
    }
  });

  test('leaks no tensors: the count is flat across steps and epochs and back to zero at the end', async () => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const r = await run(
      { epochs: 3, optimizer: { name: 'adam', learningRate: 1e-3 } },
      {
        onSteps: () => counts.push(tf.memory().numTensors),
        onEpoch: () => counts.push(tf.memory().numTensors),
      },
    );
    assert.equal(r.status, 'completed');
    // Adam creates its moment slots on the first update; from then on nothing may accumulate.
    assert.ok(counts.length > 10);
    assert.ok(counts.every((c) => c === counts[0]), `tensor counts drift: ${counts.join(',')}`);
    assert.equal(tf.memory().numTensors, before);
  });

  test('stop is honoured between steps', async () => {
    const before = tf.memory().numTensors;
    let seen = 0;
    const r = await run({ epochs: 50 }, { onSteps: (p) => (seen += p.length), shouldStop: () => seen >= 5 });
    assert.equal(r.status, 'stopped');
    assert.equal(seen, 5);
    assert.equal(r.epochs.length, 0);
    assert.equal(tf.memory().numTensors, before);
  });

  test('a diverging run ends with a clear error and frees its tensors', async () => {
    const before = tf.memory().numTensors;
    await assert.rejects(
      run({ epochs: 5, optimizer: { name: 'sgd', learningRate: 10 } }),
      /diverged at epoch \d+, step \d+: the loss('s gradient)? became (NaN|infinite).*lower learning rate/,
    );
    assert.equal(tf.memory().numTensors, before);
  });

  test('the Gaussian likelihood trains too, without validation when the fraction is 0', async () => {
    const r = await run({ likelihood: 'gaussian', gaussianSigma: 0.2, validationFraction: 0, epochs: 2 });
    assert.equal(r.status, 'completed');
    assert.equal(r.epochs[0]!.valNegElbo, null);
    assert.equal(r.epochs[0]!.valRecon, null);
    assert.ok(r.epochs[1]!.negElbo < r.epochs[0]!.negElbo);
    // 320 training samples in batches of 32 -> 10 steps per epoch.
    assert.equal(r.epochs[0]!.step, 10);
  });

  test('writes a loadable checkpoint at the end of every epoch', async () => {
    const dir = tmpDir();
    const r = await run({ epochs: 2 }, { checkpointDir: dir });
    assert.deepEqual(
      r.checkpoints.map((c) => [c.epoch, c.step, path.basename(c.path)]),
      [
        [1, 8, 'epoch-1'],
        [2, 16, 'epoch-2'],
      ],
    );
    const sizeOf = (p: string): number =>
      fs.statSync(p).isDirectory() ? fs.readdirSync(p).reduce((s, f) => s + sizeOf(path.join(p, f)), 0) : fs.statSync(p).size;
    for (const c of r.checkpoints) assert.equal(c.bytes, sizeOf(c.path));
    // Nothing but the two checkpoint folders (no temporary leftovers).
    assert.deepEqual(fs.readdirSync(dir).sort(), ['epoch-1', 'epoch-2']);

    const { meta, encoder, decoder } = await loadCheckpoint(tf, r.checkpoints[1]!.path);
    assert.equal(meta.epoch, 2);
    assert.deepEqual(meta.config, tiny({ epochs: 2 }));
    assert.equal(meta.dim, D);
    assert.deepEqual(meta.input, { width: 14, height: 14, channels: 1 });
    assert.equal(meta.metrics?.negElbo, r.epochs[1]!.negElbo);
    assert.equal(encoder.countParams() + decoder.countParams(), meta.paramCount);
    // The reloaded decoder decodes; the two epochs' weights differ (training moved them).
    const z = tf.zeros([2, 4]);
    const out = decoder.predict(z) as tf.Tensor;
    assert.deepEqual(out.shape, [2, D]);
    const e1 = await loadCheckpoint(tf, r.checkpoints[0]!.path);
    assert.notDeepEqual(
      Array.from(e1.decoder.getWeights()[0]!.dataSync()),
      Array.from(decoder.getWeights()[0]!.dataSync()),
    );
    tf.dispose([z, out]);
    for (const m of [encoder, decoder, e1.encoder, e1.decoder]) m.dispose();
  });

  test('rejects a dataset smaller than its declared size', async () => {
    await assert.rejects(
      train({ tf, config: tiny(), data: { ...data, images: data.images.subarray(0, 100) } }),
      /dataset holds 100 bytes/,
    );
  });
});
