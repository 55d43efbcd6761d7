/** CSV per RFC 4180 (quoting), numbers that read back, and the metrics tables' columns. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EpochPoint } from '../../../src-main/contract/types.ts';
import { csvField, csvRow, epochCsvColumns, epochCsvRow, float32Text } from '../../../src-main/core/export/csv.ts';

test('fields with commas, quotes or line breaks are quoted, quotes doubled', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField('cr\rhere'), '"cr\rhere"');
  assert.equal(csvField(''), '');
  assert.equal(csvRow(['x', 'y,z', 3]), 'x,"y,z",3\n');
});

test('numbers, missing values and non-finite numbers', () => {
  assert.equal(csvField(0.1), '0.1');
  assert.equal(csvField(-2e-9), '-2e-9');
  assert.equal(csvField(null), '');
  assert.equal(csvField(undefined), '');
  assert.equal(csvField(NaN), 'NaN');
  assert.equal(csvField(Infinity), 'inf');
  assert.equal(csvField(-Infinity), '-inf');
  assert.equal(csvField(true), 'true');
});

test('float32 values are written with the fewest digits that read back as the same float32', () => {
  for (const v of [0.1, 1 / 3, -123.456, 1e-20, 3.4e38, 0, 0.5]) {
    const f = Math.fround(v);
    const s = float32Text(f);
    assert.equal(Math.fround(Number(s)), f, `${v} -> ${s}`);
    assert.ok(s.replace(/^-|e.*$|\./g, '').replace(/^0+/, '').length <= 9, s);
  }
  assert.equal(float32Text(Math.fround(0.1)), '0.1');
});

test('the epoch table has every EpochPoint field and one kl_j column per latent dimension', () => {
  const cols = epochCsvColumns(3);
  assert.deepEqual(cols.slice(-3), ['kl_0', 'kl_1', 'kl_2']);
  const p: EpochPoint = {
    epoch: 2, step: 40, loss: 1, recon: 0.8, kl: 0.2, negElbo: 1, valNegElbo: null, valRecon: null, valKl: null,
    bitsPerDim: 0.5, durationMs: 10, klPerDim: [0.1, 0.05, 0.05], activeUnits: 2, collapseWarning: false,
  };
  const row = epochCsvRow(p, 3);
  assert.equal(row.length, cols.length);
  assert.equal(row[cols.indexOf('active_units')], 2);
  assert.equal(row[cols.indexOf('val_neg_elbo')], null);
  assert.deepEqual(row.slice(-3), [0.1, 0.05, 0.05]);
  // Old runs without klPerDim: empty fields.
  assert.deepEqual(epochCsvRow({ ...p, klPerDim: undefined }, 3).slice(-3), [undefined, undefined, undefined]);
});
