/**
 * PCA of latent means (core/latent/pca.ts) against closed forms: the Jacobi eigen-decomposition of
 * a matrix built from known eigenpairs, the explained variance of points placed on known axes, and
 * the exactness of the 2-D view's inverse when the latent space is two-dimensional.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CovarianceAccumulator, pca, pcaInverse, pcaProject, symmetricEigen } from '../../../src-main/core/latent/pca.ts';
import { Rng } from '../../../src-main/core/rng.ts';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: expected ${b}, got ${a}`);

describe('symmetricEigen', () => {
  test('recovers the eigenvalues and eigenvectors of Q diag(l) Q^T (Q a Householder reflection)', () => {
    const d = 5;
    const l = [9, 4, 2.5, 1, 0.25];
    // Q = I - 2 v v^T / (v^T v): orthogonal, its columns are the eigenvectors.
    const v = [1, -2, 0.5, 3, 1];
    const vv = v.reduce((s, x) => s + x * x, 0);
    const Q = (i: number, j: number) => (i === j ? 1 : 0) - (2 * v[i]! * v[j]!) / vv;
    const A = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) A[i * d + j]! += Q(i, k) * l[k]! * Q(j, k);
    const { values, vectors } = symmetricEigen(A, d);
    l.forEach((x, k) => close(values[k]!, x, 1e-10, `eigenvalue ${k}`));
    for (let k = 0; k < d; k++) {
      // Same axis as Q's column k, up to sign.
      let dot = 0;
      for (let i = 0; i < d; i++) dot += vectors[k * d + i]! * Q(i, k);
      close(Math.abs(dot), 1, 1e-10, `eigenvector ${k}`);
    }
  });

  test('a diagonal matrix is already decomposed', () => {
    const { values, vectors } = symmetricEigen([1, 0, 0, 3], 2);
    assert.deepEqual(Array.from(values), [3, 1]);
    assert.deepEqual(Array.from(vectors), [0, 1, 1, 0]);
  });
});

describe('pca', () => {
  test('points at mean +- a u, +- b v, +- c w: eigenvalues a^2/3, b^2/3, c^2/3 and explained variance a^2 / (a^2 + b^2 + c^2)', () => {
    const s = Math.SQRT1_2;
    const u = [s, s, 0];
    const v = [-s, s, 0];
    const w = [0, 0, 1];
    const mean = [1, -2, 0.5];
    const [a, b, c] = [3, 2, 0.5];
    const pts: number[] = [];
    for (const [axis, len] of [[u, a], [v, b], [w, c]] as const) {
      for (const sign of [1, -1]) pts.push(...mean.map((m, j) => m + sign * len * axis[j]!));
    }
    const p = pca(pts, 6, 3);
    // Population covariance of the six points: sum over axes of (2 len^2 / 6) axis axis^T.
    close(p.eigenvalues[0]!, a * a / 3, 1e-12, 'lambda 0');
    close(p.eigenvalues[1]!, b * b / 3, 1e-12, 'lambda 1');
    close(p.eigenvalues[2]!, c * c / 3, 1e-12, 'lambda 2');
    const total = a * a + b * b + c * c;
    close(p.explainedVariance[0]!, (a * a) / total, 1e-12, 'explained 0');
    close(p.explainedVariance[1]!, (b * b) / total, 1e-12, 'explained 1');
    mean.forEach((m, j) => close(p.mean[j]!, m, 1e-12, `mean ${j}`));
    close(Math.abs(p.components[0]! * u[0]! + p.components[1]! * u[1]!), 1, 1e-12, 'first component is u');
    // On the view, the u-points sit at x = +-a, y = 0.
    const { x, y } = pcaProject(p, pts, 6);
    close(Math.abs(x[0]!), a, 1e-5, 'x of mean + a u');
    close(y[0]!, 0, 1e-5, 'y of mean + a u');
  });

  test('the accumulator over batches equals one pass, with a large common offset', () => {
    const rng = new Rng(3);
    const n = 500;
    const d = 4;
    const pts = new Float32Array(n * d);
    for (let i = 0; i < n * d; i++) pts[i] = 1000 + rng.normal() * (1 + (i % d));
    const whole = new CovarianceAccumulator(d);
    whole.add(pts, n);
    const parts = new CovarianceAccumulator(d);
    parts.add(pts.subarray(0, 123 * d), 123);
    parts.add(pts.subarray(123 * d), n - 123);
    const A = whole.result();
    const B = parts.result();
    A.covariance.forEach((v, k) => close(B.covariance[k]!, v, 1e-9, `cov ${k}`));
    // Per-dimension variance about (1 + j)^2.
    for (let j = 0; j < d; j++) close(A.covariance[j * d + j]! / (1 + j) ** 2, 1, 0.2, `variance ${j}`);
  });

  test('in a 2-D latent space the view is a rotation: projecting then inverting gives the points back', () => {
    const rng = new Rng(11);
    const n = 200;
    const pts = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const g = rng.normal();
      pts[2 * i] = 0.5 + 2 * g + 0.3 * rng.normal();
      pts[2 * i + 1] = -1 + g + 0.5 * rng.normal();
    }
    const p = pca(pts, n, 2);
    const { x, y } = pcaProject(p, pts, n);
    const back = pcaInverse(p.mean, [p.components.subarray(0, 2), p.components.subarray(2, 4)], Array.from(x, (xi, i) => [xi, y[i]!] as [number, number]));
    for (let k = 0; k < 2 * n; k++) close(back[k]!, pts[k]!, 1e-5, `coordinate ${k}`);
    close(p.explainedVariance[0]! + p.explainedVariance[1]!, 1, 1e-12, 'all variance on two components');
  });
});
