import assert from 'node:assert/strict';
import { test } from 'node:test';
import { permutation, Rng } from '../../../src-main/core/rng.ts';

test('the same seed gives the same sequence; another seed another one', () => {
  const a = new Rng(123);
  const b = new Rng(123);
  const c = new Rng(124);
  const sa = Array.from({ length: 100 }, () => a.nextUint32());
  const sb = Array.from({ length: 100 }, () => b.nextUint32());
  const sc = Array.from({ length: 100 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('uniform has mean 1/2 and variance 1/12; int stays in range and hits every value', () => {
  const r = new Rng(1);
  const n = 100_000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    s += u;
    s2 += u * u;
  }
  const mean = s / n;
  assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(s2 / n - mean * mean - 1 / 12) < 0.003);
  const hits = new Array(7).fill(0);
  for (let i = 0; i < 7000; i++) hits[r.int(7)]++;
  for (const h of hits) assert.ok(h > 850 && h < 1150, `counts ${hits}`);
});

test('normal has mean 0, variance 1 and the right tail mass', () => {
  const r = new Rng(2);
  const n = 100_000;
  let s = 0;
  let s2 = 0;
  let beyond2 = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
    if (Math.abs(z) > 2) beyond2++;
  }
  assert.ok(Math.abs(s / n) < 0.015);
  assert.ok(Math.abs(s2 / n - 1) < 0.02);
  // P(|Z| > 2) = 0.0455
  assert.ok(Math.abs(beyond2 / n - 0.0455) < 0.003);
});

test('shuffle and permutation produce permutations, reproducibly', () => {
  const p = permutation(1000, new Rng(5));
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(p, permutation(1000, new Rng(5)));
  assert.notDeepEqual(p, permutation(1000, new Rng(6)));
  const arr = ['a', 'b', 'c', 'd'];
  new Rng(3).shuffle(arr);
  assert.deepEqual([...arr].sort(), ['a', 'b', 'c', 'd']);
});
