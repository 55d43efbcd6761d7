/**
 * The native step graph (src-main/core/ort) against tfjs 'cpu', a different implementation of the
 * same maths: for each architecture, activation, likelihood and loss option, one step of the graph
 * in a real onnxruntime-node session must give tfjs's gradient of the training objective for
 * every parameter (read from the first Adam moment, m1 = (1 - beta1) g), tfjs's loss terms and
 * gradient norm, and the weights tfjs's Adam / AdamW (with clipping) produce. The engine around it
 * must then train like the tfjs step, leak nothing, and hand its state back to tfjs exactly.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { OPTIMIZERS, TrainConfigSchema, type TrainConfig, type TrainConfigInput } from '../../../src-main/contract/config.ts';
import { klPerDimension } from '../../../src-main/core/losses.ts';
import { createOrtEngine, stepModelBytes } from '../../../src-main/core/ort/engine.ts';
import { broadcastShape } from '../../../src-main/core/ort/graph.ts';
import { stepGraphUnsupported } from '../../../src-main/core/ort/vae-step.ts';
import { makeForward } from '../../../src-main/core/parallel/objective.ts';
import { Rng } from '../../../src-main/core/rng.ts';
import { applyUpdate, makeOptimizer, setLearningRate } from '../../../src-main/core/train.ts';
import { buildVae, type ImageShape } from '../../../src-main/core/vae.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

interface Case {
  name: string;
  input: TrainConfigInput;
  shape: ImageShape;
  n: number;
  /** Free bits as a fraction of the way from the smallest to the largest batch-mean KL (both mask values occur). */
  freeBitsAt?: number;
}

const CASES: Case[] = [
  { name: 'MLP, ReLU, two hidden layers, Bernoulli', input: { model: { kind: 'mlp', hidden: [12, 8], latentDim: 3, activation: 'relu' } }, shape: { width: 4, height: 4, channels: 1 }, n: 5 },
  {
    name: 'MLP, tanh, Gaussian with learned sigma, AdamW, clipping that bites',
    input: { model: { kind: 'mlp', hidden: [10], latentDim: 2, activation: 'tanh' }, likelihood: 'gaussian', gaussianSigmaMode: 'learned', gaussianSigma: 0.3, optimizer: { name: 'adamw', weightDecay: 0.1 }, gradClipNorm: 0.5 },
    shape: { width: 3, height: 3, channels: 1 },
    n: 6,
  },
  {
    name: 'MLP, ELU, continuous Bernoulli, free bits, beta 0.5',
    input: { model: { kind: 'mlp', hidden: [9], latentDim: 4, activation: 'elu' }, likelihood: 'continuousBernoulli', beta: 0.5 },
    shape: { width: 4, height: 4, channels: 1 },
    n: 7,
    freeBitsAt: 0.5,
  },
  {
    name: 'linear MLP (no hidden layer), leaky ReLU setting, Gaussian with fixed sigma',
    input: { model: { kind: 'mlp', hidden: [], latentDim: 2, activation: 'leakyRelu' }, likelihood: 'gaussian', gaussianSigma: 0.2 },
    shape: { width: 5, height: 1, channels: 1 },
    n: 4,
  },
  { name: 'MLP, leaky ReLU, Bernoulli', input: { model: { kind: 'mlp', hidden: [11], latentDim: 3, activation: 'leakyRelu' } }, shape: { width: 4, height: 4, channels: 1 }, n: 5 },
  {
    name: 'MLP, ReLU, RMSprop',
    input: { model: { kind: 'mlp', hidden: [8], latentDim: 2 }, optimizer: { name: 'rmsprop', rho: 0.8 } },
    shape: { width: 4, height: 4, channels: 1 },
    n: 5,
  },
  {
    name: 'MLP, tanh, SGD with momentum, clipping',
    input: { model: { kind: 'mlp', hidden: [8], latentDim: 2, activation: 'tanh' }, optimizer: { name: 'sgd', momentum: 0.5 }, gradClipNorm: 2 },
    shape: { width: 4, height: 4, channels: 1 },
    n: 5,
  },
  {
    name: 'MLP, ELU, plain SGD, Gaussian with learned sigma',
    input: { model: { kind: 'mlp', hidden: [8], latentDim: 2, activation: 'elu' }, optimizer: { name: 'sgd', momentum: 0 }, likelihood: 'gaussian', gaussianSigmaMode: 'learned', gaussianSigma: 0.5 },
    shape: { width: 3, height: 3, channels: 1 },
    n: 5,
  },
  {
    name: 'conv 8x8x1, channels 4-6, kernel 3, Bernoulli',
    input: { model: { kind: 'conv', channels: [4, 6], kernelSize: 3, latentDim: 3, activation: 'relu' } },
    shape: { width: 8, height: 8, channels: 1 },
    n: 3,
  },
  {
    name: 'conv 10x10 RGB (cropped decoder), kernel 4, dense layer, ELU, Gaussian',
    input: { model: { kind: 'conv', channels: [4, 5], kernelSize: 4, denseUnits: 7, latentDim: 2, activation: 'elu' }, likelihood: 'gaussian', gaussianSigma: 0.5 },
    shape: { width: 10, height: 10, channels: 3 },
    n: 3,
  },
  {
    name: 'conv 7x7x1 (odd sizes), kernel 2, leaky ReLU, continuous Bernoulli, clipping',
    input: { model: { kind: 'conv', channels: [3, 4], kernelSize: 2, latentDim: 2, activation: 'leakyRelu' }, likelihood: 'continuousBernoulli', gradClipNorm: 1 },
    shape: { width: 7, height: 7, channels: 1 },
    n: 4,
  },
];

