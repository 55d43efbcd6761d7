/**
 * The wasm backend's matMul kernels are replaced (src-main/trainer/wasm-kernels.ts) so that
 * transposed products take the fast path. They must compute exactly what the reference 'cpu'
 * backend computes, for every transpose combination, batched inputs and the fused variant.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../../src-main/core/rng.ts';
import { installWasmMatMulKernels } from '../../../src-main/trainer/wasm-kernels.ts';
import type * as WasmBackend from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

before(async () => {
  tf.env().set('PROD', true);
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof WasmBackend;
  wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
  installWasmMatMulKernels(tf);
});

const rand = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** Runs `f` on a backend and returns the result's values. */
async function on(backend: string, f: () => tf.Tensor): Promise<Float32Array> {
  assert.ok(await tf.setBackend(backend));
  const before = tf.memory().numTensors;
  const out = tf.tidy(f);
  const v = (await out.data()) as Float32Array;
  out.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend} leaked tensors`);
  return v;
}

function assertClose(a: Float32Array, b: Float32Array, what: string) {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-4 * (1 + Math.abs(b[i]!)), `${what}[${i}]: wasm ${a[i]} vs cpu ${b[i]}`);
  }
}

test('matMul with every transpose combination, 2-D and batched, matches cpu', async () => {
  const rng = new Rng(1);
  const [m, k, n] = [7, 33, 5];
  for (const batch of [null, 3]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const shapeA = ta ? [k, m] : [m, k];
        const shapeB = tb ? [n, k] : [k, n];
        const full = (s: number[]) => (batch ? [batch, ...s] : s);
        const av = rand(rng, (batch ?? 1) * m * k);
        const bv = rand(rng, (batch ?? 1) * k * n);
        const f = () => tf.matMul(tf.tensor(av, full(shapeA)), tf.tensor(bv, full(shapeB)), ta, tb);
        assertClose(await on('wasm', f), await on('cpu', f), `batch ${batch} ta ${ta} tb ${tb}`);
      }
    }
  }
});

test('fused matMul (bias + relu) with transposes matches cpu', async () => {
  const rng = new Rng(2);
  const a = rand(rng, 6 * 10);
  const b = rand(rng, 10 * 4);
  const bias = rand(rng, 4);
  for (const [ta, tb] of [
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const f = () =>
      tf.fused.matMul({
        a: tf.tensor2d(a, ta ? [10, 6] : [6, 10]),
        b: tf.tensor2d(b, tb ? [4, 10] : [10, 4]),
        transposeA: ta,
        transposeB: tb,
        bias: tf.tensor1d(bias),
        activation: 'relu',
      });
    assertClose(await on('wasm', f), await on('cpu', f), `fused ta ${ta} tb ${tb}`);
  }
});

test('gradients through a dense layer match cpu', async () => {
  const rng = new Rng(3);
  const x = rand(rng, 16 * 20);
  const w = rand(rng, 20 * 8);
  const grads = () => {
    const g = tf.grads((xs: tf.Tensor, ws: tf.Tensor) => tf.matMul(xs, ws).relu().square().sum());
    const [dx, dw] = g([tf.tensor2d(x, [16, 20]), tf.tensor2d(w, [20, 8])]);
    return tf.concat([dx!.flatten(), dw!.flatten()]);
  };
  assertClose(await on('wasm', grads), await on('cpu', grads), 'gradients');
});
