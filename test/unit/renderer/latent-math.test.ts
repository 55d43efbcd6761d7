/**
 * The latent explorer's pure maths (src-renderer/features/latent): checked against closed forms
 * and brute force, not against the code's own output.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  base64OfF32,
  dimsInverse,
  f32OfBase64,
  i32OfBase64,
  interpolationPath,
  lassoRows,
  lerp,
  manifoldGrid,
  pcaInverse,
  pointColours,
  priorSamples,
  quantile,
  slerp,
  traversalGrid,
  viridis,
  worstRows,
} from '../../../src-renderer/features/latent/latent-math.ts';
import { likelihoodMean } from '../../../src-main/contract/likelihood.ts';
import { latestOnly } from '../../../src-renderer/features/latent/tools.ts';
import { fitView, GridIndex, pan, toData, toScreen, zoomAt } from '../../../src-renderer/features/latent/view.ts';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

test('base64 of little-endian float32 and int32 arrays round-trips', () => {
  const a = new Float32Array([0, -1.5, 3.25, 1e-7, Infinity]);
  assert.deepEqual(Array.from(f32OfBase64(base64OfF32(a))), Array.from(a));
  // Int32 [1, -2] little-endian: 01 00 00 00 fe ff ff ff.
  const b64 = Buffer.from([1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]).toString('base64');
  assert.deepEqual(Array.from(i32OfBase64(b64)), [1, -2]);
  assert.throws(() => f32OfBase64(Buffer.from([1, 2, 3]).toString('base64')), /multiple of 4/);
});

test('likelihood means: sigmoid, the continuous Bernoulli mean and the clipped Gaussian', () => {
  const [b0, b1] = likelihoodMean('bernoulli', [0, Math.log(3)]);
  close(b0!, 0.5, 1e-7);
  close(b1!, 0.75, 1e-7);
  // Continuous Bernoulli mean (Loaiza-Ganem & Cunningham 2019, eq. 5) in lambda = sigmoid(l).
  for (const l of [-6, -2, -0.5, 0.3, 2, 5]) {
    const lam = 1 / (1 + Math.exp(-l));
    const expected = lam / (2 * lam - 1) + 1 / (2 * Math.atanh(1 - 2 * lam));
    close(likelihoodMean('continuousBernoulli', [l])[0]!, expected, 1e-5, `l=${l}`);
  }
  // At l = 0 the mean is 1/2, and the series meets the closed form at the switch-over.
  close(likelihoodMean('continuousBernoulli', [0])[0]!, 0.5, 1e-7);
  close(likelihoodMean('continuousBernoulli', [0.0099])[0]!, likelihoodMean('continuousBernoulli', [0.0101])[0]!, 1e-4);
  assert.deepEqual(Array.from(likelihoodMean('gaussian', [-0.2, 0.25, 1.7])), [0, 0.25, 1]);
});

test('inverses: PCA z = mean + x c0 + y c1 projects back to (x, y); dims keeps the other means', () => {
  const s = Math.SQRT1_2;
  const pca = { mean: [1, 2, 3], components: [[s, s, 0], [0, 0, 1]] as [number[], number[]] };
  const z = pcaInverse(pca, 2, -1);
  const d = Array.from(z).map((v, i) => v - pca.mean[i]!);
  close(d[0]! * s + d[1]! * s, 2, 1e-6);
  close(d[2]!, -1, 1e-6);
  assert.deepEqual(Array.from(dimsInverse([0.5, 0.25, -1], [2, 0], 4, 5)), [5, 0.25, 4]);
});

test('slerp keeps the ends and moves on the great circle; lerp is the straight line', () => {
  const a = [1, 0, 0];
  const b = [0, 1, 0];
  assert.deepEqual(Array.from(slerp(a, b, 0)).map((v) => +v.toFixed(6)), [1, 0, 0]);
  assert.deepEqual(Array.from(slerp(a, b, 1)).map((v) => +v.toFixed(6)), [0, 1, 0]);
  const m = slerp(a, b, 0.5);
  close(m[0]!, Math.SQRT1_2, 1e-6);
  close(m[1]!, Math.SQRT1_2, 1e-6);
  close(norm(m), 1, 1e-6);
  // At t = 1/3 the angle from a is 30 degrees.
  const t = slerp(a, b, 1 / 3);
  close(t[0]!, Math.cos(Math.PI / 6), 1e-6);
  close(t[1]!, Math.sin(Math.PI / 6), 1e-6);
  assert.deepEqual(Array.from(lerp([0, 2], [4, -2], 0.25)), [1, 1]);
  // Parallel vectors fall back to the straight line instead of dividing by sin(0).
  assert.deepEqual(Array.from(slerp([1, 1], [2, 2], 0.5)), [1.5, 1.5]);
});

test('an interpolation path visits every picked point once, segments of equal steps', () => {
  const pts = [[0, 0], [4, 0], [4, 8]];
  const { z, count } = interpolationPath(pts, 5, 'linear');
  assert.equal(count, 9);
  const at = (k: number) => [z[k * 2], z[k * 2 + 1]];
  assert.deepEqual(at(0), [0, 0]);
  assert.deepEqual(at(2), [2, 0]);
  assert.deepEqual(at(4), [4, 0]);
  assert.deepEqual(at(6), [4, 4]);
  assert.deepEqual(at(8), [4, 8]);
  assert.throws(() => interpolationPath([[0]], 5, 'linear'), /two points/);
});

test('prior samples: seeded, mean 0 and variance T^2', () => {
  const a = priorSamples(10, 3, 1, 42);
  assert.deepEqual(Array.from(a), Array.from(priorSamples(10, 3, 1, 42)));
  assert.notDeepEqual(Array.from(a), Array.from(priorSamples(10, 3, 1, 43)));
  const T = 0.7;
  const s = priorSamples(20000, 2, T, 7);
  let sum = 0;
  let sq = 0;
  for (const v of s) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / s.length;
  const variance = sq / s.length - mean * mean;
  // 40k draws: the standard error of the mean is T/200 = 0.0035, of the variance ~ T^2 * 0.007.
  close(mean, 0, 0.02, 'mean');
  close(variance, T * T, 0.03, 'variance');
});

test('traversal and manifold grids move the chosen dimensions by -3..+3 sd around the base', () => {
  const base = [1, 2, 3];
  const std = [0.5, 1, 2];
  const g = traversalGrid(base, [2, 0], std, 3);
  // Row 0 moves dim 2 by -6, 0, +6; row 1 moves dim 0 by -1.5, 0, +1.5.
  const v = (k: number) => Array.from(g.subarray(k * 3, k * 3 + 3));
  assert.deepEqual(v(0), [1, 2, -3]);
  assert.deepEqual(v(1), [1, 2, 3]);
  assert.deepEqual(v(2), [1, 2, 9]);
  assert.deepEqual(v(3), [-0.5, 2, 3]);
  assert.deepEqual(v(5), [2.5, 2, 3]);
  const m = manifoldGrid(base, 0, 1, std, 3);
  const w = (k: number) => Array.from(m.subarray(k * 3, k * 3 + 3));
  assert.deepEqual(w(0), [-0.5, 5, 3], 'top left: a at -3 sd, b at +3 sd');
  assert.deepEqual(w(4), [1, 2, 3], 'centre: the base');
  assert.deepEqual(w(8), [2.5, -1, 3], 'bottom right');
});

test('outliers are the largest -ELBO first, NaN counted worst; quantiles interpolate', () => {
  assert.deepEqual(worstRows([5, 9, NaN, 1, 9], 3), [2, 1, 4]);
  close(quantile([0, 10, 20, 30, 40], 0.5), 20, 0);
  close(quantile([0, 10], 0.25), 2.5, 1e-12);
});

test('lasso: the points inside a polygon (even-odd), none for a degenerate one', () => {
  const xs = [0, 1, 2, 0.5, 5];
  const ys = [0, 1, 2, 1.5, 5];
  // A triangle (0,0)-(3,0)-(0,3): inside are (0.5,1.5), (1,1); (2,2) is outside, (0,0) is a vertex.
  const rows = lassoRows(xs, ys, [[-0.1, -0.1], [3.2, -0.1], [-0.1, 3.2]]);
  assert.deepEqual(rows.sort(), [0, 1, 3]);
  assert.deepEqual(lassoRows(xs, ys, [[0, 0], [1, 1]]), []);
});

test('colours: labels by palette, -ELBO on viridis between the 2nd and 98th percentiles', () => {
  const negElbo = Float32Array.from({ length: 101 }, (_, i) => i);
  const c = pointColours('elbo', null, negElbo);
  assert.deepEqual(c.range, [2, 98]);
  assert.deepEqual(Array.from(c.rgba.subarray(0, 3)), viridis(0));
  assert.deepEqual(Array.from(c.rgba.subarray(100 * 4, 100 * 4 + 3)), viridis(1));
  assert.deepEqual(viridis(0), [68, 1, 84]);
  assert.deepEqual(viridis(1), [253, 231, 37]);
  const byLabel = pointColours('label', Int32Array.from([0, 1, 0]), new Float32Array(3));
  assert.deepEqual(Array.from(byLabel.rgba.subarray(0, 4)), Array.from(byLabel.rgba.subarray(8, 12)));
  assert.notDeepEqual(Array.from(byLabel.rgba.subarray(0, 3)), Array.from(byLabel.rgba.subarray(4, 7)));
});

test('view: zoom keeps the point under the cursor, pan moves by pixels, fit shows the bounds', () => {
  let v = fitView({ x0: -2, x1: 2, y0: -1, y1: 1 }, 400, 300, 20);
  const [sx0, sy0] = toScreen(v, -2, 1);
  assert.ok(sx0 >= 19.99 && sy0 >= 19.99, 'the top-left corner is inside the margin');
  const [sx1, sy1] = toScreen(v, 2, -1);
  assert.ok(sx1 <= 380.01 && sy1 <= 280.01);
  const before = toData(v, 123, 45);
  v = zoomAt(v, 123, 45, 3.7);
  const after = toData(v, 123, 45);
  close(after[0], before[0], 1e-9);
  close(after[1], before[1], 1e-9);
  const p = toScreen(v, 0.3, 0.2);
  v = pan(v, 10, -5);
  const q = toScreen(v, 0.3, 0.2);
  close(q[0] - p[0], 10, 1e-9);
  close(q[1] - p[1], -5, 1e-9);
});

test('the grid index answers nearest-point and rectangle queries as brute force does', () => {
  const rnd = (() => {
    let s = 12345;
    return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  })();
  const n = 5000;
  const xs = Float32Array.from({ length: n }, () => rnd() * 10 - 5);
  const ys = Float32Array.from({ length: n }, () => (rnd() - 0.5) * rnd() * 4);
  const idx = new GridIndex(xs, ys);
  for (let q = 0; q < 300; q++) {
    const x = rnd() * 12 - 6;
    const y = rnd() * 5 - 2.5;
    const r = rnd() * 0.3;
    let best = -1;
    let bd = r * r;
    for (let i = 0; i < n; i++) {
      const d = (xs[i]! - x) ** 2 + (ys[i]! - y) ** 2;
      if (d <= bd) {
        bd = d;
        best = i;
      }
    }
    const got = idx.nearest(x, y, r);
    if (best === -1) assert.equal(got, -1);
    else close((xs[got]! - x) ** 2 + (ys[got]! - y) ** 2, bd, 1e-9, `query ${q}`);
  }
  const rect = idx.inRect(-1, 1, -0.5, 0.5, 1e9);
  const brute = [];
  for (let i = 0; i < n; i++) if (xs[i]! >= -1 && xs[i]! <= 1 && ys[i]! >= -0.5 && ys[i]! <= 0.5) brute.push(i);
  assert.deepEqual(rect.rows.sort((a, b) => a - b), brute);
  assert.equal(rect.truncated, false);
  assert.equal(idx.inRect(-1, 1, -0.5, 0.5, 3).truncated, true);
});

test('latestOnly runs one call at a time and then only the latest waiting arguments', async () => {
  const seen: number[] = [];
  let release!: () => void;
  const f = latestOnly(async (v: number) => {
    seen.push(v);
    if (v === 1) await new Promise<void>((r) => (release = r));
  });
  f(1);
  f(2);
  f(3);
  f(4);
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(seen, [1, 4]);
});
