/**
 * The latent map's PCA against a closed form, the KL ordering of traversals and sliders, the
 * latent statistics of the traversals (KL per dimension, aggregate-posterior spread), and the split
 * of each exported embedding.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dimsByKl, pca2, sampleSplits, splitName, UNUSED_SPLIT } from '../../../src-main/core/export/embeddings.ts';
import { seedStreams, splitIndices } from '../../../src-main/core/train.ts';
import { latentStats, linspace } from '../../../src-main/core/export/grids.ts';

test('PCA of four points (+-a u, +-b v) in 3-D: axes u and v, variances 2a^2/3 and 2b^2/3', () => {
  const c = Math.cos(Math.PI / 6);
  const s = Math.sin(Math.PI / 6);
  const u = [c, s, 0];
  const v = [0, 0, 1];
  const shift = [5, -2, 1];
  const a = 3;
  const b = 1;
  const pts: number[] = [];
  for (const [p, q] of [[a, 0], [-a, 0], [0, b], [0, -b]] as const) {
    for (let j = 0; j < 3; j++) pts.push(shift[j]! + p * u[j]! + q * v[j]!);
  }
  const r = pca2(Float32Array.from(pts), 4, 3);
  assert.ok(Math.abs(r.variance[0] - (2 * a * a) / 3) < 1e-5, `${r.variance[0]}`);
  assert.ok(Math.abs(r.variance[1] - (2 * b * b) / 3) < 1e-5, `${r.variance[1]}`);
  assert.ok(Math.abs(r.totalVariance - (2 * (a * a + b * b)) / 3) < 1e-5);
  const dot = (x: ArrayLike<number>, y: ArrayLike<number>) => x[0]! * y[0]! + x[1]! * y[1]! + x[2]! * y[2]!;
  assert.ok(Math.abs(Math.abs(dot(r.axes[0], u)) - 1) < 1e-6);
  assert.ok(Math.abs(Math.abs(dot(r.axes[1], v)) - 1) < 1e-6);
  // Signs: the largest component of each axis is positive, so point 0 projects to +a.
  assert.ok(Math.abs(r.coords[0]! - a) < 1e-5);
  assert.ok(Math.abs(r.coords[1]!) < 1e-5);
  assert.ok(Math.abs(Math.abs(r.coords[5]!) - b) < 1e-5);
});

test('PCA of one-dimensional points has a zero second coordinate', () => {
  const r = pca2(Float32Array.from([1, 2, 3, 4]), 4, 1);
  assert.deepEqual(Array.from(r.coords.filter((_, i) => i % 2 === 1)), [0, 0, 0, 0]);
  assert.ok(Math.abs(r.variance[0] - 5 / 3) < 1e-9);
});

test('dimensions by decreasing KL, ties in index order, NaN last', () => {
  assert.deepEqual(dimsByKl([0.1, 2, NaN, 2, 0.5]), [1, 3, 4, 0, 2]);
});

test('latent statistics: KL per dimension in closed form, the aggregate posterior sd', () => {
  // Two encodings of d = 2: mu = (1, 0) and (-1, 0), logvar = (0, ln 4) both.
  const mu = Float32Array.from([1, 0, -1, 0]);
  const lv = Float32Array.from([0, Math.log(4), 0, Math.log(4)]);
  const s = latentStats(mu, lv, 2, 2);
  // KL_0 = 0.5 (1 - 1 - 0 + 1) = 0.5; KL_1 = 0.5 (4 - 1 - ln 4).
  assert.ok(Math.abs(s.klPerDim[0]! - 0.5) < 1e-6);
  assert.ok(Math.abs(s.klPerDim[1]! - 0.5 * (3 - Math.log(4))) < 1e-6);
  assert.deepEqual(s.mean, [0, 0]);
  // sd_0 = sqrt(Var(mu) + E[var]) = sqrt(1 + 1); sd_1 = sqrt(0 + 4).
  assert.ok(Math.abs(s.sd[0]! - Math.SQRT2) < 1e-6);
  assert.ok(Math.abs(s.sd[1]! - 2) < 1e-6);
  assert.deepEqual(linspace(-3, 3, 9), [-3, -2.25, -1.5, -0.75, 0, 0.75, 1.5, 2.25, 3]);
});

test('PCA with two nearly equal leading variances still finds the exact axes (u, v rotated by 30 degrees)', () => {
  // Points +-a u, +-b v, +-c w with a = 1, b = 0.995: the sample covariance has eigenvalues
  // 2a^2/5, 2b^2/5, 2c^2/5 on u, v, w, only 1 % apart on the first two.
  const c30 = Math.cos(Math.PI / 6);
  const s30 = Math.sin(Math.PI / 6);
  const u = [c30, s30, 0];
  const v = [-s30, c30, 0];
  const w = [0, 0, 1];
  const [a, b, c] = [1, 0.995, 0.3];
  const pts: number[] = [];
  for (const [k, axis] of [[a, u], [b, v], [c, w]] as const) {
    for (const sign of [1, -1]) for (let j = 0; j < 3; j++) pts.push(sign * k * axis[j]!);
  }
  const r = pca2(Float32Array.from(pts), 6, 3);
  const dot = (x: ArrayLike<number>, y: ArrayLike<number>) => x[0]! * y[0]! + x[1]! * y[1]! + x[2]! * y[2]!;
  assert.ok(Math.abs(Math.abs(dot(r.axes[0], u)) - 1) < 1e-6, `first axis ${Array.from(r.axes[0])}`);
  assert.ok(Math.abs(Math.abs(dot(r.axes[1], v)) - 1) < 1e-6, `second axis ${Array.from(r.axes[1])}`);
  assert.ok(Math.abs(r.variance[0] - (2 * a * a) / 5) < 1e-6);
  assert.ok(Math.abs(r.variance[1] - (2 * b * b) / 5) < 1e-6);
  assert.ok(Math.abs(r.totalVariance - (2 * (a * a + b * b + c * c)) / 5) < 1e-6);
});

test('sample splits: the run seeded train / validation split of its used samples, the official test range, the rest unused', () => {
  const config = { seed: 7, maxSamples: 60, validationFraction: 0.25, epochs: 1, batchSize: 10, maxSteps: 0 };
  // 100 training samples (60 used: 15 validation, 45 train), then an official test range of 20.
  const codes = sampleSplits({ count: 120, trainCount: 100, test: { from: 100, to: 120 } }, config, 120);
  const count = (c: number) => codes.filter((v) => v === c).length;
  assert.deepEqual([count(0), count(1), count(2), count(UNUSED_SPLIT)], [45, 15, 20, 40]);
  for (let i = 100; i < 120; i++) assert.equal(codes[i], 2);
  // The same split as training draws (core/train.ts splitIndices with the seed's split stream).
  const s = splitIndices(100, config, seedStreams(config.seed).split);
  for (const i of s.val) assert.equal(codes[i], 1);
  for (const i of s.train) assert.equal(codes[i], 0);
  // The first n samples only; no test range: nothing is 'test'.
  const head = sampleSplits({ count: 100, test: null }, { ...config, maxSamples: 0 }, 30);
  assert.equal(head.length, 30);
  assert.ok(head.every((c) => c === 0 || c === 1));
  assert.deepEqual([0, 1, 2, -1, 5].map(splitName), ['train', 'validation', 'test', 'unused', 'unused']);
});
