/**
 * core/train.ts with the native step (TrainOptions.native: ONNX Runtime runs each step, tfjs 'cpu'
 * evaluates and checkpoints): it must train the same function as the tfjs step (same data, noise and
 * metrics up to float32 rounding) for every optimiser, be reproducible for a seed and thread count,
 * resume exactly from a checkpoint (so the checkpoint holds its weights and optimiser slots), and
 * stop on a diverging loss.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { TrainConfigSchema, type TrainConfigInput } from '../../../src-main/contract/config.ts';
import { TrainingDivergedError } from '../../../src-main/core/resume.ts';
import { generateDigits } from '../../../src-main/core/sample-data.ts';
import { metrics, runLoop, stopAndResume } from '../../helpers/train-loop.ts';
import { tmpDir } from '../../helpers/tmp.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const digits = generateDigits({ count: 360, seed: 9 });
const data = { images: digits.images, count: 360, width: 28, height: 28, channels: 1 };

const config = (over: TrainConfigInput = {}) =>
  TrainConfigSchema.parse({
    model: { hidden: [64], latentDim: 6 },
    batchSize: 40,
    epochs: 3,
    validationFraction: 0.2,
    optimizer: { learningRate: 2e-3 },
    backend: 'onnxruntime',
    ...over,
  });

const native = (threads = 2) => ({ native: { ort, threads } });

describe('training with the native step', { timeout: 180_000 }, () => {
  test('trains the same function as the tfjs step: equal data and noise, losses within float32 rounding', async () => {
    const c = config({ binarization: 'dynamic', freeBits: 0.05, gradClipNorm: 50 });
    const a = await runLoop(tf, c, data, native());
    const b = await runLoop(tf, c, data);
    assert.equal(a.status, 'completed');
    assert.equal(a.steps.length, b.steps.length);
    // The first step starts from identical weights: its loss agrees to float32 rounding.
    const rel = (x: number, y: number) => Math.abs(x - y) / Math.abs(y);
    assert.ok(rel(a.steps[0]!.loss, b.steps[0]!.loss) < 1e-5, `step 1: ${a.steps[0]!.loss} vs ${b.steps[0]!.loss}`);
    for (let i = 0; i < 10; i++) assert.ok(rel(a.steps[i]!.loss, b.steps[i]!.loss) < 1e-3, `step ${i + 1}: ${a.steps[i]!.loss} vs ${b.steps[i]!.loss}`);
    // Rounding differences grow with training, but the runs stay the same run.
    const last = (r: typeof a) => r.epochs.at(-1)!;
    assert.ok(rel(last(a).valNegElbo!, last(b).valNegElbo!) < 0.01, `validation -ELBO ${last(a).valNegElbo} vs ${last(b).valNegElbo}`);
    assert.ok(last(a).negElbo < a.epochs[0]!.negElbo, 'the -ELBO falls');
    assert.deepEqual(
      a.epochs.map((e) => e.klPerDim?.length),
      [6, 6, 6],
    );
  });

  test('the same seed, config and thread count give the same metrics', async () => {
    const c = config({ model: { kind: 'conv', channels: [4, 8], kernelSize: 3, latentDim: 3 }, epochs: 2 });
    const a = await runLoop(tf, c, data, native(2));
    const b = await runLoop(tf, c, data, native(2));
    assert.deepEqual(a.steps.map(metrics), b.steps.map(metrics));
    assert.deepEqual(a.epochs.map(metrics), b.epochs.map(metrics));
  });

  for (const over of [
    { optimizer: { name: 'adamw', learningRate: 2e-3, weightDecay: 0.05 }, likelihood: 'gaussian', gaussianSigmaMode: 'learned' },
    { optimizer: { name: 'rmsprop', learningRate: 1e-3 } },
    { optimizer: { name: 'sgd', learningRate: 1e-4, momentum: 0.9 } },
  ] as const)
  test(`a run stopped after a checkpoint and resumed from it reaches the uninterrupted run exactly: ${over.optimizer.name}`, async () => {
    const c = config({ ...over, epochs: 4 });
    const whole = await runLoop(tf, c, data, native());
    const { first, second } = await stopAndResume(tf, c, data, tmpDir(), 2, native());
    assert.equal(first.status, 'stopped');
    assert.deepEqual([...first.steps, ...second.steps].map(metrics), whole.steps.map(metrics));
    // (stopAndResume's first half reports its epochs to its stop condition, not to a list.)
    assert.deepEqual(second.epochs.map(metrics), whole.epochs.slice(2).map(metrics));
  });

  test('a diverging loss ends the run with TrainingDivergedError', async () => {
    await assert.rejects(
      runLoop(tf, config({ epochs: 5, optimizer: { learningRate: 10 }, likelihood: 'gaussian', gaussianSigma: 0.001 }), data, native()),
      (e: unknown) => e instanceof TrainingDivergedError && /diverged at epoch \d+, step \d+/.test((e as Error).message),
    );
  });

  test('RMSprop and SGD with momentum train natively like their tfjs optimisers', async () => {
    for (const optimizer of [{ name: 'rmsprop', learningRate: 1e-3 }, { name: 'sgd', learningRate: 1e-4, momentum: 0.9 }] as const) {
      const c = config({ optimizer, epochs: 1 });
      const a = await runLoop(tf, c, data, native());
      const b = await runLoop(tf, c, data);
      for (let i = 0; i < a.steps.length; i++) {
        const rel = Math.abs(a.steps[i]!.loss - b.steps[i]!.loss) / b.steps[i]!.loss;
        assert.ok(rel < 1e-3, `${optimizer.name} step ${i + 1}: ${a.steps[i]!.loss} vs ${b.steps[i]!.loss}`);
      }
    }
  });
});
