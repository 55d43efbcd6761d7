/**
 * The engine's objectives, likelihoods, optimiser details, diagnostics and data access, each
 * against a closed form or a case whose answer is known.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { TrainConfigSchema, type TrainConfigInput } from '../../../src-main/contract/config.ts';
import type { EpochPoint, StepPoint } from '../../../src-main/contract/types.ts';
import { memorySource, openFileSource } from '../../../src-main/core/data-source.ts';
import { continuousBernoulliLogNormalizer, continuousBernoulliNll } from '../../../src-main/core/losses.ts';
import { collapseWarning, ColumnMoments, countActiveUnits } from '../../../src-main/core/metrics.ts';
import { generateDigits } from '../../../src-main/core/sample-data.ts';
import { applyUpdate, disposeOptimizer, makeOptimizer, train, type TrainData, type TrainOptions } from '../../../src-main/core/train.ts';
import { tmpDir } from '../../helpers/tmp.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

/** The sample digits pooled 4x4 down to 7x7: tiny but structured. */
function tinyDigits(count: number): TrainData {
  const full = generateDigits({ count, seed: 9 });
  const images = new Uint8Array(count * 49);
  for (let i = 0; i < count; i++)
    for (let y = 0; y < 7; y++)
      for (let x = 0; x < 7; x++) {
        let s = 0;
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) s += full.images[i * 784 + (4 * y + dy) * 28 + 4 * x + dx]!;
        images[i * 49 + y * 7 + x] = Math.round(s / 16);
      }
  return { images, count, width: 7, height: 7, channels: 1 };
}
const data = tinyDigits(240);

const cfg = (over: TrainConfigInput = {}) =>
  TrainConfigSchema.parse({
    model: { hidden: [16], latentDim: 4 },
    batchSize: 40,
    epochs: 2,
    validationFraction: 0.25,
    optimizer: { learningRate: 3e-3 },
    backend: 'cpu',
    ...over,
  });

async function run(over: TrainConfigInput = {}, extra: Partial<TrainOptions> = {}) {
  const steps: StepPoint[] = [];
  const epochs: EpochPoint[] = [];
  const status = await train({
    tf,
    config: cfg(over),
    data,
    reportEveryMs: 0,
    ...extra,
    onSteps: (p) => {
      steps.push(...p);
      extra.onSteps?.(p);
    },
    onEpoch: (e) => {
      epochs.push(e);
      extra.onEpoch?.(e);
    },
  });
  return { status, steps, epochs };
}
const withoutTimes = (r: { steps: StepPoint[]; epochs: EpochPoint[] }) => ({
  steps: r.steps.map(({ samplesPerSec: _s, timeMs: _t, ...rest }) => rest),
  epochs: r.epochs.map(({ durationMs: _d, ...rest }) => rest),
});

describe('continuous Bernoulli (Loaiza-Ganem & Cunningham 2019)', () => {
  /** log C(lambda) = -log int_0^1 lambda^x (1 - lambda)^(1 - x) dx by composite Simpson, in float64. */
  function numericLogNormalizer(l: number): number {
    const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    const logLam = -softplus(-l);
    const log1mLam = -softplus(l);
    const f = (x: number) => Math.exp(x * logLam + (1 - x) * log1mLam);
    const n = 4000;
    const h = 1 / n;
    let s = f(0) + f(1);
    for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(i * h);
    return -Math.log((s * h) / 3);
  }

  test('the log normaliser matches numerical integration from lambda ~ 0 through 1/2 to ~ 1', () => {
    const logits = [-40, -8, -2, -0.7, -0.26, -0.25, -0.2499, -0.1, -1e-3, 0, 1e-6, 0.05, 0.2, 0.25, 0.3, 1, 3, 12, 40];
    const t = tf.tensor1d(logits);
    const got = Array.from(continuousBernoulliLogNormalizer(t).dataSync());
    t.dispose();
    logits.forEach((l, i) => close(got[i]!, numericLogNormalizer(l), 2e-6 * Math.max(1, Math.abs(got[i]!)), `logit ${l}`));
    close(got[logits.indexOf(0)]!, Math.LN2, 1e-7, 'C(1/2) = 2');
  });

  test('is smooth across the series/exact switch and has finite gradients everywhere, 0 at lambda = 1/2', () => {
    const at = [-0.2500001, -0.25, 0, 0.2499999, 0.25, 0.2500001, 60];
    const x = tf.tensor1d(at);
    const g = tf.grad((l: tf.Tensor) => continuousBernoulliLogNormalizer(l).sum())(x);
    const grads = Array.from(g.dataSync());
    tf.dispose([x, g]);
    for (const v of grads) assert.ok(Number.isFinite(v));
    close(grads[2]!, 0, 1e-7, 'd/dl at 0');
    // d/dl log C = 1/l - 1/sinh(l) in closed form.
    close(grads[4]!, 1 / 0.25 - 1 / Math.sinh(0.25), 1e-4, 'd/dl at the switch');
    close(grads[3]!, grads[5]!, 1e-4, 'no jump at the switch');
  });

  test('the density integrates to 1 over [0, 1]', () => {
    for (const l of [-3, 0, 0.1, 2.5]) {
      const n = 2000;
      const xs = Array.from({ length: n + 1 }, (_, i) => i / n);
      const nll = continuousBernoulliNll(tf.tensor2d(xs.map((v) => [v])), tf.tensor2d(xs.map(() => [l])));
      const p = Array.from(nll.dataSync(), (v) => Math.exp(-v));
      nll.dispose();
      let s = p[0]! + p[n]!;
      for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * p[i]!;
      close((s / n) / 3, 1, 1e-5, `logit ${l}`);
    }
  });
});

