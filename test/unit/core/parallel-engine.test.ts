/**
 * Data-parallel training steps (src-main/core/parallel): the gradient summed over worker-thread
 * shards must be the full batch's gradient (the shard losses divide by the full n, so they add up
 * to the batch loss: a sum, not a re-weighted mean), with and without free bits (whose mask needs
 * the whole batch's KL means), and every replica must stay bit-identical to the main thread's model
 * after its updates. The workers run the real worker entry (trainer/step-worker.ts) on tfjs 'cpu'.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { TrainConfigSchema, type TrainConfig, type TrainConfigInput } from '../../../src-main/contract/config.ts';
import { klPerDimension } from '../../../src-main/core/losses.ts';
import { availableCores, createParallelEngine, resolveThreads, THREADS_ENV } from '../../../src-main/core/parallel/engine.ts';
import { freeBitsMask, makeForward, shardRanges, sumSlots } from '../../../src-main/core/parallel/objective.ts';
import { Rng } from '../../../src-main/core/rng.ts';
import { applyUpdate, makeOptimizer } from '../../../src-main/core/train.ts';
import { buildVae } from '../../../src-main/core/vae.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const worker = { entry: path.resolve(here, '../../../src-main/trainer/step-worker.ts'), backend: 'cpu' };

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

describe('shards and sums (closed forms)', () => {
  test('shardRanges covers the batch in order, sizes differ by at most one, none under the minimum', () => {
    for (const [n, threads] of [[128, 2], [128, 3], [7, 4], [33, 4], [16, 2], [15, 2], [1, 8]] as const) {
      const r = shardRanges(n, threads);
      assert.equal(r[0]![0], 0);
      assert.equal(r[r.length - 1]![1], n);
      for (let i = 1; i < r.length; i++) assert.equal(r[i]![0], r[i - 1]![1]);
      const sizes = r.map(([a, b]) => b - a);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${n}/${threads}: ${sizes}`);
      assert.ok(r.length <= threads);
      if (r.length > 1) assert.ok(Math.min(...sizes) >= 8);
    }
    assert.deepEqual(shardRanges(128, 2), [[0, 64], [64, 128]]);
    assert.deepEqual(shardRanges(10, 3), [[0, 10]]);
  });

  test('sumSlots adds the first P slots element-wise', () => {
    const total = 5;
    const buf = Float32Array.from({ length: 3 * total }, (_, i) => i);
    assert.deepEqual([...sumSlots(buf, total, 1)], [0, 1, 2, 3, 4]);
    assert.deepEqual([...sumSlots(buf, total, 2)], [5, 7, 9, 11, 13]);
    assert.deepEqual([...sumSlots(buf, total, 3)], [15, 18, 21, 24, 27]);
  });

  test('freeBitsMask: mean KL per dimension against lambda, and sum_j max(lambda, mean)', () => {
    const { mask, klObjective } = freeBitsMask([Float32Array.of(1, 4, 0.5), Float32Array.of(1, 2, 0.5)], 4, 0.75);
    // means: 0.5, 1.5, 0.25
    assert.deepEqual([...mask], [0, 1, 0]);
    assert.ok(Math.abs(klObjective - (0.75 + 1.5 + 0.75)) < 1e-6);
  });

  test('resolveThreads: config, then the environment, then one per core for conv models and one for MLPs', () => {
    assert.equal(resolveThreads({ threads: 3 }, { [THREADS_ENV]: '5' }), 3);
    assert.equal(resolveThreads({ model: { kind: 'mlp' } }, { [THREADS_ENV]: '5' }), 5);
    assert.equal(resolveThreads({ model: { kind: 'mlp' } }, {}), 1);
    assert.equal(resolveThreads({ model: { kind: 'conv' } }, {}), availableCores());
    assert.throws(() => resolveThreads({}, { [THREADS_ENV]: 'many' }), /VAE_STUDIO_THREADS/);
  });
});

/** A tiny MLP VAE, its optimiser and a batch; `mode` picks the likelihood. */
function setup(input: TrainConfigInput, n: number) {
  const config: TrainConfig = TrainConfigSchema.parse({ model: { kind: 'mlp', hidden: [12], latentDim: 3 }, ...input });
  const shape = { width: 4, height: 4, channels: 1 };
  const dim = 16;
  const { encoder, decoder } = buildVae(tf, config.model, shape, 7);
  const optimizer = makeOptimizer(tf, config);
  const modelVars = [...encoder.trainableWeights, ...decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  const logSigma = config.likelihood === 'gaussian' && config.gaussianSigmaMode === 'learned' ? tf.variable(tf.scalar(Math.log(0.3)), true) : null;
  const vars = logSigma ? [...modelVars, logSigma] : modelVars;
  const spec = { likelihood: config.likelihood, sigma: logSigma ? (logSigma as tf.Scalar) : config.gaussianSigma };
  const forward = makeForward(encoder, decoder, spec);
  const rng = new Rng(11);
  const x = Float32Array.from({ length: n * dim }, () => (config.likelihood === 'gaussian' ? rng.uniform() : rng.uniform() < 0.4 ? 1 : 0));
  const eps = rng.fillNormal(new Float32Array(n * config.model.latentDim));
  const dispose = () => {
    optimizer.dispose();
    logSigma?.dispose();
    encoder.dispose();
    decoder.dispose();
  };
  return { config, shape, dim, encoder, decoder, optimizer, modelVars, logSigma, vars, forward, x, eps, dispose };
}

/** The single-thread objective of core/train.ts on the whole batch, and its gradient per variable. */
function fullBatchGradients(s: ReturnType<typeof setup>, n: number, beta: number, freeBits: number): Float32Array[] {
  const x = tf.tensor2d(s.x, [n, s.dim]);
  const eps = tf.tensor2d(s.eps, [n, s.config.model.latentDim]);
  const { value, grads } = tf.variableGrads(() => {
    const { recon, klDims } = s.forward(x, eps);
    const klDimMean = klDims.mean(0);
    const kl = freeBits > 0 ? klDimMean.maximum(freeBits).sum() : klDimMean.sum();
    return recon.mean().add(kl.mul(beta)) as tf.Scalar;
  }, s.vars);
  const out = s.vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
  tf.dispose([value, x, eps, ...Object.values(grads)]);
  return out;
}

function assertClose(a: Float32Array, b: Float32Array, what: string, tol = 2e-5) {
  assert.equal(a.length, b.length, what);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + scale), `${what}[${i}]: parallel ${a[i]} vs full batch ${b[i]}`);
}

