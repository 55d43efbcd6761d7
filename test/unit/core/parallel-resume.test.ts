/**
 * train() on the trainer's real wasm backend with 2 data-parallel threads (core/parallel, worker
 * threads running trainer/step-worker.ts): a run is reproducible bit for bit, stopping after epoch 2
 * and resuming from its checkpoint gives exactly the uninterrupted run (weights included), and it
 * follows the single-thread run up to float rounding.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { TrainConfigSchema, type TrainConfigInput } from '../../../src-main/contract/config.ts';
import { readModelWeights } from '../../../src-main/core/checkpoint.ts';
import { generateDigits } from '../../../src-main/core/sample-data.ts';
import type { Tf } from '../../../src-main/core/tf.ts';
import type { TrainOptions } from '../../../src-main/core/train.ts';
import { selectBackend } from '../../../src-main/trainer/backend.ts';
import { tmpDir } from '../../helpers/tmp.ts';
import { metrics, runLoop as trainLoop, stopAndResume } from '../../helpers/train-loop.ts';

let tf: Tf;
before(async () => {
  ({ tf } = await selectBackend('wasm'));
  assert.equal(tf.getBackend(), 'wasm');
});

const data = generateDigits({ count: 200, seed: 3 });

const tiny = (over: TrainConfigInput) =>
  TrainConfigSchema.parse({
    model: { hidden: [24], latentDim: 3 },
    batchSize: 40,
    epochs: 3,
    maxSamples: 200,
    validationFraction: 0.2,
    backend: 'wasm',
    threads: 2,
    ...over,
  });

const runLoop = (config: ReturnType<typeof tiny>, extra: Partial<TrainOptions> = {}) => trainLoop(tf, config, data, extra);


const VARIANTS: [string, TrainConfigInput][] = [
  // Sharded Adam (fused-adam.ts) with log-sigma among the variables and clipping.
  ['adamw + learned Gaussian sigma + clipping', { optimizer: { name: 'adamw', learningRate: 3e-3 }, likelihood: 'gaussian', gaussianSigmaMode: 'learned', gradClipNorm: 50 }],
  // tfjs optimiser per replica, and the two-round free-bits step.
  ['sgd with momentum + free bits', { optimizer: { name: 'sgd', learningRate: 0.01, momentum: 0.9 }, freeBits: 0.1 }],
];

describe('data-parallel train() on wasm, 2 threads', { timeout: 120_000 }, () => {
  for (const [name, over] of VARIANTS) {
    test(`${name}: 2 epochs + resume = 3 uninterrupted epochs, exactly`, async () => {
      const config = tiny(over);
      const dirA = tmpDir();
      const a = await runLoop(config, { checkpointDir: dirA });
      assert.equal(a.status, 'completed');
      assert.equal(a.epochs.length, 3);

      const dirB = tmpDir();
      const { first: b1, second: b2 } = await stopAndResume(tf, config, data, dirB);
      assert.equal(b1.status, 'stopped');
      // Reproducible: the same seed, config, backend and thread count give the same numbers.
      assert.deepEqual(b1.steps.map(metrics), a.steps.slice(0, b1.steps.length).map(metrics));

      assert.equal(b2.status, 'completed');
      const aAfter = a.steps.filter((s) => s.step > a.epochs[1]!.step);
      assert.deepEqual(b2.steps.map(metrics), aAfter.map(metrics));
      assert.deepEqual(metrics(b2.epochs[0]!), metrics(a.epochs[2]!));
      for (const part of ['encoder', 'decoder'] as const) {
        const wa = await readModelWeights(tf, path.join(dirA, 'epoch-3'), part);
        const wb = await readModelWeights(tf, path.join(dirB, 'epoch-3'), part);
        wa.forEach((t, i) => assert.deepEqual(wb[i]!.dataSync(), t.dataSync(), `${part} weight ${i}`));
        tf.dispose([...wa, ...wb]);
      }
    });
  }

  test('2 threads follow the single-thread run up to float rounding', async () => {
    const over = VARIANTS[0]![1];
    const two = await runLoop(tiny({ ...over, epochs: 1 }));
    const one = await runLoop(tiny({ ...over, epochs: 1, threads: 1 }));
    assert.equal(two.steps.length, one.steps.length);
    for (const [i, s] of one.steps.entries()) {
      for (const k of ['loss', 'recon', 'kl', 'gradNorm'] as const) {
        const x = Number(two.steps[i]![k]);
        const y = Number(s[k]);
        const d = Math.abs(x - y) / Math.max(1e-6, Math.abs(y));
        assert.ok(d <= 1e-3, `step ${s.step} ${k}: 2 threads ${x} vs 1 thread ${y}`);
      }
    }
  });
});
