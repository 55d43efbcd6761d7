import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError, UnsupportedFormatError } from '../../../src-main/core/formats/common.ts';
import { decodeBmp } from '../../../src-main/core/formats/bmp.ts';
import { bmpBytes, pattern } from '../../helpers/dataset-files.ts';

/** Opaque pixels with at most `n` distinct colours, so they fit a palette. */
function paletteImage(w: number, h: number, n: number): Uint8Array {
  const out = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const k = (i * 7) % n;
    out.set([k * 40, 255 - k * 30, (k * 90) & 255, 255], i * 4);
  }
  return out;
}

test('24-bit BMP decodes to the exact RGBA pixels, top row first, odd widths padded', () => {
  const rgba = pattern(5, 3, 1, 4); // width 5: rows of 15 bytes padded to 16
  const img = decodeBmp(bmpBytes(5, 3, rgba, 24));
  assert.deepEqual([img.width, img.height], [5, 3]);
  assert.deepEqual(Array.from(img.data), Array.from(rgba));
});

test('32-bit BMP keeps its alpha when the fourth byte is used, else reads it as opaque', () => {
  const rgba = pattern(4, 2, 2, 4);
  for (let i = 0; i < 8; i++) rgba[i * 4 + 3] = i * 30;
  assert.deepEqual(Array.from(decodeBmp(bmpBytes(4, 2, rgba, 32)).data), Array.from(rgba));
  const zeroAlpha = pattern(4, 2, 2, 4).map((v, i) => (i % 4 === 3 ? 0 : v));
  const img = decodeBmp(bmpBytes(4, 2, zeroAlpha, 32));
  assert.ok([...img.data].every((v, i) => i % 4 !== 3 || v === 255), 'a reserved byte of 0 everywhere does not mean transparent');
});

for (const [bpp, colours] of [[8, 200], [4, 16], [1, 2]] as const) {
  test(`${bpp}-bit palette BMP decodes exactly (${colours} colours)`, () => {
    const rgba = paletteImage(9, 4, colours);
    assert.deepEqual(Array.from(decodeBmp(bmpBytes(9, 4, rgba, bpp)).data), Array.from(rgba));
  });
}

test('RLE and other compressed BMPs are unsupported; truncated ones are corrupt', () => {
  const rgba = paletteImage(4, 4, 4);
  assert.throws(() => decodeBmp(bmpBytes(4, 4, rgba, 8, { compression: 1 }), 'x.bmp'), (e: Error) => e instanceof UnsupportedFormatError && /RLE8/.test(e.message));
  assert.throws(() => decodeBmp(bmpBytes(4, 4, rgba, 4, { compression: 2 })), (e: Error) => e instanceof UnsupportedFormatError && /RLE4/.test(e.message));
  const full = bmpBytes(6, 6, pattern(6, 6, 3, 4), 24);
  assert.throws(() => decodeBmp(full.subarray(0, full.length - 10)), (e: Error) => e instanceof FormatError && !(e instanceof UnsupportedFormatError) && /truncated/.test(e.message));
  assert.throws(() => decodeBmp(Buffer.from('BMxx')), /truncated/);
});
