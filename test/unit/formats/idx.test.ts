import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FormatError, gunzipIfNeededAsync, isGzip } from '../../../src-main/core/formats/common.ts';
import { checkLabelCount, idxToImages, idxToLabels, parseIdx } from '../../../src-main/core/formats/idx.ts';
import { idxBytes } from '../../helpers/dataset-files.ts';

const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 37) % 256);
const images = idxBytes([3, 4, 5], pixels);
const formatError = (re: RegExp) => (e: unknown) => e instanceof FormatError && re.test(e.message);

describe('IDX', () => {
  test('reads an uncompressed images file: dims, and the bytes in order', () => {
    const a = parseIdx(images, 'x.idx');
    assert.deepEqual(a.dims, [3, 4, 5]);
    assert.deepEqual(Array.from(a.data), Array.from(pixels));
    const im = idxToImages(a);
    assert.deepEqual([im.count, im.height, im.width, im.channels], [3, 4, 5, 1]);
  });

  test('reads the same file gzipped to the same array, synchronously and asynchronously', async () => {
    const gz = gzipSync(images);
    assert.ok(isGzip(gz) && !isGzip(images));
    assert.deepEqual(Array.from(parseIdx(gz).data), Array.from(pixels));
    const inflated = await gunzipIfNeededAsync(gz);
    assert.deepEqual(Array.from(parseIdx(inflated).data), Array.from(pixels));
  });

  test('a fourth dimension is the channel count', () => {
    const rgb = idxToImages(parseIdx(idxBytes([2, 2, 2, 3], new Uint8Array(24))));
    assert.deepEqual([rgb.count, rgb.height, rgb.width, rgb.channels], [2, 2, 2, 3]);
    assert.throws(() => idxToImages(parseIdx(idxBytes([2, 2, 2, 7], new Uint8Array(56)))), formatError(/channel count of 1 to 4/));
  });

  test('labels: one dimension, and their count must equal the images', () => {
    const labels = idxToLabels(parseIdx(idxBytes([3], Uint8Array.of(1, 2, 9))));
    assert.deepEqual(Array.from(labels), [1, 2, 9]);
    const im = idxToImages(parseIdx(images));
    checkLabelCount(im, labels);
    const four = idxToLabels(parseIdx(idxBytes([4], Uint8Array.of(1, 2, 3, 4))));
    assert.throws(() => checkLabelCount(im, four, 'l.idx'), formatError(/^l\.idx: holds 4 labels for 3 images/));
    assert.throws(() => idxToLabels(parseIdx(images)), formatError(/one dimension, this one has 3/));
  });

  test('a truncated raw file names the bytes it needs and has', () => {
    assert.throws(() => parseIdx(images.subarray(0, images.length - 7), 'f'), formatError(/^f: truncated: .*3 x 4 x 5 need 60 bytes of data but it holds 53/));
    assert.throws(() => parseIdx(images.subarray(0, 9), 'f'), formatError(/too short for its header of 3 dimensions/));
    assert.throws(() => parseIdx(images.subarray(0, 2), 'f'), formatError(/too short for an IDX header/));
  });

  test('a truncated gzip file is reported as truncated, not as a zlib error', async () => {
    const gz = gzipSync(images);
    const cut = gz.subarray(0, gz.length - 10);
    assert.throws(() => parseIdx(cut, 'f.gz'), formatError(/^f\.gz: the gzip stream ends early: the file is truncated/));
    await assert.rejects(gunzipIfNeededAsync(cut, 'f.gz'), formatError(/truncated/));
  });

  test('a wrong magic, an unknown or unsupported type code are refused', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]);
    assert.throws(() => parseIdx(png, 'p'), formatError(/not an IDX file: it starts with 89 50 4e 47/));
    assert.throws(() => parseIdx(idxBytes([3], new Uint8Array(3), 0x42)), formatError(/unknown type code 0x42/));
    assert.throws(() => parseIdx(idxBytes([3], new Uint8Array(12), 0x0d)), formatError(/float \(float32\) values; only unsigned-byte/));
    assert.throws(() => parseIdx(idxBytes([], new Uint8Array(0))), formatError(/0 dimensions/));
  });

  test('dims that disagree with the byte count (trailing bytes) are refused', () => {
    const extra = Buffer.concat([images, Buffer.alloc(5)]);
    assert.throws(() => parseIdx(extra, 'f'), formatError(/need 60 bytes of data but it holds 65: the dimensions disagree/));
  });
});
