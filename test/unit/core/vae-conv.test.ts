/**
 * The convolutional VAE (core/vae.ts, kind 'conv'): shapes for every supported image size (output
 * exactly the input's size, including sizes that are not a multiple of 2^layers), the parameter
 * count against its closed form, seeded weights, tfjs serialisation (what checkpoints and the
 * renderer rely on), and a few training steps that lower the loss without leaking tensors.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ModelConfigSchema } from '../../../src-main/contract/config.ts';
import { bernoulliNllFromLogits, klStandardNormal } from '../../../src-main/core/losses.ts';
import { Rng } from '../../../src-main/core/rng.ts';
import { buildVae, convGeometry, squareImageShape, type ImageShape, type Vae } from '../../../src-main/core/vae.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const conv = (extra: Record<string, unknown> = {}) => ModelConfigSchema.parse({ kind: 'conv', ...extra });
const dispose = (v: Vae) => {
  v.encoder.dispose();
  v.decoder.dispose();
};
const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

test('the schema keeps MLP configs as they were and accepts conv fields with defaults', () => {
  const mlp = ModelConfigSchema.parse({});
  assert.equal(mlp.kind, 'mlp');
  assert.deepEqual(mlp.hidden, [400]);
  const c = conv();
  assert.deepEqual([c.channels, c.kernelSize, c.denseUnits], [[32, 64], 4, 0]);
  assert.throws(() => ModelConfigSchema.parse({ kind: 'conv', kernelSize: 1 }));
  assert.throws(() => ModelConfigSchema.parse({ kind: 'conv', channels: [] }));
  assert.throws(() => ModelConfigSchema.parse({ kind: 'resnet' }));
});

test('geometry: each layer halves the size rounding up; the decoder output is cropped back exactly', () => {
  assert.deepEqual(convGeometry({ channels: [32, 64] }, { width: 28, height: 28, channels: 1 }), {
    encoderSizes: [
      [14, 14],
      [7, 7],
    ],
    decoderSize: [28, 28],
    crop: [
      [0, 0],
      [0, 0],
    ],
  });
  // 28 -> 14 -> 7 -> 4 comes back as 32: four rows and columns too many, two cut on each side.
  assert.deepEqual(convGeometry({ channels: [8, 8, 8] }, { width: 28, height: 28, channels: 1 }).crop, [
    [2, 2],
    [2, 2],
  ]);
  // 30 x 21 -> 15 x 11 -> 8 x 6 -> 32 x 24: height loses 2, width 3 (the odd one at the right).
  const g = convGeometry({ channels: [4, 4] }, { width: 21, height: 30, channels: 1 });
  assert.deepEqual(g.decoderSize, [32, 24]);
  assert.deepEqual(g.crop, [
    [1, 1],
    [1, 2],
  ]);
});

for (const shape of [
  { width: 28, height: 28, channels: 1 },
  { width: 32, height: 32, channels: 3 },
  { width: 64, height: 64, channels: 1 },
  { width: 128, height: 128, channels: 3 },
  { width: 30, height: 21, channels: 3 },
] satisfies ImageShape[]) {
  test(`builds for ${shape.height}x${shape.width}x${shape.channels}: output size == input size, values depend on z`, () => {
    const before = tf.memory().numTensors;
    const vae = buildVae(tf, conv({ latentDim: 16, kernelSize: 3 }), shape, 3);
    const D = shape.width * shape.height * shape.channels;
    assert.deepEqual(vae.encoder.inputs[0]!.shape, [null, D]);
    assert.deepEqual(vae.decoder.outputs[0]!.shape, [null, D]);
    const [sumA, sumB, muShape] = tf.tidy(() => {
      const [mu] = vae.encoder.predict(tf.randomUniform([2, D], 0, 1, 'float32', 1)) as tf.Tensor[];
      const a = vae.decoder.predict(tf.randomNormal([2, 16], 0, 1, 'float32', 2)) as tf.Tensor;
      const b = vae.decoder.predict(tf.randomNormal([2, 16], 0, 1, 'float32', 3)) as tf.Tensor;
      assert.deepEqual(a.shape, [2, D]);
      return [a.abs().sum().dataSync()[0]!, a.sub(b).abs().sum().dataSync()[0]!, mu!.shape];
    });
    assert.deepEqual(muShape, [2, 16]);
    assert.ok(sumA > 0 && sumB > 0, 'the decoder output must depend on z');
    dispose(vae);
    assert.equal(tf.memory().numTensors, before, 'building and disposing leaked tensors');
  });
}

test('parameter count of the issue model (Conv 32, 64, kernel 3, latent 16, 28x28x1) matches its closed form', () => {
  const vae = buildVae(tf, conv({ latentDim: 16, kernelSize: 3, channels: [32, 64] }), { width: 28, height: 28, channels: 1 }, 1);
  const k = 9;
  const encoder = k * 1 * 32 + 32 + (k * 32 * 64 + 64) + 2 * (7 * 7 * 64 * 16 + 16);
  // dense z -> 7x7x64, deconv 64 -> 32, deconv 32 -> 1 (transposed kernels are [k, k, out, in]).
  const decoder = 16 * 3136 + 3136 + (k * 32 * 64 + 32) + (k * 1 * 32 + 1);
  assert.equal(vae.encoder.countParams(), encoder);
  assert.equal(vae.decoder.countParams(), decoder);
  assert.equal(vae.paramCount, encoder + decoder);
  const classes = vae.decoder.layers.map((l) => l.getClassName());
  assert.deepEqual(classes, ['InputLayer', 'Dense', 'Reshape', 'Conv2DTranspose', 'Conv2DTranspose', 'Flatten']);
  dispose(vae);
});

test('a dense layer, leakyRelu and a crop appear where configured', () => {
  const vae = buildVae(tf, conv({ latentDim: 4, channels: [4, 4, 4], denseUnits: 32, activation: 'leakyRelu' }), { width: 28, height: 28, channels: 1 }, 1);
  assert.equal(vae.encoder.getLayer('enc_dense_1').outputShape.toString(), [null, 32].toString());
  assert.ok(vae.decoder.layers.some((l) => l.getClassName() === 'Cropping2D'));
  assert.equal(vae.encoder.layers.filter((l) => l.getClassName() === 'LeakyReLU').length, 4);
  dispose(vae);
});

test('a flat size alone is read as a square grayscale or RGB image; other sizes are refused', () => {
  assert.deepEqual(squareImageShape(784), { width: 28, height: 28, channels: 1 });
  assert.deepEqual(squareImageShape(3072), { width: 32, height: 32, channels: 3 });
  assert.equal(squareImageShape(600), null);
  const vae = buildVae(tf, conv({ latentDim: 2, channels: [4] }), 3 * 12 * 12, 1);
  assert.deepEqual(vae.decoder.getLayer('dec_deconv_1').outputShape, [null, 12, 12, 3]);
  dispose(vae);
  assert.throws(() => buildVae(tf, conv(), 600, 1), /width, height and channels/);
});

test('the same seed gives identical weights, another seed different ones', () => {
  const cfg = conv({ latentDim: 3, channels: [4, 8] });
  const shape = { width: 12, height: 12, channels: 1 };
  const [a, b, c] = [buildVae(tf, cfg, shape, 7), buildVae(tf, cfg, shape, 7), buildVae(tf, cfg, shape, 8)];
  assert.deepEqual(weightsOf(a.encoder), weightsOf(b.encoder));
  assert.deepEqual(weightsOf(a.decoder), weightsOf(b.decoder));
  assert.notDeepEqual(weightsOf(a.decoder), weightsOf(c.decoder));
  [a, b, c].forEach(dispose);
});

test('both models survive tfjs serialisation (checkpoints, renderer) and decode identically', async () => {
  const vae = buildVae(tf, conv({ latentDim: 3, channels: [4, 8], kernelSize: 3 }), { width: 10, height: 10, channels: 1 }, 5);
  let saved: tf.io.ModelArtifacts | null = null;
  await vae.decoder.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  const z = tf.tensor2d([[0.3, -1, 2]]);
  const [p, q] = [vae.decoder.predict(z) as tf.Tensor, loaded.predict(z) as tf.Tensor];
  assert.deepEqual(Array.from(p.dataSync()), Array.from(q.dataSync()));
  tf.dispose([z, p, q]);
  loaded.dispose();
  dispose(vae);
});

test('a few Adam steps on a tiny image batch lower the -ELBO and leak no tensor', () => {
  const shape = { width: 12, height: 12, channels: 1 };
  const D = 144;
  const rng = new Rng(11);
  // Blobs: a bright square at a random place, so the model has structure to learn.
  const data = new Float32Array(16 * D);
  for (let n = 0; n < 16; n++) {
    const [r, c] = [Math.floor(rng.uniform() * 8), Math.floor(rng.uniform() * 8)];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) data[n * D + (r + i) * 12 + (c + j)] = 1;
  }
  const eps = Float32Array.from({ length: 16 * 2 }, () => rng.normal());
  const before = tf.memory().numTensors;
  const vae = buildVae(tf, conv({ latentDim: 2, channels: [4, 8], kernelSize: 3 }), shape, 2);
  const vars = [...vae.encoder.trainableWeights, ...vae.decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  const opt = tf.train.adam(1e-2);
  const x = tf.tensor2d(data, [16, D]);
  const e = tf.tensor2d(eps, [16, 2]);
  const loss = () =>
    tf.tidy(() => {
      const [mu, logvar] = vae.encoder.apply(x, { training: true }) as [tf.Tensor2D, tf.Tensor2D];
      const z = mu.add(logvar.mul(0.5).exp().mul(e)) as tf.Tensor2D;
      const logits = vae.decoder.apply(z, { training: true }) as tf.Tensor2D;
      return bernoulliNllFromLogits(x, logits).add(klStandardNormal(mu, logvar)).mean() as tf.Scalar;
    });
  const first = tf.tidy(() => loss().dataSync()[0]!);
  for (let i = 0; i < 15; i++) opt.minimize(loss, true, vars)?.dispose();
  const last = tf.tidy(() => loss().dataSync()[0]!);
  assert.ok(Number.isFinite(last) && last < 0.8 * first, `-ELBO went from ${first} to ${last}`);
  tf.dispose([x, e]);
  opt.dispose();
  dispose(vae);
  assert.equal(tf.memory().numTensors, before, 'training leaked tensors');
});