function setup(c: Case, freeBits = 0) {
  const config: TrainConfig = TrainConfigSchema.parse({ ...c.input, freeBits });
  const dim = c.shape.width * c.shape.height * c.shape.channels;
  const { encoder, decoder } = buildVae(tf, config.model, c.shape, 5);
  const optimizer = makeOptimizer(tf, config);
  const modelVars = [...encoder.trainableWeights, ...decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  const logSigma = config.likelihood === 'gaussian' && config.gaussianSigmaMode === 'learned' ? tf.variable(tf.scalar(Math.log(config.gaussianSigma)), true) : null;
  const vars = logSigma ? [...modelVars, logSigma] : modelVars;
  const spec = { likelihood: config.likelihood, sigma: logSigma ? (logSigma as tf.Scalar) : config.gaussianSigma };
  const forward = makeForward(encoder, decoder, spec);
  const rng = new Rng(3);
  const x = Float32Array.from({ length: c.n * dim }, () => rng.uniform());
  const eps = rng.fillNormal(new Float32Array(c.n * config.model.latentDim));
  const dispose = () => {
    optimizer.dispose();
    logSigma?.dispose();
    encoder.dispose();
    decoder.dispose();
  };
  return { config, dim, encoder, decoder, optimizer, modelVars, logSigma, vars, forward, x, eps, dispose };
}

type Setup = ReturnType<typeof setup>;

/** tfjs's objective of core/train.ts: its gradient per variable and [recon, kl, klObjective]. */
function tfjsStep(s: Setup, n: number, beta: number) {
  const x = tf.tensor2d(s.x, [n, s.dim]);
  const eps = tf.tensor2d(s.eps, [n, s.config.model.latentDim]);
  let stats: number[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const { recon, klDims } = s.forward(x, eps);
    const klDimMean = klDims.mean(0);
    const klMean = klDimMean.sum();
    const kl = s.config.freeBits > 0 ? klDimMean.maximum(s.config.freeBits).sum() : klMean;
    stats = [recon.mean().dataSync()[0]!, klMean.dataSync()[0]!, kl.dataSync()[0]!];
    return recon.mean().add(kl.mul(beta)) as tf.Scalar;
  }, s.vars);
  value.dispose();
  x.dispose();
  eps.dispose();
  return { grads, stats };
}

/** Runs the step graph once from the variables' current values and zero moments. */
async function graphStep(s: Setup, shape: ImageShape, n: number, beta: number, lr: number) {
  const { bytes, params, slots } = stepModelBytes(s.config, shape);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const f = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
  const b1 = s.config.optimizer.beta1;
  const b2 = s.config.optimizer.beta2;
  const wd = s.config.optimizer.name === 'adamw' ? s.config.optimizer.weightDecay : 0;
  const feeds: Record<string, ort.Tensor> = {
    x: f(s.x, [n, s.dim]),
    eps: f(s.eps, [n, s.config.model.latentDim]),
    beta: f(Float32Array.of(beta), []),
    invBatch: f(Float32Array.of(1 / n), []),
    lr: f(Float32Array.of(lr), []),
    keep: f(Float32Array.of(1 - lr * wd), []),
    oneMinusAcc1: f(Float32Array.of(1 - b1), []),
    oneMinusAcc2: f(Float32Array.of(1 - b2), []),
  };
  params.forEach((shp, i) => {
    assert.deepEqual(shp, s.vars[i]!.shape, `parameter ${i} (${s.vars[i]!.name})`);
    const size = shp.reduce((a, b) => a * b, 1);
    feeds[`p${i}`] = f(Float32Array.from(s.vars[i]!.dataSync() as Float32Array), shp);
    for (let k = 0; k < slots; k++) feeds[`s${k}_${i}`] = f(new Float32Array(size), shp);
  });
  const out = await session.run(feeds);
  await session.release();
  const data = (k: string) => out[k]!.data as Float32Array;
  const o = s.config.optimizer;
  // The clipped gradient from the first update's state: Adam's m1 = (1 - beta1) g, the momentum
  // SGD velocity v1 = g, plain SGD's w1 = w0 - lr g. RMSprop keeps only g^2 and g / rms: no sign-safe read.
  const grad = (i: number): Float32Array | null => {
    if (o.name === 'adam' || o.name === 'adamw') return data(`s0_${i}_next`).map((m) => m / (1 - b1));
    if (o.name === 'sgd' && o.momentum > 0) return data(`s0_${i}_next`);
    if (o.name === 'sgd') return data(`p${i}_next`).map((w, k) => (feeds[`p${i}`]!.data[k] as number) - w).map((d) => d / lr);
    return null;
  };
  return {
    grads: params.map((_, i) => grad(i)),
    weights: params.map((_, i) => data(`p${i}_next`)),
    stats: [...data('stats')],
  };
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string, rel = 1e-4) {
  assert.equal(a.length, b.length, what);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= rel * scale + 1e-6, `${what}[${i}]: graph ${a[i]} vs tfjs ${b[i]} (scale ${scale})`);
  }
}

