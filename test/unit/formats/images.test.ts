import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headerSize, sniffImage } from '../../../src-main/core/formats/sniff.ts';
import { convertChannels, flatten, luma, prepareImage, resample, scaledSize, toSquare } from '../../../src-main/core/images/preprocess.ts';
import { decodeImage } from '../../../src-main/core/images/decode.ts';
import { FormatError, UnsupportedFormatError } from '../../../src-main/core/formats/common.ts';
import { bmpBytes, encodeImage, pattern } from '../../helpers/dataset-files.ts';

test('formats are told by their bytes, with their header sizes', async () => {
  for (const f of ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'] as const) {
    const b = await encodeImage(f, 13, 7, 1);
    assert.equal(sniffImage(b), f);
    const size = headerSize(b, f);
    if (size) assert.deepEqual(size, { width: 13, height: 7 }, f);
  }
  assert.equal(sniffImage(bmpBytes(3, 2, pattern(3, 2, 0, 4), 24)), 'bmp');
  assert.equal(sniffImage(Buffer.from('hello world, not an image')), null);
});

test('decodeImage: lossless formats give back the exact pixels; damaged bytes are corrupt, HEIF unsupported', async () => {
  for (const f of ['png', 'webp', 'tiff'] as const) {
    const d = await decodeImage(await encodeImage(f, 6, 4, 2));
    assert.deepEqual([d.width, d.height, d.image.channels], [6, 4, 3], f);
    assert.deepEqual(Array.from(d.image.data), Array.from(pattern(6, 4, 2, 3)), f);
  }
  const png = await encodeImage('png', 16, 16, 3);
  await assert.rejects(decodeImage(png.subarray(0, png.length - 30)), (e: Error) => e instanceof FormatError && /truncated PNG/.test(e.message));
  await assert.rejects(decodeImage(Buffer.alloc(100, 7)), (e: Error) => e instanceof FormatError && !(e instanceof UnsupportedFormatError));
  const heif = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), Buffer.alloc(40)]);
  await assert.rejects(decodeImage(heif), (e: Error) => e instanceof UnsupportedFormatError);
});

test('decodeImage shrinks large images while decoding, to the size the resize mode needs', async () => {
  const d = await decodeImage(await encodeImage('png', 200, 100, 4), { size: 32, resize: 'crop' });
  assert.deepEqual([d.width, d.height, d.image.width, d.image.height], [200, 100, 64, 32]);
  const p = await decodeImage(await encodeImage('jpeg', 200, 100, 4), { size: 32, resize: 'pad' });
  assert.deepEqual([p.image.width, p.image.height], [32, 16]);
});

test('flatten composites alpha over the background: out = c*a + bg*(1-a)', () => {
  const img = { width: 2, height: 1, channels: 4, data: Uint8Array.of(200, 100, 0, 255, 200, 100, 0, 51) };
  assert.deepEqual(Array.from(flatten(img, [0, 0, 255]).data), [200, 100, 0, 40, 20, 204]);
  const ga = { width: 1, height: 1, channels: 2, data: Uint8Array.of(100, 128) };
  assert.deepEqual(Array.from(flatten(ga, [255, 255, 255]).data), [177]);
});

test('resample: a constant stays constant, a 2x shrink averages pairs, the same size is a no-op', () => {
  const c = { width: 7, height: 5, channels: 1, data: new Uint8Array(35).fill(90) };
  assert.ok(resample(c, 3, 11).data.every((v) => v === 90));
  const row = { width: 4, height: 1, channels: 1, data: Uint8Array.of(0, 100, 201, 100) };
  // Tent of support 2 centred between each pair: weights 1/8, 3/8, 3/8, 1/8 (edge clamped).
  assert.deepEqual(Array.from(resample(row, 2, 1).data), [Math.round((0 * 1 + 0 * 3 + 100 * 3 + 201) / 8), Math.round((100 + 201 * 3 + 100 * 3 + 100) / 8)]);
  assert.equal(resample(c, 7, 5), c);
});

test('resample: upscaling is bilinear (a 2x stretch of [0, 100] is [0, 25, 75, 100]); every channel is resampled alone', () => {
  assert.deepEqual(Array.from(resample({ width: 2, height: 1, channels: 1, data: Uint8Array.of(0, 100) }, 4, 1).data), [0, 25, 75, 100]);
  // The 1-, 3- and n-channel loops (2 taps, more taps) against one plane at a time.
  const plane = (img: { width: number; height: number; channels: number; data: Uint8Array }, c: number) => ({
    width: img.width,
    height: img.height,
    channels: 1,
    data: img.data.filter((_, i) => i % img.channels === c),
  });
  for (const channels of [2, 3, 4]) {
    const img = { width: 23, height: 17, channels, data: Uint8Array.from({ length: 23 * 17 * channels }, (_, i) => (i * 37 + (i >> 5) * 11) & 255) };
    for (const [w, h] of [
      [64, 40],
      [7, 5],
      [23, 9],
    ]) {
      const all = resample(img, w!, h!);
      for (let c = 0; c < channels; c++) assert.deepEqual(plane(all, c).data, resample(plane(img, c), w!, h!).data, `${channels} channels to ${w}x${h}, channel ${c}`);
    }
  }
});

test('toSquare: pad centres on the background, crop keeps the centre, fit stretches', () => {
  const wide = { width: 4, height: 2, channels: 1, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) };
  assert.deepEqual(scaledSize(4, 2, 4, 'pad'), { width: 4, height: 2 });
  assert.deepEqual(Array.from(toSquare(wide, 4, 'pad', [9, 9, 9]).data), [9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9]);
  assert.deepEqual(scaledSize(4, 2, 2, 'crop'), { width: 4, height: 2 });
  assert.deepEqual(Array.from(toSquare(wide, 2, 'crop', [0, 0, 0]).data), [2, 3, 6, 7]);
  assert.deepEqual([toSquare(wide, 3, 'fit', [0, 0, 0]).width, toSquare(wide, 3, 'fit', [0, 0, 0]).height], [3, 3]);
});

test('prepareImage: grayscale by BT.601 luma; auto keeps grey images grey and colour ones RGB', () => {
  const rgb = { width: 1, height: 1, channels: 3, data: Uint8Array.of(255, 0, 0) };
  assert.deepEqual(Array.from(prepareImage(rgb, 1, { resize: 'pad', channels: 'grayscale' }, [0, 0, 0]).data), [luma(255, 0, 0)]);
  assert.equal(luma(255, 0, 0), 76);
  assert.equal(prepareImage(rgb, 1, { resize: 'pad', channels: 'auto' }, [0, 0, 0]).channels, 3);
  const greyInRgb = { width: 1, height: 1, channels: 3, data: Uint8Array.of(7, 7, 7) };
  assert.deepEqual(prepareImage(greyInRgb, 1, { resize: 'pad', channels: 'auto' }, [0, 0, 0]), { data: Uint8Array.of(7), channels: 1 });
  const grey = { width: 1, height: 1, channels: 1, data: Uint8Array.of(5) };
  assert.deepEqual(Array.from(prepareImage(grey, 1, { resize: 'pad', channels: 'rgb' }, [0, 0, 0]).data), [5, 5, 5]);
  assert.deepEqual(Array.from(convertChannels(grey, 3).data), [5, 5, 5]);
});
