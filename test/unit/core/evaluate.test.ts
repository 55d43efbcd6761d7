/**
 * evaluateModel on a freshly trained model (pure tfjs 'cpu' backend): it measures what the training
 * loop's validation pass measures (same split, same static binarisation), the IWAE bound tightens
 * with k, the quality numbers are consistent with each other, and nothing leaks.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { TrainConfigSchema } from '../../../src-main/contract/config.ts';
import type { EpochPoint } from '../../../src-main/contract/types.ts';
import { memorySource } from '../../../src-main/core/data-source.ts';
import { evaluateModel, type EvalMetrics } from '../../../src-main/core/evaluate.ts';
import { generateDigits } from '../../../src-main/core/sample-data.ts';
import { evaluationBatch, seedStreams, splitIndices, train } from '../../../src-main/core/train.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

test('evaluateModel agrees with the loop on the validation split, IWAE tightens with k, MSE/PSNR/SSIM are consistent, no leak', async () => {
  const data = generateDigits({ count: 400, seed: 9 });
  const config = TrainConfigSchema.parse({
    model: { hidden: [32], latentDim: 4 },
    batchSize: 32,
    epochs: 2,
    maxSamples: 400,
    validationFraction: 0.25,
    binarization: 'dynamic',
    optimizer: { learningRate: 3e-3 },
    backend: 'cpu',
  });
  const epochs: EpochPoint[] = [];
  const results: Record<string, EvalMetrics> = {};
  const dim = 784;
  await train({
    tf,
    config,
    data,
    onEpoch: (e) => epochs.push(e),
    onTrained: async ({ encoder, decoder }) => {
      const source = memorySource(data);
      const val = splitIndices(data.count, config, seedStreams(config.seed).split).val;
      const base = { tf, encoder, decoder, likelihood: config.likelihood, gaussianSigma: 1, data: source, indices: val, seed: 4 };
      const before = tf.memory().numTensors;
      results.binary = await evaluateModel({ ...base, modelInput: (u8, idx) => evaluationBatch(config, u8, idx, dim), iwaeK: 1, iwaeSamples: 40 });
      results.binaryK50 = await evaluateModel({ ...base, modelInput: (u8, idx) => evaluationBatch(config, u8, idx, dim), iwaeK: 50, iwaeSamples: 40, iwaeGroup: 7 });
      results.grey = await evaluateModel({ ...base, iwaeK: 0, iwaeSamples: 0 });
      assert.equal(tf.memory().numTensors, before, 'evaluation leaks no tensor');
    },
  });
  const last = epochs.at(-1)!;
  const { binary, binaryK50, grey } = results as Required<typeof results>;
  assert.equal(binary!.count, 100);
  // Same split, same static binarisation, another noise draw: the loop's validation -ELBO.
  const rel = Math.abs(binary!.negElbo - last.valNegElbo!) / last.valNegElbo!;
  assert.ok(rel < 0.03, `eval ${binary!.negElbo} vs loop ${last.valNegElbo}`);
  assert.notEqual(grey!.negElbo, binary!.negElbo, 'the binarised input is what the model is scored on');
  assert.ok(Math.abs(binary!.bitsPerDim - binary!.negElbo / (dim * Math.LN2)) < 1e-12);
  // IWAE: L_1 is a one-sample ELBO estimate; L_50 is tighter (lower NLL) on the same images.
  assert.equal(binary!.iwae!.count, 40);
  assert.ok(binaryK50!.iwae!.nll < binary!.iwae!.nll, `k=50 ${binaryK50!.iwae!.nll} vs k=1 ${binary!.iwae!.nll}`);
  assert.ok(binaryK50!.iwae!.nll < binary!.negElbo + 5);
  assert.ok(binaryK50!.iwae!.stdErr > 0);
  // The reconstruction numbers compare the decoder mean with the grey images whatever the input.
  assert.equal(binary!.mse, binaryK50!.mse);
  assert.ok(binary!.mse > 0 && binary!.mse < 0.2);
  assert.ok(binary!.psnr >= 10 * Math.log10(1 / binary!.mse) - 1e-9, 'mean PSNR >= PSNR of the mean MSE (Jensen)');
  assert.ok(binary!.ssim > 0 && binary!.ssim < 1);
});
