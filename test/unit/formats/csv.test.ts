import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsvImages } from '../../../src-main/core/formats/csv.ts';

const csv = (s: string) => Buffer.from(s, 'utf8');

test('a header with a label column (anywhere) gives labels; 0..255 values are kept', () => {
  const r = parseCsvImages(csv('p1,p2,label,p3,p4\n0,10,3,20,255\n1,2,0,3,4\n'));
  assert.equal(r.hasHeader, true);
  assert.deepEqual([r.images.count, r.images.width, r.images.height, r.images.channels], [2, 2, 2, 1]);
  assert.deepEqual(Array.from(r.images.pixels), [0, 10, 20, 255, 1, 2, 3, 4]);
  assert.deepEqual(Array.from(r.labels!), [3, 0]);
  assert.equal(r.labelNames!.length, 10);
});

test('no header: a square count is unlabelled, square + 1 has its label first; 0..1 values are scaled', () => {
  const plain = parseCsvImages(csv('0,0.5,1,0.25\r\n1,1,1,1\r\n'));
  assert.equal(plain.labels, null);
  assert.deepEqual(Array.from(plain.images.pixels), [0, 128, 255, 64, 255, 255, 255, 255]);
  const labelled = parseCsvImages(csv('7,1,2,3,4\n2,5,6,7,8\n'));
  assert.deepEqual(Array.from(labelled.labels!), [7, 2]);
  assert.deepEqual(Array.from(labelled.images.pixels), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('text labels become sorted class names; RGB rows are side*side*3', () => {
  const r = parseCsvImages(csv(`label,${Array.from({ length: 12 }, (_, i) => `v${i}`).join(',')}\ncat,${'1,'.repeat(11)}1\ndog,${'2,'.repeat(11)}2\nant,${'3,'.repeat(11)}3\n`));
  assert.deepEqual([r.images.width, r.images.channels], [2, 3]);
  assert.deepEqual(r.labelNames, ['ant', 'cat', 'dog']);
  assert.deepEqual(Array.from(r.labels!), [1, 2, 0]);
});

test('clear errors: not square, ragged rows, values out of range', () => {
  assert.throws(() => parseCsvImages(csv('1,2,3,4,5,6\n'), 'x.csv'), /x\.csv: rows have 6 values.*square image/);
  assert.throws(() => parseCsvImages(csv('1,2,3,4\n1,2,3\n')), /line 2 has 3 values, the first row 4/);
  assert.throws(() => parseCsvImages(csv('1,2,3,4\n1,2,300,4\n')), /line 2, column 3: "300" is not a pixel value/);
  assert.throws(() => parseCsvImages(csv('a,b,c,d\n')), /header but no rows/);
});