describe('parallel steps on worker threads', { timeout: 60_000 }, () => {
  const opened: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const e of opened) await e.close();
  });

  for (const c of [
    // SGD: the engine hands the summed gradient to `apply` (Adam takes the sharded path instead).
    { name: 'Bernoulli, 3 threads, uneven shards', input: { likelihood: 'bernoulli', optimizer: { name: 'sgd' } }, threads: 3, n: 26, freeBits: 0 },
    { name: 'Gaussian with learned sigma, 2 threads', input: { likelihood: 'gaussian', gaussianSigmaMode: 'learned', optimizer: { name: 'sgd' } }, threads: 2, n: 20, freeBits: 0 },
    { name: 'free bits (the mask needs the whole batch), 2 threads', input: { likelihood: 'bernoulli', optimizer: { name: 'sgd' } }, threads: 2, n: 24, freeBits: -1 },
  ] as const) {
    test(`the summed shard gradient is the full-batch gradient: ${c.name}`, async () => {
      const probe = setup(c.input, c.n);
      // Free bits: lambda between the smallest and largest batch-mean KL, so the mask has both values.
      let freeBits: number = c.freeBits;
      if (freeBits < 0) {
        const means = tf.tidy(() => {
          const [mu, logvar] = probe.encoder.apply(tf.tensor2d(probe.x, [c.n, probe.dim]), { training: true }) as [tf.Tensor2D, tf.Tensor2D];
          return klPerDimension(mu, logvar).mean(0);
        });
        const m = [...(means.dataSync() as Float32Array)].sort((a, b) => a - b);
        means.dispose();
        freeBits = (m[0]! + m[m.length - 1]!) / 2;
        assert.ok(m[0]! < freeBits && freeBits < m[m.length - 1]!);
      }
      probe.dispose();
      const s = setup({ ...c.input, freeBits }, c.n);
      const beta = 0.7;
      const expected = fullBatchGradients(s, c.n, beta, freeBits);
      let captured: Float32Array[] = [];
      const engine = await createParallelEngine({
        tf,
        config: s.config,
        shape: s.shape,
        initSeed: 7,
        threads: c.threads,
        encoder: s.encoder,
        decoder: s.decoder,
        optimizer: s.optimizer,
        logSigma: s.logSigma,
        vars: s.vars,
        forward: s.forward,
        // Capture the summed gradient instead of applying it.
        apply: (grads) => {
          captured = s.vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
          tf.dispose(Object.values(grads));
          return tf.scalar(0);
        },
        worker,
      });
      assert.ok(engine, 'an engine with worker threads');
      opened.push(engine);
      assert.equal(engine.threads, c.threads);
      const before = tf.memory().numTensors;
      const stats = await engine.step(s.x, s.eps, c.n, beta, 1e-3);
      assert.equal(tf.memory().numTensors, before, 'the main thread leaked tensors');
      assert.equal(captured.length, s.vars.length);
      captured.forEach((g, i) => assertClose(g, expected[i]!, `gradient of ${s.vars[i]!.name}`));
      // The reported terms are the batch means of the single-thread loop.
      const ref = tf.tidy(() => {
        const { recon, klDims } = s.forward(tf.tensor2d(s.x, [c.n, s.dim]), tf.tensor2d(s.eps, [c.n, s.config.model.latentDim]));
        const klDimMean = klDims.mean(0);
        return tf.stack([recon.mean(), klDimMean.sum(), freeBits > 0 ? klDimMean.maximum(freeBits).sum() : klDimMean.sum()]);
      });
      const r = ref.dataSync();
      ref.dispose();
      for (let k = 0; k < 3; k++) assert.ok(Math.abs(stats[k]! - r[k]!) <= 1e-4 * (1 + Math.abs(r[k]!)), `stat ${k}: ${stats[k]} vs ${r[k]}`);
      await engine.close();
      s.dispose();
    });
  }

  test('sharded Adam: the same weights and moments as tfjs Adam on the full-batch gradient (AdamW decay, clipping, learned sigma)', async () => {
    // epsilon 1e-3 keeps the update a smooth function of the gradient, so float32 rounding of the
    // shard sums cannot flip the sign of an update the way g / (|g| + 1e-8) can.
    const input = { likelihood: 'gaussian', gaussianSigmaMode: 'learned', optimizer: { name: 'adamw', learningRate: 0.01, weightDecay: 0.1, epsilon: 1e-3 }, gradClipNorm: 0.05 } as const;
    const n = 24;
    const ref = setup(input, n);
    const s = setup(input, n);
    const lr = 0.01;
    const refNorms: number[] = [];
    for (let k = 0; k < 2; k++) {
      const g = fullBatchGradients(ref, n, 1, 0);
      const map = Object.fromEntries(ref.vars.map((v, i) => [v.name, tf.tensor(g[i]!, v.shape)]));
      const norm = applyUpdate(tf, ref.optimizer, map, { lr, clipNorm: 0.05, weightDecay: 0.1, decayed: ref.modelVars });
      refNorms.push(norm.dataSync()[0]!);
      norm.dispose();
    }
    const engine = await createParallelEngine({
      tf,
      config: s.config,
      shape: s.shape,
      initSeed: 7,
      threads: 2,
      encoder: s.encoder,
      decoder: s.decoder,
      optimizer: s.optimizer,
      logSigma: s.logSigma,
      vars: s.vars,
      forward: s.forward,
      apply: () => assert.fail('the sharded Adam does not use the tfjs optimiser'),
      worker,
    });
    assert.ok(engine);
    opened.push(engine);
    for (let k = 0; k < 2; k++) {
      const st = await engine.step(s.x, s.eps, n, 1, lr);
      assert.ok(Math.abs(st[3]! - refNorms[k]!) <= 1e-4 * refNorms[k]!, `gradient norm ${st[3]} vs ${refNorms[k]}`);
    }
    assert.ok(refNorms[0]! > 0.05, 'the clipping was exercised');
    s.vars.forEach((v, i) => assertClose(v.dataSync() as Float32Array, ref.vars[i]!.dataSync() as Float32Array, `weight ${v.name}`, 1e-5));
    // Moments and iteration count reach the tfjs optimiser (what a checkpoint saves).
    await engine.syncOptimizer!();
    const mine = await s.optimizer.getWeights();
    const theirs = await ref.optimizer.getWeights();
    assert.equal(mine.length, theirs.length);
    assert.equal(mine[0]!.tensor.dataSync()[0], 2);
    for (let i = 1; i < mine.length; i++) assertClose(mine[i]!.tensor.dataSync() as Float32Array, theirs[i]!.tensor.dataSync() as Float32Array, `moment ${mine[i]!.name}`, 1e-4);
    tf.dispose([mine[0]!.tensor, theirs[0]!.tensor]);
    await engine.close();
    s.dispose();
    ref.dispose();
  });

  test('replicas stay bit-identical to the main model through updates (Adam, clipping, AdamW decay, a short last batch)', async () => {
    const s = setup({ likelihood: 'bernoulli', optimizer: { name: 'adamw', learningRate: 0.01, weightDecay: 0.1 }, gradClipNorm: 0.5 }, 40);
    const tensorsBefore = tf.memory().numTensors;
    const engine = await createParallelEngine({
      tf,
      config: s.config,
      shape: s.shape,
      initSeed: 7,
      threads: 2,
      encoder: s.encoder,
      decoder: s.decoder,
      optimizer: s.optimizer,
      logSigma: s.logSigma,
      vars: s.vars,
      forward: s.forward,
      apply: (grads, lr) => applyUpdate(tf, s.optimizer, grads, { lr, clipNorm: s.config.gradClipNorm, weightDecay: 0.1, decayed: s.modelVars }),
      worker,
    });
    assert.ok(engine);
    opened.push(engine);
    const before = s.vars.map((v) => Float32Array.from(v.dataSync() as Float32Array));
    const mains: number[] = [];
    for (const n of [40, 40, 12]) {
      // n = 12 gives one shard: the other replicas have no rows but must still apply the update.
      const st = await engine.step(s.x.subarray(0, n * s.dim), s.eps.subarray(0, n * 3), n, 1, 0.01);
      mains.push(st[3]!);
    }
    assert.ok(mains.every((g) => Number.isFinite(g) && g > 0));
    const mainWeights = [...s.encoder.weights, ...s.decoder.weights].map((w) => w.read().dataSync() as Float32Array);
    assert.ok(s.vars.some((v, i) => (v.dataSync() as Float32Array).some((x, k) => x !== before[i]![k])), 'the model changed');
    const replicas = await engine.replicaWeights();
    assert.equal(replicas.length, 1);
    for (const rep of replicas) {
      assert.equal(rep.length, mainWeights.length);
      rep.forEach((w, i) => assert.deepEqual(w.data, mainWeights[i], `replica weight ${w.name} differs from the main model's`));
    }
    await engine.close();
    assert.equal(tf.memory().numTensors, tensorsBefore, 'the engine leaked tensors on the main thread');
    s.dispose();
  });

  test('one thread or no registered worker: no engine (the single-thread loop runs)', async () => {
    const s = setup({}, 8);
    const common = { tf, config: s.config, shape: s.shape, initSeed: 7, encoder: s.encoder, decoder: s.decoder, optimizer: s.optimizer, logSigma: null, vars: s.vars, forward: s.forward, apply: () => tf.scalar(0) };
    assert.equal(await createParallelEngine({ ...common, threads: 1, worker }), null);
    assert.equal(await createParallelEngine({ ...common, threads: 2 }), null, "nothing is registered for 'cpu'");
    s.dispose();
  });
});