describe('objective', () => {
  test('free bits: each latent dimension below lambda costs exactly lambda in the objective, the reported KL stays true', async () => {
    const r = await run({ freeBits: 50, epochs: 1 });
    for (const s of r.steps) {
      // every dimension's batch KL is far below 50 nats, so the KL term is 4 x 50 whatever the posterior
      close(s.loss, s.recon + 4 * 50, 1e-9, `step ${s.step}`);
      assert.ok(s.kl < 50 && s.kl >= 0);
      close(s.negElbo, s.recon + s.kl, 1e-9);
    }
  });

  test('KL warm-up: each step reports beta * w(t) and uses it in the loss', async () => {
    const r = await run({ beta: 2, klWarmup: { schedule: 'linear', steps: 4 }, epochs: 1 });
    assert.deepEqual(r.steps.map((s) => s.beta), [0, 0.5, 1, 1.5, 2]);
    for (const s of r.steps) close(s.loss, s.recon + s.beta! * s.kl, 1e-9);
    assert.equal(r.epochs[0]!.beta, 2);
  });

  test('step points carry the scheduled learning rate and a positive gradient norm', async () => {
    const r = await run({ lrSchedule: { kind: 'step', stepSize: 3, gamma: 0.5 }, epochs: 2 });
    assert.deepEqual(r.steps.map((s) => s.lr), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((t) => 3e-3 * 0.5 ** Math.floor(t / 3)));
    for (const s of r.steps) assert.ok(s.gradNorm! > 0 && Number.isFinite(s.gradNorm));
  });

  test('every likelihood and binarisation trains to finite, improving numbers; bits/dim agree with nats', async () => {
    for (const over of [
      { likelihood: 'bernoulli', binarization: 'dynamic' },
      { likelihood: 'bernoulli', binarization: 'static' },
      { likelihood: 'continuousBernoulli' },
      { likelihood: 'gaussian', gaussianSigmaMode: 'learned', gaussianSigma: 0.3 },
    ] as TrainConfigInput[]) {
      const r = await run({ ...over, epochs: 3, optimizer: { learningRate: 1e-2 } });
      const [first, , last] = r.epochs;
      assert.ok(last!.valNegElbo! < first!.valNegElbo!, `${JSON.stringify(over)}: ${first!.valNegElbo} -> ${last!.valNegElbo}`);
      close(last!.valBitsPerDim!, last!.valNegElbo! / (49 * Math.LN2), 1e-12);
      if (over.likelihood === 'gaussian') assert.ok(last!.sigma! < 0.3, `learned sigma ${last!.sigma}`);
      else assert.equal(last!.sigma, undefined);
    }
  });

  test('static binarisation is a fixed draw per sample: the validation numbers do not depend on the training mode', async () => {
    const a = await run({ binarization: 'static', epochs: 1 });
    const b = await run({ binarization: 'static', epochs: 1 });
    assert.deepEqual(withoutTimes(a), withoutTimes(b));
  });
});