describe('the native step graph against tfjs cpu', { timeout: 120_000 }, () => {
  for (const c of CASES) {
    test(c.name, async () => {
      let freeBits = 0;
      if (c.freeBitsAt !== undefined) {
        const probe = setup(c);
        const means = tf.tidy(() => {
          const [mu, logvar] = probe.encoder.apply(tf.tensor2d(probe.x, [c.n, probe.dim]), { training: true }) as [tf.Tensor2D, tf.Tensor2D];
          return [...(klPerDimension(mu, logvar).mean(0).dataSync() as Float32Array)].sort((a, b) => a - b);
        });
        probe.dispose();
        freeBits = means[0]! + c.freeBitsAt * (means[means.length - 1]! - means[0]!);
      }
      const s = setup(c, freeBits);
      const beta = s.config.beta;
      const lr = 0.01;
      try {
        const graph = await graphStep(s, c.shape, c.n, beta, lr);
        const ref = tfjsStep(s, c.n, beta);
        const norm = Math.sqrt(s.vars.reduce((acc, v) => acc + (ref.grads[v.name]!.square().sum().dataSync()[0] as number), 0));
        assertClose(graph.stats, [...ref.stats, norm], 'stats [recon, kl, klObjective, gradient norm]');
        const clip = s.config.gradClipNorm;
        const scale = clip > 0 ? clip / Math.max(norm, clip) : 1;
        if (c.input.gradClipNorm) assert.ok(scale < 1, 'the case means the clipping to bite');
        s.vars.forEach((v, i) => {
          const want = (ref.grads[v.name]!.dataSync() as Float32Array).map((g) => g * scale);
          const got = graph.grads[i];
          // Plain SGD's gradient is read back through a float32 weight difference: looser.
          if (got) assertClose(got, want, `gradient of ${v.name}`, s.config.optimizer.name === 'sgd' && s.config.optimizer.momentum === 0 ? 2e-3 : 1e-4);
        });
        // tfjs's own update from the same gradient: clipping, decoupled decay, Adam.
        setLearningRate(s.optimizer, lr);
        applyUpdate(tf, s.optimizer, ref.grads, { lr, clipNorm: clip, weightDecay: s.config.optimizer.name === 'adamw' ? s.config.optimizer.weightDecay : 0, decayed: s.modelVars });
        s.vars.forEach((v, i) => assertClose(graph.weights[i]!, v.dataSync() as Float32Array, `updated ${v.name}`, 1e-5));
      } finally {
        s.dispose();
      }
    });
  }

  test('broadcastShape follows numpy, with the batch as its own size', () => {
    assert.deepEqual(broadcastShape([-1, 4], [4]), [-1, 4]);
    assert.deepEqual(broadcastShape([], [-1, 3]), [-1, 3]);
    assert.deepEqual(broadcastShape([-1, 1], [1, 5]), [-1, 5]);
    assert.throws(() => broadcastShape([3], [4]), /do not broadcast/);
  });

  test('the graph covers every optimiser of the config schema', () => {
    for (const name of OPTIMIZERS) assert.equal(stepGraphUnsupported(TrainConfigSchema.parse({ optimizer: { name } })), null, name);
  });
});

describe('the native step engine', { timeout: 120_000 }, () => {
  test('steps, hands weights and Adam state back to tfjs, and leaks no tensor per step', async () => {
    const c = CASES[0]!;
    const s = setup(c);
    try {
      const engine = await createOrtEngine({ ort, tf, config: s.config, shape: c.shape, threads: 2, optimizer: s.optimizer, logSigma: s.logSigma, vars: s.vars });
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const st = await engine.step(s.x, s.eps, c.n, 1, 0.01);
        losses.push(st[0]! + st[1]!);
      }
      assert.equal(tf.memory().numTensors, before, 'tensors alive after 30 steps');
      assert.ok(losses[29]! < losses[0]! * 0.9, `the loss on a fixed batch falls: ${losses[0]} -> ${losses[29]}`);
      engine.syncModel();
      await engine.syncOptimizer!();
      const named = await s.optimizer.getWeights();
      assert.equal(named[0]!.name, 'iter');
      assert.equal(named[0]!.tensor.dataSync()[0], 30, 'iteration count');
      // The tfjs objective at the synced weights equals the graph's next reported loss.
      const ref = tfjsStep(s, c.n, 1);
      tf.dispose(Object.values(ref.grads));
      const next = await engine.step(s.x, s.eps, c.n, 1, 0.01);
      assertClose([next[0]!, next[1]!], ref.stats.slice(0, 2), 'loss at the synced weights');
      await engine.close();
      await engine.close();
    } finally {
      s.dispose();
    }
  });
});
