/**
 * The tfjs -> ONNX translation, run in onnxruntime-node on tiny models whose weights are set by
 * hand, against outputs computed by hand (closed forms, not tfjs): an MLP encoder with two heads,
 * a strided 'same' convolution with TensorFlow's uneven padding, a transposed convolution with its
 * output cropped, and the channels-last flattening order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { convAxis, convTransposeAxis, layersToOnnx, permute } from '../../../src-main/core/export/onnx.ts';
import type { LayerJson, LoadedModelFiles } from '../../../src-main/core/export/tfjs.ts';

type W = [name: string, shape: number[], data: number[]];

/** A sequential-or-branching model.json from layer specs [name, class, config, inbound]. */
function model(layers: [string, string, Record<string, unknown>, string[]][], outputs: string[], weights: W[]): LoadedModelFiles {
  const json: LayerJson[] = layers.map(([name, class_name, config, inbound]) => ({
    name,
    class_name,
    config: { name, ...config },
    inbound_nodes: inbound.length ? [inbound.map((i) => [i, 0, 0, {}] as [string, number, number, unknown])] : [],
  }));
  return {
    json: {
      modelTopology: {
        class_name: 'Model',
        config: { name: 'm', layers: json, input_layers: [[layers[0]![0], 0, 0]], output_layers: outputs.map((o) => [o, 0, 0] as [string, number, number]) },
      },
      weightsManifest: [],
    },
    weights: new Map(weights.map(([n, shape, data]) => [n, { shape, data: Float32Array.from(data) }])),
    files: [],
  };
}

async function run(m: LoadedModelFiles, outputNames: string[], x: number[], shape: [number, number]): Promise<number[][]> {
  const bytes = layersToOnnx(m, { graphName: 'test', outputNames, producerVersion: 'test' });
  const session = await ort.InferenceSession.create(bytes);
  try {
    const res = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(x), shape) });
    return outputNames.map((n) => [...(res[n]!.data as Float32Array)]);
  } finally {
    await session.release();
  }
}

const close = (got: number[], want: number[], tol = 1e-6) => {
  assert.equal(got.length, want.length, `${got} vs ${want}`);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) <= tol, `[${i}] ${g} vs ${want[i]} (got ${got}, want ${want})`));
};

test('MLP encoder: Dense + relu, LeakyReLU, two linear heads, batch of 2', async () => {
  // h = relu(x W1 + b1), W1 [2, 2]; g = leakyRelu_0.2(h W2 + b2), W2 [2, 1]; mu = g Wm + bm; logvar = g Wl + bl.
  const m = model(
    [
      ['x', 'InputLayer', { batch_input_shape: [null, 2] }, []],
      ['d1', 'Dense', { units: 2, activation: 'relu', use_bias: true }, ['x']],
      ['d2', 'Dense', { units: 1, activation: 'linear', use_bias: true }, ['d1']],
      ['a2', 'LeakyReLU', { alpha: 0.2 }, ['d2']],
      ['mu', 'Dense', { units: 2, activation: 'linear', use_bias: true }, ['a2']],
      ['lv', 'Dense', { units: 1, activation: 'tanh', use_bias: false }, ['a2']],
    ],
    ['mu', 'lv'],
    [
      ['d1/kernel', [2, 2], [1, -1, 2, 0.5]],
      ['d1/bias', [2], [0.5, -1]],
      ['d2/kernel', [2, 1], [1, -2]],
      ['d2/bias', [1], [0.25]],
      ['mu/kernel', [1, 2], [3, -1]],
      ['mu/bias', [2], [0, 1]],
      ['lv/kernel', [1, 1], [0.5]],
    ],
  );
  const [mu, lv] = await run(m, ['mu', 'logvar'], [1, 2, -1, 0.5], [2, 2]);
  // Row 1: x = [1, 2]: x W1 = [1 + 4, -1 + 1] = [5, 0] + b1 = [5.5, -1] -> relu [5.5, 0];
  //   h W2 = 5.5 + 0.25 = 5.75 -> leaky 5.75; mu = [17.25, -5.75 + 1]; logvar = tanh(2.875).
  // Row 2: x = [-1, 0.5]: x W1 = [-1 + 1, 1 + 0.25] = [0, 1.25] + b1 = [0.5, 0.25] -> relu same;
  //   h W2 = 0.5 - 0.5 + 0.25 = 0.25 -> 0.25; mu = [0.75, 0.75]; logvar = tanh(0.125).
  close(mu!, [17.25, -4.75, 0.75, 0.75], 1e-5);
  close(lv!, [Math.tanh(2.875), Math.tanh(0.125)]);
  // A negative pre-activation goes through LeakyRelu's slope: x = [0, 0] -> relu [0.5, 0] -> 0.5 * 1 + 0.25 = 0.75.
  // x = [-3, 0]: x W1 = [-3, 3] + b1 = [-2.5, 2] -> [0, 2] -> -4 + 0.25 = -3.75 -> -0.75.
  const [mu2] = await run(m, ['mu', 'logvar'], [-3, 0], [1, 2]);
  close(mu2!, [-2.25, 1.75]);
});

