import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { bernoulliNllFromLogits, gaussianNll, klStandardNormal } from '../../../src-main/core/losses.ts';
import { Rng } from '../../../src-main/core/rng.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const read = (t: tf.Tensor): number[] => {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
};

const close = (actual: number, expected: number, tol: number, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} expected ${expected}, got ${actual} (tolerance ${tol})`);

describe('klStandardNormal', () => {
  test('matches the closed form 0.5 * (e^lv - 1 - lv + mu^2) for mu = 0.5, logvar = 0.7', () => {
    const [kl] = read(klStandardNormal(tf.tensor2d([[0.5]]), tf.tensor2d([[0.7]])));
    // 0.5 * (e^0.7 - 1 - 0.7 + 0.25) = 0.281876...
    close(kl!, 0.2819, 1e-4, 'KL');
    close(kl!, 0.5 * (Math.exp(0.7) - 1 - 0.7 + 0.25), 1e-6, 'KL');
  });

  test('agrees with a Monte Carlo estimate E_q[log q(z) - log p(z)]', () => {
    const mu = 0.5;
    const logvar = 0.7;
    const sigma = Math.exp(0.5 * logvar);
    const rng = new Rng(7);
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const eps = rng.normal();
      const z = mu + sigma * eps;
      // log q(z) - log p(z); the 0.5 log 2pi terms cancel.
      const d = -0.5 * eps * eps - Math.log(sigma) + 0.5 * z * z;
      sum += d;
      sumSq += d * d;
    }
    const mean = sum / n;
    const se = Math.sqrt((sumSq / n - mean * mean) / n);
    const [kl] = read(klStandardNormal(tf.tensor2d([[mu]]), tf.tensor2d([[logvar]])));
    assert.ok(Math.abs(mean - kl!) < 4 * se, `MC ${mean} +- ${se} vs closed form ${kl}`);
  });

  test('sums over latent dimensions per row and is zero at the prior', () => {
    const mu = [
      [0, 0, 0],
      [1, -2, 0.5],
    ];
    const lv = [
      [0, 0, 0],
      [-1, 0.3, 2],
    ];
    const got = read(klStandardNormal(tf.tensor2d(mu), tf.tensor2d(lv)));
    assert.equal(got.length, 2);
    close(got[0]!, 0, 1e-7, 'KL at prior');
    const expected = mu[1]!.reduce((s, m, j) => s + 0.5 * (Math.exp(lv[1]![j]!) - 1 - lv[1]![j]! + m * m), 0);
    close(got[1]!, expected, 1e-5 * expected, 'KL row 2');
  });
});

describe('bernoulliNllFromLogits', () => {
  const direct = (x: number, l: number) => {
    const p = 1 / (1 + Math.exp(-l));
    return -(x * Math.log(p) + (1 - x) * Math.log(1 - p));
  };

  test('equals -[x log sigmoid(l) + (1-x) log(1-sigmoid(l))] for moderate logits, per row', () => {
    const x = [
      [0, 1, 0.3, 0.8],
      [1, 0, 0.5, 0.05],
    ];
    const l = [
      [-2, 3, 0.1, -0.7],
      [5, -4, 0, 8],
    ];
    const got = read(bernoulliNllFromLogits(tf.tensor2d(x), tf.tensor2d(l)));
    for (let r = 0; r < 2; r++) {
      const expected = x[r]!.reduce((s, xi, j) => s + direct(xi, l[r]![j]!), 0);
      close(got[r]!, expected, 1e-5 * expected, `row ${r}`);
    }
  });

  test('stays finite and exact for extreme logits (|l| up to 100)', () => {
    const cases: [number, number, number][] = [
      // x, logit, -log p(x|l) ~ softplus(l) - x l
      [0, 100, 100],
      [1, 100, 0],
      [1, -100, 100],
      [0, -100, 0],
      [0.5, 60, 30],
      [1, -30, 30],
    ];
    const got = read(bernoulliNllFromLogits(tf.tensor2d(cases.map((c) => [c[0]])), tf.tensor2d(cases.map((c) => [c[1]]))));
    cases.forEach(([x, l, expected], i) => {
      assert.ok(Number.isFinite(got[i]!), `x=${x}, l=${l} gave ${got[i]}`);
      close(got[i]!, expected, 1e-4 * Math.max(1, expected), `x=${x}, l=${l}`);
    });
  });

  test('its gradient is sigmoid(l) - x, finite at extreme logits', () => {
    const x = tf.tensor2d([[0, 1, 1, 0, 0.25]]);
    const lv = [100, -100, 3, -3, 0.5];
    const g = tf.grad((l: tf.Tensor) => bernoulliNllFromLogits(x, l as tf.Tensor2D).sum())(tf.tensor2d([lv]));
    const got = read(g);
    const xs = [0, 1, 1, 0, 0.25];
    lv.forEach((l, j) => close(got[j]!, 1 / (1 + Math.exp(-l)) - xs[j]!, 1e-6, `d/dl at ${l}`));
    x.dispose();
  });
});

describe('gaussianNll', () => {
  test('equals sum 0.5((x-m)/s)^2 + log s + 0.5 log 2pi', () => {
    const x = [
      [0.1, 0.9, 0.5],
      [0, 0, 1],
    ];
    const m = [
      [0.2, 0.7, 0.5],
      [0.5, -0.5, 1.5],
    ];
    const sigma = 0.3;
    const got = read(gaussianNll(tf.tensor2d(x), tf.tensor2d(m), sigma));
    for (let r = 0; r < 2; r++) {
      const expected = x[r]!.reduce(
        (s, xi, j) => s + 0.5 * ((xi - m[r]![j]!) / sigma) ** 2 + Math.log(sigma) + 0.5 * Math.log(2 * Math.PI),
        0,
      );
      close(got[r]!, expected, 1e-5 * Math.abs(expected) + 1e-6, `row ${r}`);
    }
  });

  test('is the density a normal distribution integrates: exp(-nll) at the mean is 1/(s sqrt(2pi))', () => {
    const [nll] = read(gaussianNll(tf.tensor2d([[2]]), tf.tensor2d([[2]]), 0.5));
    close(Math.exp(-nll!), 1 / (0.5 * Math.sqrt(2 * Math.PI)), 1e-6, 'density at the mean');
  });

  test('rejects a non-positive sigma', () => {
    assert.throws(() => gaussianNll(tf.tensor2d([[0]]), tf.tensor2d([[0]]), 0), /sigma/);
  });
});
