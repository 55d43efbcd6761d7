/**
 * The convolution kernels registered for the wasm backend (src-main/trainer/wasm-kernels.ts):
 * Conv2DBackpropFilter (absent from the package) and Conv2DBackpropInput (replaced), each against
 * the reference 'cpu' backend on random shapes (stride 1 and 2, 'same' and 'valid' padding, odd
 * sizes, one and many channels), then the gradients of a whole conv VAE step on wasm against cpu.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ModelConfigSchema } from '../../../src-main/contract/config.ts';
import { bernoulliNllFromLogits, klStandardNormal } from '../../../src-main/core/losses.ts';
import { Rng } from '../../../src-main/core/rng.ts';
import { buildVae } from '../../../src-main/core/vae.ts';
import { installWasmKernels } from '../../../src-main/trainer/wasm-kernels.ts';
import type * as WasmBackend from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

before(async () => {
  tf.env().set('PROD', true);
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof WasmBackend;
  wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
  installWasmKernels(tf);
  assert.ok(await tf.setBackend('cpu'));
});

const rand = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** Runs `f` on a backend and returns the result's values; asserts nothing leaked. */
async function on(backend: string, f: () => tf.Tensor): Promise<Float32Array> {
  assert.ok(await tf.setBackend(backend));
  const before = tf.memory().numTensors;
  const out = tf.tidy(f);
  const v = (await out.data()) as Float32Array;
  out.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend} leaked tensors`);
  return v;
}

/** Max abs difference relative to the reference's scale. */
function assertClose(a: Float32Array, b: Float32Array, what: string, tol = 1e-5) {
  assert.equal(a.length, b.length, what);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  assert.ok(scale > 0, `${what}: the reference is all zeros, the test would prove nothing`);
  assert.ok(worst <= tol * Math.max(1, scale), `${what}: max |wasm - cpu| = ${worst} (reference scale ${scale})`);
}

interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: [number, number];
  stride: number | [number, number];
  pad: 'same' | 'valid';
}

/** Fixed cases covering the conv VAE's layers plus random ones. */
function cases(): Case[] {
  const fixed: Case[] = [
    { n: 3, h: 28, w: 28, ci: 1, co: 8, k: [3, 3], stride: 2, pad: 'same' },
    { n: 2, h: 14, w: 14, ci: 8, co: 16, k: [4, 4], stride: 2, pad: 'same' },
    { n: 2, h: 7, w: 9, ci: 5, co: 3, k: [3, 3], stride: 1, pad: 'same' },
    { n: 1, h: 11, w: 13, ci: 3, co: 4, k: [3, 2], stride: [2, 3], pad: 'valid' },
    { n: 2, h: 15, w: 15, ci: 2, co: 6, k: [5, 5], stride: 2, pad: 'same' },
  ];
  const rng = new Rng(99);
  const pick = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
  for (let i = 0; i < 8; i++) {
    const k = pick(1, 5);
    fixed.push({
      n: pick(1, 3),
      h: pick(k, 17),
      w: pick(k, 17),
      ci: pick(1, 9),
      co: pick(1, 9),
      k: [k, k],
      stride: pick(1, 3),
      pad: rng.uniform() < 0.5 ? 'same' : 'valid',
    });
  }
  return fixed;
}

const outShape = (c: Case, filterShape: [number, number, number, number]) =>
  tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], filterShape, c.stride, 1, c.pad).outShape;

const label = (c: Case) => `x ${c.n}x${c.h}x${c.w}x${c.ci}, filter ${c.k.join('x')}x${c.ci}x${c.co}, stride ${c.stride}, ${c.pad}`;

test('Conv2DBackpropFilter matches cpu', async () => {
  const rng = new Rng(1);
  for (const c of cases()) {
    const x = rand(rng, c.n * c.h * c.w * c.ci);
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
    const yShape = outShape(c, filterShape);
    const dy = rand(rng, yShape.reduce((a, b) => a * b, 1));
    const f = () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor(x, [c.n, c.h, c.w, c.ci]), dy: tf.tensor(dy, yShape) }, {
        strides: c.stride,
        pad: c.pad,
        dataFormat: 'NHWC',
        filterShape,
      } as never) as tf.Tensor;
    assertClose(await on('wasm', f), await on('cpu', f), `filter gradient, ${label(c)}`);
  }
});

test('Conv2DBackpropInput (transposed convolution) matches cpu', async () => {
  const rng = new Rng(2);
  for (const c of cases()) {
    const filter = rand(rng, c.k[0] * c.k[1] * c.ci * c.co);
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
    const yShape = outShape(c, filterShape);
    const dy = rand(rng, yShape.reduce((a, b) => a * b, 1));
    const f = () =>
      tf.conv2dTranspose(tf.tensor(dy, yShape) as tf.Tensor4D, tf.tensor(filter, filterShape) as tf.Tensor4D, [c.n, c.h, c.w, c.ci], c.stride, c.pad);
    assertClose(await on('wasm', f), await on('cpu', f), `input gradient, ${label(c)}`);
  }
});

test('the gradient of a conv layer (both kernels inside tf.grads) matches cpu', async () => {
  const rng = new Rng(3);
  const x = rand(rng, 2 * 9 * 9 * 3);
  const w = rand(rng, 4 * 4 * 3 * 5);
  const f = () => {
    const g = tf.grads((xs: tf.Tensor, ws: tf.Tensor) => tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, 2, 'same').relu().square().sum());
    const [dx, dw] = g([tf.tensor(x, [2, 9, 9, 3]), tf.tensor(w, [4, 4, 3, 5])]);
    return tf.concat([dx!.flatten(), dw!.flatten()]);
  };
  assertClose(await on('wasm', f), await on('cpu', f), 'conv2d gradients', 1e-4);
});

test('a conv VAE (28x28x1, Conv 8 and 16, stride 2): loss and every weight gradient on wasm match cpu', async () => {
  const model = ModelConfigSchema.parse({ kind: 'conv', channels: [8, 16], kernelSize: 3, latentDim: 4 });
  const rng = new Rng(4);
  const N = 6;
  const data = Float32Array.from({ length: N * 784 }, () => rng.uniform());
  const eps = rand(rng, N * 4);
  const run = async (backend: string) => {
    assert.ok(await tf.setBackend(backend));
    const before = tf.memory().numTensors;
    const vae = buildVae(tf, model, { width: 28, height: 28, channels: 1 }, 12);
    const vars = [...vae.encoder.trainableWeights, ...vae.decoder.trainableWeights].map((v) => v.read() as tf.Variable);
    const flat = tf.tidy(() => {
      const x = tf.tensor2d(data, [N, 784]);
      const e = tf.tensor2d(eps, [N, 4]);
      const { value, grads } = tf.variableGrads(() => {
        const [mu, logvar] = vae.encoder.apply(x, { training: true }) as [tf.Tensor2D, tf.Tensor2D];
        const z = mu.add(logvar.mul(0.5).exp().mul(e)) as tf.Tensor2D;
        const logits = vae.decoder.apply(z, { training: true }) as tf.Tensor2D;
        return bernoulliNllFromLogits(x, logits).add(klStandardNormal(mu, logvar)).mean() as tf.Scalar;
      }, vars);
      return tf.concat([value.reshape([1]), ...vars.map((v) => grads[v.name]!.flatten())]);
    });
    const values = (await flat.data()) as Float32Array;
    flat.dispose();
    vae.encoder.dispose();
    vae.decoder.dispose();
    assert.equal(tf.memory().numTensors, before, `${backend} leaked tensors`);
    return values;
  };
  const [w, c] = [await run('wasm'), await run('cpu')];
  assert.ok(Math.abs(w[0]! - c[0]!) <= 1e-4 * c[0]!, `loss wasm ${w[0]} vs cpu ${c[0]}`);
  assertClose(w, c, 'loss and gradients', 1e-4);
});