test('conv encoder: Reshape to HWC, Conv2D stride 2 with TensorFlow\'s "same" padding (0 top, 1 bottom), elu, HWC flatten', async () => {
  // A 3x3 one-channel image, 2x2 kernel, stride 2, 'same': output 2x2, pad total 1 -> nothing above /
  // left, one zero row / column below / right. Two filters: k0 = [[1, 0], [0, 0]] picks x[2i][2j];
  // k1 = [[1, 1], [1, 1]] sums the window. tfjs kernel layout [kh, kw, in, out].
  const k0 = [1, 0, 0, 0];
  const k1 = [1, 1, 1, 1];
  const kernel: number[] = [];
  for (let p = 0; p < 4; p++) kernel.push(k0[p]!, k1[p]!);
  const m = model(
    [
      ['x', 'InputLayer', { batch_input_shape: [null, 9] }, []],
      ['img', 'Reshape', { target_shape: [3, 3, 1] }, ['x']],
      ['c', 'Conv2D', { filters: 2, kernel_size: [2, 2], strides: [2, 2], padding: 'same', activation: 'elu', use_bias: true, data_format: 'channels_last', dilation_rate: [1, 1] }, ['img']],
      ['f', 'Flatten', {}, ['c']],
    ],
    ['f'],
    [
      ['c/kernel', [2, 2, 1, 2], kernel],
      ['c/bias', [2], [0, -100]],
    ],
  );
  const x = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // row-major 3x3
  const [y] = await run(m, ['y'], x, [1, 9]);
  const X = (r: number, c: number) => (r < 3 && c < 3 ? x[r * 3 + c]! : 0);
  const want: number[] = [];
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 2; j++) {
      const pick = X(2 * i, 2 * j);
      const sum = X(2 * i, 2 * j) + X(2 * i, 2 * j + 1) + X(2 * i + 1, 2 * j) + X(2 * i + 1, 2 * j + 1) - 100;
      // Flattened channels-last: (i, j, channel).
      want.push(pick, Math.exp(sum) - 1);
    }
  }
  close(y!, want);
});