describe('optimiser details on a tiny problem', () => {
  /** One update of v = [3, 4] with gradient g = [3, 4] (norm 5). */
  async function oneUpdate(over: TrainConfigInput['optimizer'], clipNorm: number, lr: number) {
    const config = cfg({ optimizer: over });
    const opt = makeOptimizer(tf, config);
    const v = tf.variable(tf.tensor1d([3, 4]), true, 'tiny_v');
    const grads = { tiny_v: tf.tensor1d([3, 4]) };
    const before = tf.memory().numTensors;
    const norm = applyUpdate(tf, opt, grads, { lr, clipNorm, weightDecay: config.optimizer.name === 'adamw' ? config.optimizer.weightDecay : 0, decayed: [v] });
    const out = { v: Array.from(v.dataSync()), norm: norm.dataSync()[0]! };
    norm.dispose();
    const after = tf.memory().numTensors;
    disposeOptimizer(opt);
    v.dispose();
    return { ...out, growth: after - before };
  }

  test('clipping by global norm rescales the gradient to norm c (plain SGD: v - lr * g * c / |g|)', async () => {
    const r = await oneUpdate({ name: 'sgd', momentum: 0, learningRate: 0.5 }, 1, 0.5);
    close(r.norm, 5, 1e-6, 'norm before clipping');
    close(r.v[0]!, 3 - 0.5 * 0.6, 1e-6);
    close(r.v[1]!, 4 - 0.5 * 0.8, 1e-6);
    const unclipped = await oneUpdate({ name: 'sgd', momentum: 0, learningRate: 0.5 }, 10, 0.5);
    close(unclipped.v[0]!, 3 - 0.5 * 3, 1e-6, 'a norm below c is left alone');
  });

  test('AdamW decays the weights outside the adaptive step: v (1 - lr wd) - lr sign(g) on the first step', async () => {
    const r = await oneUpdate({ name: 'adamw', learningRate: 0.5, weightDecay: 0.1, epsilon: 1e-8 }, 0, 0.5);
    // Adam's first bias-corrected step is lr * g / |g| per coordinate.
    close(r.v[0]!, 3 * (1 - 0.05) - 0.5, 1e-5);
    close(r.v[1]!, 4 * (1 - 0.05) - 0.5, 1e-5);
    const adam = await oneUpdate({ name: 'adam', learningRate: 0.5, weightDecay: 0.1 }, 0, 0.5);
    close(adam.v[0]!, 3 - 0.5, 1e-5, "plain Adam ignores weightDecay");
  });
});

describe('latent diagnostics', () => {
  test('ColumnMoments merges batches into the exact variance; active units count Var > 0.01', () => {
    const rows = [
      [0, 5, 1],
      [0.3, 5, -1],
      [0.1, 5.001, 2],
      [-0.2, 5, 0],
      [0.05, 4.999, 3],
    ];
    const m = new ColumnMoments(3);
    for (const batch of [rows.slice(0, 2), rows.slice(2)]) {
      const mean = [0, 1, 2].map((j) => batch.reduce((s, r) => s + r[j]!, 0) / batch.length);
      const m2 = [0, 1, 2].map((j) => batch.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0));
      m.addBatch(batch.length, mean, m2);
    }
    const v = m.variance();
    for (let j = 0; j < 3; j++) {
      const mean = rows.reduce((s, r) => s + r[j]!, 0) / rows.length;
      close(v[j]!, rows.reduce((s, r) => s + (r[j]! - mean) ** 2, 0) / rows.length, 1e-12, `column ${j}`);
    }
    assert.equal(countActiveUnits(v), 2); // 0.0304 and 2, not 4e-7
    assert.equal(countActiveUnits([0.01, 0.0100001]), 1, 'strictly above the threshold');
    assert.equal(collapseWarning(0, 4), true);
    assert.equal(collapseWarning(1, 4), false);
    assert.equal(collapseWarning(1, 20), true);
    assert.equal(collapseWarning(2, 20), false);
  });

  test('a forced collapse (huge beta) shows 0 active units and the warning; normal training shows active units', async () => {
    const collapsed = await run({ beta: 200, epochs: 3, optimizer: { learningRate: 1e-2 } });
    const last = collapsed.epochs.at(-1)!;
    assert.equal(last.activeUnits, 0);
    assert.equal(last.collapseWarning, true);
    assert.ok(last.klPerDim!.every((k) => k < 0.05), `KL per dim ${last.klPerDim}`);
    const healthy = await run({ epochs: 3, optimizer: { learningRate: 1e-2 } });
    const h = healthy.epochs.at(-1)!;
    assert.ok(h.activeUnits! >= 1, `active ${h.activeUnits}`);
    assert.equal(h.klPerDim!.length, 4);
    close(h.klPerDim!.reduce((a, b) => a + b, 0), h.valKl!, 1e-9, 'KL per dim sums to the validation KL');
  });
});

