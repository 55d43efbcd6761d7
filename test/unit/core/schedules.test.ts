import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KlWarmupConfigSchema, LrScheduleConfigSchema } from '../../../src-main/contract/config.ts';
import { klWarmupFactor, learningRateAt } from '../../../src-main/core/schedules.ts';

const close = (a: number, b: number, tol = 1e-12, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const logistic = (v: number) => 1 / (1 + Math.exp(-v));

describe('KL warm-up', () => {
  test("'none' is 1 at every step", () => {
    const c = KlWarmupConfigSchema.parse({});
    for (const t of [0, 1, 999, 10 ** 6]) assert.equal(klWarmupFactor(c, t), 1);
  });

  test("'linear' rises from 0 to 1 over `steps` and stays there", () => {
    const c = KlWarmupConfigSchema.parse({ schedule: 'linear', steps: 1000 });
    assert.deepEqual([0, 250, 500, 1000, 5000].map((t) => klWarmupFactor(c, t)), [0, 0.25, 0.5, 1, 1]);
  });

  test("'sigmoid' is the rescaled logistic: 0 at 0, 1/2 at the midpoint, 1 at `steps`, the closed form between", () => {
    const c = KlWarmupConfigSchema.parse({ schedule: 'sigmoid', steps: 1000, steepness: 10 });
    close(klWarmupFactor(c, 0), 0);
    close(klWarmupFactor(c, 500), 0.5);
    close(klWarmupFactor(c, 1000), 1);
    assert.equal(klWarmupFactor(c, 1001), 1);
    const s0 = logistic(-5);
    const s1 = logistic(5);
    // (logistic(-2.5) - logistic(-5)) / (logistic(5) - logistic(-5)) = 0.0701037...
    close(klWarmupFactor(c, 250), (logistic(-2.5) - s0) / (s1 - s0));
    close(klWarmupFactor(c, 250), 0.0701037, 1e-6);
    // Monotone.
    let prev = -1;
    for (let t = 0; t <= 1000; t += 50) {
      const w = klWarmupFactor(c, t);
      assert.ok(w > prev);
      prev = w;
    }
  });

  test("'cyclical' ramps over the first rampFraction of each period, then holds 1, and restarts (Fu et al. 2019)", () => {
    const c = KlWarmupConfigSchema.parse({ schedule: 'cyclical', steps: 100, rampFraction: 0.5 });
    assert.deepEqual(
      [0, 25, 50, 75, 99, 100, 125, 150, 210].map((t) => klWarmupFactor(c, t)),
      [0, 0.5, 1, 1, 1, 0, 0.5, 1, 0.2],
    );
  });
});

describe('learning-rate schedules', () => {
  const lr = 0.01;

  test('linear warm-up from lr/W at the first step to lr at step W - 1', () => {
    const c = LrScheduleConfigSchema.parse({ kind: 'constant', warmupSteps: 10 });
    close(learningRateAt(lr, c, 0, 100), lr / 10);
    close(learningRateAt(lr, c, 4, 100), lr / 2);
    close(learningRateAt(lr, c, 9, 100), lr);
    close(learningRateAt(lr, c, 10, 100), lr);
    close(learningRateAt(lr, c, 99, 100), lr);
  });

  test("'step' multiplies by gamma every stepSize steps after the warm-up", () => {
    const c = LrScheduleConfigSchema.parse({ kind: 'step', warmupSteps: 10, stepSize: 100, gamma: 0.1 });
    close(learningRateAt(lr, c, 10, 1000), lr);
    close(learningRateAt(lr, c, 109, 1000), lr);
    close(learningRateAt(lr, c, 110, 1000), lr * 0.1, 1e-15);
    close(learningRateAt(lr, c, 260, 1000), lr * 0.01, 1e-15);
  });

  test("'cosine' runs from lr after the warm-up to lr * minFactor at the last step, half-way at the middle", () => {
    const c = LrScheduleConfigSchema.parse({ kind: 'cosine', warmupSteps: 10, minFactor: 0.1 });
    const total = 111; // the cosine spans steps 10..110, 100 intervals
    close(learningRateAt(lr, c, 10, total), lr);
    close(learningRateAt(lr, c, 60, total), (lr + 0.1 * lr) / 2);
    close(learningRateAt(lr, c, 35, total), 0.1 * lr + 0.9 * lr * (1 + Math.cos(Math.PI / 4)) / 2);
    close(learningRateAt(lr, c, 110, total), 0.1 * lr);
    const noFloor = LrScheduleConfigSchema.parse({ kind: 'cosine' });
    close(learningRateAt(lr, noFloor, 99, 100), 0);
    close(learningRateAt(lr, noFloor, 0, 1), lr, 1e-15);
  });
});
