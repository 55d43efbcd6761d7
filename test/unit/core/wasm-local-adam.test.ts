/**
 * The single-thread fused Adam (core/parallel/engine.ts createLocalAdam, its SIMD update in
 * adam-simd.ts) that train() uses on the trainer's wasm backend: it computes tfjs' own
 * AdamOptimizer update bit for bit (and AdamW's decoupled decay and clipping by global norm, as
 * core/train.ts applyUpdate defines them, up to the float rounding of the norm), hands
 * its moments back to the tfjs optimiser for checkpoints, and a train() run on it is reproducible
 * and resumes exactly.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import type { NamedTensorMap, Variable } from '@tensorflow/tfjs';
import { TrainConfigSchema, type TrainConfigInput } from '../../../src-main/contract/config.ts';
import { readModelWeights } from '../../../src-main/core/checkpoint.ts';
import { createAdamSimd } from '../../../src-main/core/parallel/adam-simd.ts';
import { createLocalAdam, useLocalAdam } from '../../../src-main/core/parallel/engine.ts';
import { Rng } from '../../../src-main/core/rng.ts';
import { generateDigits } from '../../../src-main/core/sample-data.ts';
import type { Tf } from '../../../src-main/core/tf.ts';
import { applyUpdate, makeOptimizer, setLearningRate, type TrainOptions } from '../../../src-main/core/train.ts';
import { selectBackend } from '../../../src-main/trainer/backend.ts';
import { tmpDir } from '../../helpers/tmp.ts';
import { metrics, runLoop as trainLoop, stopAndResume } from '../../helpers/train-loop.ts';

let tf: Tf;
before(async () => {
  ({ tf } = await selectBackend('wasm'));
  assert.equal(tf.getBackend(), 'wasm');
});

const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 2e-6) => {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    assert.ok(d <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
};

describe('the WebAssembly SIMD Adam update (adam-simd.ts)', () => {
  test('equals the float32 Adam step of tfjs, operation by operation, bit for bit; padding lanes stay put', () => {
    const f = Math.fround;
    const n = 11; // not a whole number of 4-lane groups
    const simd = createAdamSimd(n);
    assert.ok(simd, 'WebAssembly SIMD is available in Node 20');
    assert.equal(simd.w.length, 12);
    const rng = new Rng(3);
    const w = rng.fillNormal(new Float32Array(n));
    const g = rng.fillNormal(new Float32Array(n));
    const m = rng.fillNormal(new Float32Array(n)).map((x) => x * 0.1);
    const v = rng.fillNormal(new Float32Array(n)).map((x) => x * x * 0.01);
    simd.w.set(w);
    simd.g.set(g);
    simd.m.set(m);
    simd.v.set(v);
    simd.w[11] = 5;
    const h = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, lr: 0.01, scale: 0.75, oneMinusAccBeta1: f(1 - f(f(0.9) * f(0.9))), oneMinusAccBeta2: f(1 - f(f(0.999) * f(0.999))) };
    simd.step(h);
    for (let k = 0; k < n; k++) {
      // m = m b1 + g' (1 - b1), v = v b2 + g'^2 (1 - b2), w = ((m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)) (-lr) + w
      const gk = f(g[k]! * f(h.scale));
      const mk = f(f(m[k]! * f(h.beta1)) + f(gk * f(1 - h.beta1)));
      const vk = f(f(v[k]! * f(h.beta2)) + f(f(gk * gk) * f(1 - h.beta2)));
      const den = f(f(Math.sqrt(f(vk / h.oneMinusAccBeta2))) + f(h.epsilon));
      const wk = f(f(f(f(mk / h.oneMinusAccBeta1) / den) * f(-h.lr)) + w[k]!);
      assert.equal(simd.m[k], mk, `m[${k}]`);
      assert.equal(simd.v[k], vk, `v[${k}]`);
      assert.equal(simd.w[k], wk, `w[${k}]`);
    }
    assert.deepEqual([simd.w[11], simd.m[11], simd.v[11]], [5, 0, 0], 'the padding lane: g = m = v = 0 leaves w as it is');
    // The squared norm: every lane squared and summed in float64.
    const want = Array.from(g, (x) => x * x).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(simd.gradSumOfSquares() - want) <= 1e-12 * want, `${simd.gradSumOfSquares()} vs ${want}`);
    simd.g.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal(simd.gradSumOfSquares(), 506, '1^2 + ... + 11^2');
  });
});

describe('createLocalAdam', () => {
  for (const [name, over, clip] of [
    ['adam', { optimizer: { name: 'adam', learningRate: 0.05 } }, 0],
    ['adamw + clipping, log-sigma not decayed', { optimizer: { name: 'adamw', learningRate: 0.05, weightDecay: 0.1 } }, 0.5],
  ] as const) {
    test(`${name}: the same trajectory as tfjs Adam + applyUpdate`, async () => {
      const config = TrainConfigSchema.parse({ ...over, gradClipNorm: clip });
      const rng = new Rng(7);
      const shapes = [[5, 3], [3], []];
      const init = shapes.map((s) => rng.fillNormal(new Float32Array(s.reduce((a, b) => a * b, 1))));
      const make = () => init.map((v, i) => tf.variable(tf.tensor(v, shapes[i]!), true));
      const ref = make();
      const mine = make();
      const refOpt = makeOptimizer(tf, config);
      const myOpt = makeOptimizer(tf, config);
      const decay = config.optimizer.name === 'adamw' ? config.optimizer.weightDecay : 0;
      const local = await createLocalAdam({ tf, config, optimizer: myOpt, logSigma: mine[2]!, vars: mine });
      const gradsFor = (vars: Variable[], g: Float32Array[]): NamedTensorMap =>
        Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(g[i]!, shapes[i]!)]));
      for (let step = 0; step < 6; step++) {
        const lr = 0.05 / (1 + step);
        const g = init.map((v) => rng.fillNormal(new Float32Array(v.length)).map((x) => x * (step + 1)));
        setLearningRate(refOpt, lr);
        const norm = applyUpdate(tf, refOpt, gradsFor(ref, g), { lr, clipNorm: clip, weightDecay: decay, decayed: ref.slice(0, 2) });
        const want = norm.dataSync()[0]!;
        norm.dispose();
        const got = local.apply(gradsFor(mine, g), lr);
        assert.ok(Math.abs(got - want) <= 1e-5 * want, `step ${step} norm ${got} vs ${want}`);
        // Without clipping every float32 operation is tfjs' own (adam-simd.ts): the same bits.
        ref.forEach((v, i) => close(mine[i]!.dataSync(), v.dataSync(), `step ${step} variable ${i}`, clip > 0 ? 2e-6 : 0));
      }
      // After sync the tfjs optimiser holds the fused moments: the same state as the reference's.
      await local.sync();
      const a = await refOpt.getWeights();
      const b = await myOpt.getWeights();
      assert.deepEqual(b.map((w) => w.name.replace(/^.*\//, '')), a.map((w) => w.name.replace(/^.*\//, '')));
      assert.equal(b[0]!.tensor.dataSync()[0], 6, 'iterations');
      a.forEach((w, i) => close(b[i]!.tensor.dataSync(), w.tensor.dataSync(), `optimizer weight ${w.name}`, 1e-5));
      a[0]!.tensor.dispose();
      b[0]!.tensor.dispose();
      refOpt.dispose();
      myOpt.dispose();
      tf.dispose([...ref, ...mine]);
    });
  }

  test('is used for Adam and AdamW on wasm only', () => {
    assert.equal(useLocalAdam(tf, TrainConfigSchema.parse({ optimizer: { name: 'adam' } })), true);
    assert.equal(useLocalAdam(tf, TrainConfigSchema.parse({ optimizer: { name: 'adamw' } })), true);
    assert.equal(useLocalAdam(tf, TrainConfigSchema.parse({ optimizer: { name: 'sgd' } })), false);
  });
});

const data = generateDigits({ count: 160, seed: 5 });
const tiny = (over: TrainConfigInput) =>
  TrainConfigSchema.parse({
    model: { hidden: [24], latentDim: 3 },
    batchSize: 32,
    epochs: 3,
    maxSamples: 160,
    validationFraction: 0.2,
    backend: 'wasm',
    threads: 1,
    ...over,
  });

const runLoop = (config: ReturnType<typeof tiny>, extra: Partial<TrainOptions> = {}) => trainLoop(tf, config, data, extra);


describe('single-thread train() on wasm with the fused Adam', { timeout: 120_000 }, () => {
  test('2 epochs + resume = 3 uninterrupted epochs, exactly (AdamW, learned sigma, clipping)', async () => {
    const config = tiny({ optimizer: { name: 'adamw', learningRate: 3e-3 }, likelihood: 'gaussian', gaussianSigmaMode: 'learned', gradClipNorm: 50 });
    const before = tf.memory().numTensors;
    const dirA = tmpDir();
    const a = await runLoop(config, { checkpointDir: dirA });
    assert.equal(a.status, 'completed');
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked');

    const dirB = tmpDir();
    const { first: b1, second: b2 } = await stopAndResume(tf, config, data, dirB);
    assert.equal(b1.status, 'stopped');
    assert.deepEqual(b1.steps.map(metrics), a.steps.slice(0, b1.steps.length).map(metrics));
    const aAfter = a.steps.filter((s) => s.step > a.epochs[1]!.step);
    assert.deepEqual(b2.steps.map(metrics), aAfter.map(metrics));
    for (const part of ['encoder', 'decoder'] as const) {
      const wa = await readModelWeights(tf, path.join(dirA, 'epoch-3'), part);
      const wb = await readModelWeights(tf, path.join(dirB, 'epoch-3'), part);
      wa.forEach((t, i) => assert.deepEqual(wb[i]!.dataSync(), t.dataSync(), `${part} weight ${i}`));
      tf.dispose([...wa, ...wb]);
    }
  });

  test("follows the run with tfjs' own Adam (on 'cpu') up to float rounding", async () => {
    const config = tiny({ optimizer: { name: 'adam', learningRate: 2e-3 }, epochs: 1 });
    const fused = await runLoop(config);
    // The same run with tfjs' Adam: on the cpu backend (selectBackend left wasm registered).
    await tf.setBackend('cpu');
    let plain;
    try {
      plain = await runLoop(config);
    } finally {
      await tf.setBackend('wasm');
    }
    assert.equal(fused.steps.length, plain.steps.length);
    for (const [i, s] of plain.steps.entries()) {
      for (const k of ['loss', 'recon', 'kl', 'gradNorm'] as const) {
        const x = Number(fused.steps[i]![k]);
        const y = Number(s[k]);
        assert.ok(Math.abs(x - y) <= 1e-3 * Math.max(1e-6, Math.abs(y)), `step ${s.step} ${k}: fused ${x} vs tfjs ${y}`);
      }
    }
  });
});
