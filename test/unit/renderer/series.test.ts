import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EpochPoint, StepPoint } from '../../../src-main/contract/index.ts';
import { StepSeries, epochSeries, upsertEpoch } from '../../../src-renderer/lib/charts/series.ts';

const pt = (step: number): StepPoint => ({
  step,
  epoch: 1 + Math.floor(step / 100),
  loss: 1000 / step,
  recon: 900 / step,
  kl: 100 / step,
  negElbo: 1000 / step,
  samplesPerSec: 5000,
  timeMs: step * 10,
});
const ep = (epoch: number, val: number | null): EpochPoint => ({
  epoch,
  step: epoch * 100,
  loss: 100 / epoch,
  recon: 90 / epoch,
  kl: 10 / epoch,
  negElbo: 100 / epoch,
  valNegElbo: val,
  valRecon: null,
  valKl: null,
  bitsPerDim: 0.1,
  durationMs: 1000,
});

test('StepSeries appends in order, drops replays and grows past its capacity', () => {
  const s = new StepSeries(16);
  const v0 = s.version;
  assert.equal(s.append([pt(1), pt(2), pt(3)]), 3);
  assert.equal(s.append([pt(2), pt(3)]), 0, 'already held');
  assert.equal(s.append([pt(3), pt(4)]), 1);
  assert.ok(s.version > v0);
  const many = Array.from({ length: 1000 }, (_, i) => pt(i + 5));
  assert.equal(s.append(many), 1000);
  assert.equal(s.length, 1004);
  const neg = s.series('negElbo');
  assert.equal(neg.length, 1004);
  assert.equal(neg.x[0], 1);
  assert.equal(neg.x[1003], 1004);
  assert.equal(neg.y[1003], 1000 / 1004);
  assert.deepEqual(s.last(), pt(1004));
  const v = s.version;
  assert.equal(s.append([]), 0);
  assert.equal(s.version, v, 'no change, no new version');
});

test('StepSeries.mergeHistory puts older stored points before the live ones', () => {
  const s = new StepSeries();
  s.append([pt(50), pt(51), pt(52)]); // live events that arrived while history loaded
  s.mergeHistory([pt(1), pt(10), pt(49), pt(50), pt(51)]);
  assert.deepEqual(Array.from(s.series('kl').x).slice(0, s.length), [1, 10, 49, 50, 51, 52]);
  const empty = new StepSeries();
  empty.mergeHistory([pt(3), pt(4)]);
  assert.equal(empty.length, 2);
  empty.reset();
  assert.equal(empty.length, 0);
  assert.equal(empty.last(), null);
});

test('epochSeries leaves out missing validation values; upsertEpoch replaces and sorts', () => {
  const pts = [ep(1, 120), ep(2, null), ep(3, 100)];
  const val = epochSeries(pts, 'valNegElbo');
  assert.deepEqual([Array.from(val.x as number[]), Array.from(val.y as number[]), val.length], [[1, 3], [120, 100], 2]);
  assert.equal(epochSeries(pts, 'negElbo').length, 3);
  let list = upsertEpoch([], ep(2, 5));
  list = upsertEpoch(list, ep(1, 6));
  list = upsertEpoch(list, ep(2, 4));
  assert.deepEqual(
    list.map((p) => [p.epoch, p.valNegElbo]),
    [
      [1, 6],
      [2, 4],
    ],
  );
});