test('conv decoder: Dense -> Reshape 1x1x1 -> Conv2DTranspose (k 3, stride 2, same) -> Cropping2D -> Flatten', async () => {
  // z [1] -> dense 1 unit (weight 2, bias 0) -> a 1x1 image v = 2z. The transposed convolution of a
  // 1x1 input by a 3x3 kernel is v * K (3x3); stride 2, 'same' gives 2x2 = the first 2 rows and
  // columns (TensorFlow's padding: 0 before, 1 after). Two output channels K0, K1 plus biases; the
  // crop then keeps row 1, columns 0..1 (cropping [[1, 0], [0, 0]]).
  const K0 = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const K1 = [-1, 0, 1, 0, 2, 0, 1, 0, -1];
  const kernel: number[] = []; // [kh, kw, out, in] = [3, 3, 2, 1]
  for (let p = 0; p < 9; p++) kernel.push(K0[p]!, K1[p]!);
  const m = model(
    [
      ['z', 'InputLayer', { batch_input_shape: [null, 1] }, []],
      ['d', 'Dense', { units: 1, activation: 'linear', use_bias: true }, ['z']],
      ['r', 'Reshape', { target_shape: [1, 1, 1] }, ['d']],
      ['t', 'Conv2DTranspose', { filters: 2, kernel_size: [3, 3], strides: [2, 2], padding: 'same', activation: 'linear', use_bias: true, data_format: 'channels_last' }, ['r']],
      ['crop', 'Cropping2D', { cropping: [[1, 0], [0, 0]], data_format: 'channels_last' }, ['t']],
      ['out', 'Flatten', {}, ['crop']],
    ],
    ['out'],
    [
      ['d/kernel', [1, 1], [2]],
      ['d/bias', [1], [0]],
      ['t/kernel', [3, 3, 2, 1], kernel],
      ['t/bias', [2], [0.5, -0.5]],
    ],
  );
  const [y] = await run(m, ['x_logits'], [1.5, -1], [2, 1]);
  const want: number[] = [];
  for (const z of [1.5, -1]) {
    const v = 2 * z;
    // Row 1 (after cropping row 0), columns 0 and 1, channels 0 and 1.
    for (let c = 0; c < 2; c++) want.push(v * K0[3 + c]! + 0.5, v * K1[3 + c]! - 0.5);
  }
  close(y!, want);
});

test('padding rules: tfjs "same" convolutions and their transposes', () => {
  assert.deepEqual(convAxis(28, 4, 2, 'same'), { out: 14, begin: 1, end: 1 });
  assert.deepEqual(convAxis(7, 3, 2, 'same'), { out: 4, begin: 1, end: 1 });
  assert.deepEqual(convAxis(3, 2, 2, 'same'), { out: 2, begin: 0, end: 1 });
  assert.deepEqual(convAxis(8, 3, 2, 'valid'), { out: 3, begin: 0, end: 0 });
  assert.deepEqual(convTransposeAxis(7, 4, 2, 'same'), { out: 14, begin: 1, end: 1, outputPadding: 0 });
  assert.deepEqual(convTransposeAxis(4, 3, 2, 'same'), { out: 8, begin: 0, end: 1, outputPadding: 0 });
  assert.deepEqual(convTransposeAxis(4, 2, 2, 'same'), { out: 8, begin: 0, end: 0, outputPadding: 0 });
});

test('permute: [2, 3] transposed, and a 4-D kernel layout change', () => {
  assert.deepEqual([...permute(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0]).data], [1, 4, 2, 5, 3, 6]);
  // [kh=1, kw=2, in=1, out=3] -> [out, in, kh, kw]
  const p = permute(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 2, 1, 3], [3, 2, 0, 1]);
  assert.deepEqual(p.shape, [3, 1, 1, 2]);
  assert.deepEqual([...p.data], [1, 4, 2, 5, 3, 6]);
});

test('unsupported layers and settings are refused with the layer named', () => {
  const m = model(
    [
      ['x', 'InputLayer', { batch_input_shape: [null, 4] }, []],
      ['bn', 'BatchNormalization', {}, ['x']],
    ],
    ['bn'],
    [],
  );
  assert.throws(() => layersToOnnx(m, { graphName: 'g', outputNames: ['y'], producerVersion: '0' }), /bn: BatchNormalization/);
  const selu = model(
    [
      ['x', 'InputLayer', { batch_input_shape: [null, 1] }, []],
      ['d', 'Dense', { units: 1, activation: 'selu' }, ['x']],
    ],
    ['d'],
    [
      ['d/kernel', [1, 1], [1]],
      ['d/bias', [1], [0]],
    ],
  );
  assert.throws(() => layersToOnnx(selu, { graphName: 'g', outputNames: ['y'], producerVersion: '0' }), /layer d: activation "selu"/);
});
