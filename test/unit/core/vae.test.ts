import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ModelConfigSchema } from '../../../src-main/contract/config.ts';
import { buildVae } from '../../../src-main/core/vae.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

test('the 784-400-20 MLP has the expected shapes and parameter count', () => {
  const vae = buildVae(tf, ModelConfigSchema.parse({}), 784, 1);
  const expected = 784 * 400 + 400 + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784);
  assert.equal(vae.paramCount, expected);
  const x = tf.zeros([3, 784]);
  const [mu, logvar] = vae.encoder.predict(x) as tf.Tensor[];
  assert.deepEqual(mu!.shape, [3, 20]);
  assert.deepEqual(logvar!.shape, [3, 20]);
  const out = vae.decoder.predict(tf.zeros([3, 20])) as tf.Tensor;
  assert.deepEqual(out.shape, [3, 784]);
  tf.dispose([x, mu!, logvar!, out]);
  vae.encoder.dispose();
  vae.decoder.dispose();
});

test('the same seed gives identical weights, another seed different ones; mu and logvar heads differ', () => {
  const cfg = ModelConfigSchema.parse({ hidden: [16, 8], latentDim: 3, activation: 'tanh' });
  const a = buildVae(tf, cfg, 10, 7);
  const b = buildVae(tf, cfg, 10, 7);
  const c = buildVae(tf, cfg, 10, 8);
  assert.deepEqual(weightsOf(a.encoder), weightsOf(b.encoder));
  assert.deepEqual(weightsOf(a.decoder), weightsOf(b.decoder));
  assert.notDeepEqual(weightsOf(a.encoder), weightsOf(c.encoder));
  const muKernel = a.encoder.getLayer('enc_mu').getWeights()[0]!.dataSync();
  const lvKernel = a.encoder.getLayer('enc_logvar').getWeights()[0]!.dataSync();
  assert.notDeepEqual(Array.from(muKernel), Array.from(lvKernel));
  // The decoder mirrors the encoder's hidden widths.
  assert.deepEqual(
    a.decoder.layers.filter((l) => l.name.startsWith('dec_dense')).map((l) => (l.getConfig() as { units: number }).units),
    [8, 16],
  );
  for (const v of [a, b, c]) {
    v.encoder.dispose();
    v.decoder.dispose();
  }
});

test('leakyRelu builds with a separate activation layer', () => {
  const vae = buildVae(tf, ModelConfigSchema.parse({ hidden: [4], latentDim: 2, activation: 'leakyRelu' }), 6, 1);
  assert.ok(vae.encoder.layers.some((l) => l.getClassName() === 'LeakyReLU'));
  const out = tf.tidy(() => (vae.decoder.predict(tf.ones([1, 2])) as tf.Tensor).dataSync());
  assert.equal(out.length, 6);
  vae.encoder.dispose();
  vae.decoder.dispose();
});
