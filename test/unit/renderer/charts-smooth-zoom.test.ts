import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SeriesData } from '../../../src-renderer/lib/charts/chart-math.ts';
import { SmoothCache, emaSmooth } from '../../../src-renderer/lib/charts/smooth.ts';
import { maxPointsForRange, needsDetail, rangeFromDrag, viewRange } from '../../../src-renderer/lib/charts/zoom.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('emaSmooth: a constant stays constant from the first point (debiased)', () => {
  const y = new Array(50).fill(3.25);
  for (const w of [0, 0.5, 0.9, 0.99]) {
    for (const v of emaSmooth(y, y.length, w)) close(v, 3.25);
  }
});

test('emaSmooth: a step from 0 to 1 at point m follows the closed form', () => {
  // With s_k = w s_{k-1} + (1-w) y_k, s_0 = 0: for k > m, s_k = 1 - w^(k-m), so the shown value
  // s_k / (1 - w^k) = (1 - w^(k-m)) / (1 - w^k).
  const w = 0.8;
  const m = 5;
  const y = Array.from({ length: 30 }, (_, i) => (i < m ? 0 : 1));
  const out = emaSmooth(y, y.length, w);
  for (let i = 0; i < y.length; i++) {
    const k = i + 1;
    const expected = k <= m ? 0 : (1 - w ** (k - m)) / (1 - w ** k);
    close(out[i]!, expected, 1e-12);
  }
});

test('emaSmooth: non-finite points carry the last value and do not count', () => {
  const out = emaSmooth([Number.NaN, 2, Number.POSITIVE_INFINITY, 2], 4, 0.5);
  assert.ok(Number.isNaN(out[0]!));
  close(out[1]!, 2);
  close(out[2]!, 2);
  close(out[3]!, 2);
  // w = 0: the raw values.
  assert.deepEqual(Array.from(emaSmooth([1, 5, 2], 3, 0)), [1, 5, 2]);
});

test('SmoothCache: appending extends the smoothed copy exactly like smoothing from scratch', () => {
  const ys = Array.from({ length: 1000 }, (_, i) => Math.sin(i / 7) + (i % 13) / 10);
  const xs = ys.map((_, i) => i + 1);
  const cache = new SmoothCache();
  const view = (n: number): SeriesData => ({ x: xs, y: ys, length: n });
  cache.smooth(view(10), 0.9);
  cache.smooth(view(400), 0.9);
  const got = cache.smooth(view(1000), 0.9);
  const want = emaSmooth(ys, 1000, 0.9);
  assert.equal(got.length, 1000);
  for (let i = 0; i < 1000; i++) close(got.y[i]!, want[i]!);
  // Replaced data (sameData false) or a new weight recomputes from scratch.
  const other = ys.map((v) => v * 2);
  const fresh = cache.smooth({ x: xs, y: other, length: 1000 }, 0.9, false);
  close(fresh.y[999]!, emaSmooth(other, 1000, 0.9)[999]!);
  const w5 = cache.smooth({ x: xs, y: other, length: 1000 }, 0.5);
  close(w5.y[500]!, emaSmooth(other, 1000, 0.5)[500]!);
  // Weight 0 gives the data back untouched.
  const raw = view(5);
  assert.equal(cache.smooth(raw, 0), raw);
});

test('rangeFromDrag: pixels to data, either direction, clamped; a click is no zoom', () => {
  const view = { min: 0, max: 1000 };
  // Plot from x = 50 px, 500 px wide: 2 data units per px.
  assert.deepEqual(rangeFromDrag(100, 300, 50, 500, view), { x0: 100, x1: 500 });
  assert.deepEqual(rangeFromDrag(300, 100, 50, 500, view), { x0: 100, x1: 500 });
  assert.deepEqual(rangeFromDrag(0, 700, 50, 500, view), { x0: 0, x1: 1000 });
  assert.equal(rangeFromDrag(100, 103, 50, 500, view), null);
  assert.equal(rangeFromDrag(10, 40, 50, 500, view), null, 'wholly left of the plot');
});

test('viewRange: the zoom within the data, else the data', () => {
  const data = { min: 1, max: 100 };
  assert.deepEqual(viewRange(data, null), data);
  assert.deepEqual(viewRange(data, { x0: 20, x1: 40 }), { min: 20, max: 40 });
  assert.deepEqual(viewRange(data, { x0: 40, x1: 20 }), { min: 20, max: 40 });
  assert.deepEqual(viewRange(data, { x0: 50, x1: 500 }), { min: 50, max: 100 });
  assert.deepEqual(viewRange(data, { x0: 200, x1: 300 }), data);
});

test('needsDetail and maxPointsForRange: re-read finer only when the zoomed range is coarse', () => {
  // A million-step run held at 800 points, zoomed to 1 % of it: 8 points for 800 columns.
  const range = { x0: 500_000, x1: 510_000 };
  assert.equal(needsDetail(8, range, 1_000_000, 800), true);
  // 100 columns per 1 % of the run -> 80,000 points over the whole run.
  assert.equal(maxPointsForRange(range, 1_000_000, 800), 80_000);
  // Never more than the contract allows, never fewer than 10.
  assert.equal(maxPointsForRange({ x0: 1, x1: 2 }, 1_000_000, 800), 100_000);
  assert.equal(maxPointsForRange(null, 5, 1), 10);
  // Enough points held, or a range with no more steps than held: nothing to fetch.
  assert.equal(needsDetail(600, range, 1_000_000, 800), false);
  assert.equal(needsDetail(40, { x0: 1, x1: 40 }, 1000, 800), false);
});
