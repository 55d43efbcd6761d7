/** training.estimate's arithmetic (trainer/estimate-job.ts): measured step gaps -> epoch and run times. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extrapolate, splitSizes } from '../../../src-main/trainer/estimate-job.ts';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('split sizes follow the loop: maxSamples caps, then the validation hold-out is floor(used * fraction)', () => {
  assert.deepEqual(splitSizes(1797, { maxSamples: 600, validationFraction: 0.1 }), { train: 540, val: 60 });
  assert.deepEqual(splitSizes(1797, { maxSamples: 0, validationFraction: 0.25 }), { train: 1348, val: 449 });
  assert.deepEqual(splitSizes(100, { maxSamples: 5000, validationFraction: 0 }), { train: 100, val: 0 });
});

test('a gap across an epoch end measures the validation pass; epochs and step budgets extrapolate', () => {
  const sizes = { train: 540, val: 60 }; // 9 steps of 64 per epoch
  const gaps = [
    { ms: 10, crossesEpoch: false },
    { ms: 12, crossesEpoch: false },
    { ms: 30, crossesEpoch: true },
    { ms: 14, crossesEpoch: false },
  ];
  const e = extrapolate({ batchSize: 64, epochs: 3, maxSteps: 0 }, sizes, gaps);
  assert.equal(e.measuredSteps, 4);
  assert.equal(e.stepsPerEpoch, 9);
  close(e.msPerStep, 12, 'msPerStep');
  close(e.samplesPerSec, 64_000 / 12, 'samplesPerSec');
  // 9 steps * 12 ms + (30 - 12) ms of validation.
  close(e.secondsPerEpoch, (9 * 12 + 18) / 1000, 'secondsPerEpoch');
  close(e.secondsTotal, (3 * (9 * 12 + 18)) / 1000, 'secondsTotal');
  // A step budget of 20 steps touches 3 epochs: 3 validation passes.
  const b = extrapolate({ batchSize: 64, epochs: 3, maxSteps: 20 }, sizes, gaps);
  close(b.secondsTotal, (20 * 12 + 3 * 18) / 1000, 'secondsTotal with maxSteps');
});

test('without an epoch end in the measurement, validation is modelled as forward passes at a third of a step', () => {
  const gaps = [8, 8, 8].map((ms) => ({ ms, crossesEpoch: false }));
  const e = extrapolate({ batchSize: 64, epochs: 2, maxSteps: 0 }, { train: 540, val: 60 }, gaps);
  close(e.secondsPerEpoch, (9 * 8 + ((60 / 64) * 8) / 3) / 1000, 'with a hold-out');
  // No hold-out: the diagnostics read min(train, 2048) training samples.
  const n = extrapolate({ batchSize: 100, epochs: 1, maxSteps: 0 }, { train: 5000, val: 0 }, gaps);
  close(n.secondsPerEpoch, (50 * 8 + ((2048 / 100) * 8) / 3) / 1000, 'without a hold-out');
  // Batches larger than the training split: samples/s counts the samples a step really sees.
  const small = extrapolate({ batchSize: 128, epochs: 1, maxSteps: 0 }, { train: 40, val: 10 }, [{ ms: 4, crossesEpoch: true }, { ms: 4, crossesEpoch: true }]);
  assert.equal(small.stepsPerEpoch, 1);
  close(small.msPerStep, 4, 'one step per epoch: the whole gap');
  close(small.samplesPerSec, 40_000 / 4, 'samples/s');
  close(small.secondsPerEpoch, 0.004, 'secondsPerEpoch');
});