describe('run control', () => {
  test('early stopping ends the run as completed with the reason on its last epoch', async () => {
    const r = await run({ epochs: 10, earlyStopping: { patience: 2, minDelta: 1e9 } });
    assert.equal(r.status, 'completed');
    // Epoch 1 sets the best; epochs 2 and 3 cannot beat it by 1e9 nats.
    assert.deepEqual(r.epochs.map((e) => e.epoch), [1, 2, 3]);
    assert.equal(r.epochs.at(-1)!.stopReason, 'earlyStopping');
    assert.ok(r.epochs.slice(0, -1).every((e) => e.stopReason === undefined));
    await assert.rejects(run({ validationFraction: 0, earlyStopping: { patience: 2 } }), /early stopping watches the validation/);
  });

  test('a step budget overrides epochs and may end mid-epoch', async () => {
    const r = await run({ epochs: 100, maxSteps: 7 });
    assert.equal(r.steps.length, 7);
    assert.deepEqual(r.epochs.map((e) => [e.epoch, e.step]), [[1, 5], [2, 7]]);
    assert.equal(r.epochs.at(-1)!.stopReason, 'maxSteps');
    const full = await run({ epochs: 2 });
    assert.equal(full.epochs.at(-1)!.stopReason, 'epochs');
  });

  test('reproducible with every new knob on: same seed identical, another seed different; no tensor leaks', async () => {
    const over: TrainConfigInput = {
      binarization: 'dynamic',
      klWarmup: { schedule: 'cyclical', steps: 4 },
      freeBits: 0.1,
      gradClipNorm: 5,
      optimizer: { name: 'adamw', learningRate: 3e-3 },
      lrSchedule: { kind: 'cosine', warmupSteps: 2 },
      epochs: 2,
    };
    const counts: number[] = [];
    const base = tf.memory().numTensors;
    const a = await run({ ...over, seed: 3 }, { onEpoch: () => counts.push(tf.memory().numTensors) });
    assert.equal(tf.memory().numTensors, base);
    assert.ok(counts.every((c) => c === counts[0]), `tensor counts drift: ${counts}`);
    const b = await run({ ...over, seed: 3 });
    const c = await run({ ...over, seed: 4 });
    assert.deepEqual(withoutTimes(a), withoutTimes(b));
    assert.notDeepEqual(a.steps.map((s) => s.loss), c.steps.map((s) => s.loss));
    for (const opt of ['rmsprop', 'sgd'] as const) {
      const r = await run({ optimizer: { name: opt, learningRate: 1e-3 }, epochs: 1 });
      assert.equal(tf.memory().numTensors, base, `${opt} frees its state`);
      assert.ok(r.steps.every((s) => Number.isFinite(s.loss)));
    }
  });
});

describe('data sources', () => {
  test('the file-backed source returns the same bytes as the in-memory one, in the asked order', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'data.u8');
    fs.writeFileSync(file, data.images);
    const mem = memorySource(data);
    const disk = openFileSource(file, data);
    try {
      // runs of consecutive samples, duplicates, reverse order, the last sample
      const indices = [5, 6, 7, 8, 100, 3, 3, 239, 238, 0, 1, 50];
      assert.deepEqual(disk.readBatch(indices), mem.readBatch(indices));
      const out = new Uint8Array(20 * 49);
      const got = disk.readBatch([9, 10], out);
      assert.equal(got.length, 2 * 49);
      assert.deepEqual(got, data.images.subarray(9 * 49, 11 * 49));
      assert.throws(() => disk.readBatch([240]), /outside/);
    } finally {
      disk.close?.();
    }
    assert.throws(() => openFileSource(file, { ...data, count: 241 }), /holds 11760 bytes, expected/);
  });

  test('training streamed from a file gives exactly the in-memory metrics', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'data.u8');
    fs.writeFileSync(file, data.images);
    const source = openFileSource(file, data);
    try {
      const streamed = await run({ epochs: 2, seed: 8 }, { data: source });
      const inMemory = await run({ epochs: 2, seed: 8 });
      assert.deepEqual(withoutTimes(streamed), withoutTimes(inMemory));
    } finally {
      source.close?.();
    }
  });
});
