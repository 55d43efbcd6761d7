/**
 * Encoding for the latent explorer (core/latent/encode.ts): the samples of each split, the
 * per-sample -ELBO and per-dimension KL of a model whose outputs are known in closed form, the
 * per-dimension summaries, and the attribute vector of constructed data.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { memorySource } from '../../../src-main/core/data-source.ts';
import { attributeVector } from '../../../src-main/core/latent/attribute.ts';
import { encodeSamples, splitSamples, spreadRange, summarise } from '../../../src-main/core/latent/encode.ts';
import { seedStreams, splitIndices } from '../../../src-main/core/train.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: expected ${b}, got ${a}`);

describe('splitSamples', () => {
  const config = { seed: 3, maxSamples: 0, validationFraction: 0.2 };
  test('validation and train are the run\'s own seeded split of its training part', () => {
    const s = splitIndices(80, config, seedStreams(3).split);
    const layout = { count: 100, trainCount: 80, test: { from: 80, to: 100 } };
    assert.deepEqual(splitSamples('validation', layout, config, 0), s.val);
    assert.deepEqual(splitSamples('train', layout, config, 0), s.train);
    assert.deepEqual(splitSamples('train', layout, config, 7), s.train.slice(0, 7));
    for (const i of splitSamples('train', layout, config, 0)) assert.ok(i < 80, 'training never includes test samples');
  });

  test('test is the official range, all is every sample; a cap spreads the samples over the range', () => {
    const layout = { count: 100, test: { from: 80, to: 100 } };
    assert.deepEqual(Array.from(splitSamples('test', layout, config, 0)), Array.from({ length: 20 }, (_, i) => 80 + i));
    assert.equal(splitSamples('all', layout, config, 0).length, 100);
    assert.deepEqual(Array.from(splitSamples('all', layout, config, 4)), [0, 25, 50, 75]);
    assert.deepEqual(Array.from(spreadRange(10, 13, 10)), [10, 11, 12]);
    assert.throws(() => splitSamples('test', { count: 10, test: null }, config, 0), /no official test split/);
  });
});

describe('encodeSamples', () => {
  test('a model with constant outputs: -ELBO = D log 2 + KL, KL per dimension 0.5 (e^lv - 1 - lv + mu^2)', async () => {
    const D = 4;
    const d = 2;
    const muB = [0.5, -1];
    const lvB = [0.7, -0.3];
    // Zero kernels: mu and logvar are the biases; the decoder outputs logits 0 (p = 1/2 per pixel).
    const input = tf.input({ shape: [D] });
    const mu = tf.layers.dense({ units: d, kernelInitializer: 'zeros', biasInitializer: tf.initializers.constant({ value: 0 }) }).apply(input) as tf.SymbolicTensor;
    const lv = tf.layers.dense({ units: d, kernelInitializer: 'zeros' }).apply(input) as tf.SymbolicTensor;
    const encoder = tf.model({ inputs: input, outputs: [mu, lv] });
    encoder.layers[1]!.setWeights([tf.zeros([D, d]), tf.tensor1d(muB)]);
    encoder.layers[2]!.setWeights([tf.zeros([D, d]), tf.tensor1d(lvB)]);
    const decoder = tf.sequential({ layers: [tf.layers.dense({ inputShape: [d], units: D, kernelInitializer: 'zeros' })] });
    const n = 7;
    const images = new Uint8Array(n * D).map((_, i) => (i * 37) % 256);
    const data = memorySource({ images, count: n, width: 2, height: 2, channels: 1 });
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const e = await encodeSamples({ tf, encoder, decoder, likelihood: 'bernoulli', gaussianSigma: 1, data, indices: Uint32Array.from([6, 0, 3]), seed: 1, batchSize: 2, onProgress: (done) => progress.push(done) });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    assert.deepEqual(progress, [2, 3]);
    const klDim = muB.map((m, j) => 0.5 * (Math.exp(lvB[j]!) - 1 - lvB[j]! + m * m));
    for (let r = 0; r < 3; r++) {
      close(e.mu[r * d]!, 0.5, 1e-6, 'mu');
      close(e.logvar[r * d + 1]!, -0.3, 1e-6, 'logvar');
      close(e.negElbo[r]!, D * Math.LN2 + klDim[0]! + klDim[1]!, 1e-5, `-ELBO of row ${r}`);
    }
    const s = summarise(e);
    s.klPerDim.forEach((k, j) => close(k, klDim[j]!, 1e-6, `KL dim ${j}`));
    assert.deepEqual(s.dimsByKl, klDim[1]! > klDim[0]! ? [1, 0] : [0, 1]);
    assert.deepEqual(s.stdPerDim.map((v) => Math.round(v * 1e6)), [0, 0]);
    close(s.meanPerDim[1]!, -1, 1e-6, 'mean');
    encoder.dispose();
    decoder.dispose();
  });
});

describe('attributeVector', () => {
  test('mean of the group minus mean of the rest, duplicates counted once', () => {
    // Group rows 0, 1 (mean [1, 2]); rest rows 2, 3, 4 (mean [-1, 0]).
    const mu = [0, 2, 2, 2, -1, 1, -2, 0, 0, -1];
    const a = attributeVector(mu, 5, 2, [1, 0, 1]);
    assert.deepEqual(a.direction, [2, 2]);
    close(a.norm, 2 * Math.SQRT2, 1e-12, 'norm');
    assert.equal(a.groupSize, 2);
    assert.equal(a.restSize, 3);
    assert.throws(() => attributeVector(mu, 5, 2, [0, 1, 2, 3, 4]), /every point/);
    assert.throws(() => attributeVector(mu, 5, 2, [5]), /outside/);
  });
});
