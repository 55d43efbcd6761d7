import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatNumber,
  logTicks,
  lowerBound,
  m4Indices,
  nearestIndex,
  niceTicks,
  padExtent,
  xExtent,
  yExtent,
} from '../../../src-renderer/lib/charts/chart-math.ts';
import type { SeriesData } from '../../../src-renderer/lib/charts/chart-math.ts';

const series = (xs: number[], ys: number[]): SeriesData => ({ x: xs, y: ys, length: xs.length });

test('niceTicks: 1-2-5 steps covering the range, no float noise', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.1, 0.7, 3), [0.2, 0.4, 0.6]);
  assert.deepEqual(niceTicks(95, 540, 5), [100, 200, 300, 400, 500]);
  assert.deepEqual(niceTicks(0.3, 0.3), [0.3]);
  for (const t of niceTicks(0.1, 0.9, 8)) assert.equal(String(t).length <= 4, true, `noisy tick ${t}`);
  assert.deepEqual(niceTicks(5, 1, 4), [1, 2, 3, 4, 5], 'reversed bounds are swapped');
  assert.deepEqual(niceTicks(Number.NaN, 1), []);
});

test('logTicks: decades over wide ranges, 1-2-5 within a few, linear within one', () => {
  assert.deepEqual(logTicks(1, 1e6, 3), [1, 100, 10000, 1000000]);
  assert.deepEqual(logTicks(3, 300, 5), [5, 10, 20, 50, 100, 200]);
  const narrow = logTicks(100, 180, 4);
  assert.ok(narrow.length >= 2 && narrow.every((t) => t >= 100 && t <= 180), `narrow: ${narrow}`);
  assert.deepEqual(logTicks(0, 10), [], 'a log axis needs positive bounds');
});

test('lowerBound and nearestIndex on sorted x', () => {
  const x = [1, 3, 5, 7, 100, 0]; // the last slot is past `length` (growable buffer)
  assert.equal(lowerBound(x, 5, 0), 0);
  assert.equal(lowerBound(x, 5, 5), 2);
  assert.equal(lowerBound(x, 5, 6), 3);
  assert.equal(lowerBound(x, 5, 1000), 5);
  assert.equal(nearestIndex(x, 5, 3.9), 1);
  assert.equal(nearestIndex(x, 5, 4.1), 2);
  assert.equal(nearestIndex(x, 5, -10), 0);
  assert.equal(nearestIndex(x, 5, 1e9), 4);
  assert.equal(nearestIndex(x, 0, 3), -1);
});

test('yExtent: visible x window, skips non-finite values and non-positive ones on a log axis', () => {
  const s = series([0, 1, 2, 3, 4], [5, -2, Number.NaN, 40, 0]);
  assert.deepEqual(yExtent([s], 0, 4, false), { min: -2, max: 40 });
  assert.deepEqual(yExtent([s], 0, 4, true), { min: 5, max: 40 });
  assert.deepEqual(yExtent([s], 0.5, 2.5, false), { min: -2, max: -2 });
  assert.equal(yExtent([s], 10, 20, false), null);
  assert.deepEqual(xExtent([s, series([], [])]), { min: 0, max: 4 });
  assert.equal(xExtent([series([], [])]), null);
});

test('padExtent widens linearly, multiplicatively on log, and opens a flat range', () => {
  assert.deepEqual(padExtent({ min: 0, max: 100 }, false, 0.1), { min: -10, max: 110 });
  const l = padExtent({ min: 10, max: 1000 }, true, 0.1);
  assert.ok(Math.abs(Math.log10(l.min) - 0.8) < 1e-12 && Math.abs(Math.log10(l.max) - 3.2) < 1e-12);
  const flat = padExtent({ min: 5, max: 5 }, false);
  assert.ok(flat.min < 5 && flat.max > 5);
});

test('m4Indices keeps every point when there are few', () => {
  const s = series([0, 1, 2, 3], [1, 2, 3, 4]);
  assert.deepEqual(m4Indices(s, 0, 3, 100), [0, 1, 2, 3]);
  assert.deepEqual(m4Indices(series([0, 1, 2], [1, -1, 2]), 0, 2, 100, true), [0, 2], 'non-positive dropped on log');
});

test('m4Indices: per pixel column the same first/min/max/last as the full data, at most 4 per column', () => {
  // A noisy descending curve like a loss, 50k points on 300 columns.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const n = 50_000;
  const xs = Array.from({ length: n }, (_, i) => i + 1);
  const ys = xs.map((x) => 500 / Math.sqrt(x) + 20 * rand());
  const s = series(xs, ys);
  const cols = 300;
  const x0 = 1;
  const x1 = n;
  const idx = m4Indices(s, x0, x1, cols);
  assert.ok(idx.length <= cols * 4, `${idx.length} indices`);
  assert.ok(idx.every((v, k) => k === 0 || v > idx[k - 1]!), 'indices strictly increasing');
  const colOf = (i: number) => Math.min(cols - 1, Math.floor(((xs[i]! - x0) / (x1 - x0)) * cols));
  const full = new Map<number, { first: number; last: number; min: number; max: number }>();
  for (let i = 0; i < n; i++) {
    const c = colOf(i);
    const e = full.get(c);
    if (!e) full.set(c, { first: i, last: i, min: ys[i]!, max: ys[i]! });
    else {
      e.last = i;
      e.min = Math.min(e.min, ys[i]!);
      e.max = Math.max(e.max, ys[i]!);
    }
  }
  const kept = new Map<number, number[]>();
  for (const i of idx) kept.set(colOf(i), [...(kept.get(colOf(i)) ?? []), i]);
  assert.equal(kept.size, full.size);
  for (const [c, e] of full) {
    const ks = kept.get(c)!;
    assert.equal(ks[0], e.first, `column ${c} first`);
    assert.equal(ks[ks.length - 1], e.last, `column ${c} last`);
    assert.equal(Math.min(...ks.map((i) => ys[i]!)), e.min, `column ${c} min`);
    assert.equal(Math.max(...ks.map((i) => ys[i]!)), e.max, `column ${c} max`);
  }
});

test('m4Indices: a zoomed window keeps one neighbour past each edge', () => {
  const xs = Array.from({ length: 1000 }, (_, i) => i);
  const idx = m4Indices(series(xs, xs), 100.5, 199.5, 500);
  assert.equal(idx[0], 100);
  assert.equal(idx[idx.length - 1], 200);
});

test('formatNumber: compact and readable', () => {
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber(123.456), '123.5');
  assert.equal(formatNumber(200), '200');
  assert.equal(formatNumber(12.345), '12.3');
  assert.equal(formatNumber(0.5), '0.5');
  assert.equal(formatNumber(15300), '15.3k');
  assert.equal(formatNumber(2_500_000), '2.5M');
  assert.equal(formatNumber(0.00012), '1.2e-4');
  assert.equal(formatNumber(-42.1), '-42.1');
});
