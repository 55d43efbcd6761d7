/**
 * The Sum kernel registered for the wasm backend (src-main/trainer/wasm-kernels.ts) reduces
 * leading axes without a transpose; every other reduction goes to the stock kernel. Both paths
 * must equal the 'cpu' backend, with and without keepDims.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../../src-main/core/rng.ts';
import { installWasmKernels } from '../../../src-main/trainer/wasm-kernels.ts';
import type * as WasmBackend from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

before(async () => {
  tf.env().set('PROD', true);
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof WasmBackend;
  wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
  installWasmKernels(tf);
});

async function on(backend: string, f: () => tf.Tensor): Promise<{ shape: number[]; values: Float32Array }> {
  assert.ok(await tf.setBackend(backend));
  const before = tf.memory().numTensors;
  const out = tf.tidy(f);
  const values = (await out.data()) as Float32Array;
  const shape = out.shape;
  out.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend} leaked tensors`);
  return { shape, values };
}

test('sums over leading axes, other axes and all axes match cpu, with and without keepDims', async () => {
  const rng = new Rng(5);
  const shape = [6, 5, 7, 3];
  const x = Float32Array.from({ length: 6 * 5 * 7 * 3 }, () => rng.normal());
  const cases: Array<number | number[] | undefined> = [0, [0, 1], [0, 1, 2], [1, 0], [1, 2], [3], [0, 2], undefined, -1];
  for (const axis of cases) {
    for (const keepDims of [false, true]) {
      const f = () => tf.sum(tf.tensor(x, shape), axis, keepDims);
      const [w, c] = [await on('wasm', f), await on('cpu', f)];
      const what = `axis ${JSON.stringify(axis)} keepDims ${keepDims}`;
      assert.deepEqual(w.shape, c.shape, what);
      for (let i = 0; i < c.values.length; i++) {
        assert.ok(Math.abs(w.values[i]! - c.values[i]!) <= 1e-5 * (1 + Math.abs(c.values[i]!)), `${what}[${i}]: wasm ${w.values[i]} vs cpu ${c.values[i]}`);
      }
    }
  }
});

test('int32 sums keep the stock kernel and their dtype', async () => {
  const f = () => tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), 0);
  assert.ok(await tf.setBackend('wasm'));
  const out = f();
  assert.equal(out.dtype, 'int32');
  assert.deepEqual(Array.from(await out.data()), [5, 7, 9]);
  out.dispose();
});
