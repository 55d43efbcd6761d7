import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FormatError } from '../../../src-main/core/formats/common.ts';
import { parseNpyHeader, parseNpyImages } from '../../../src-main/core/formats/npy.ts';
import { npyBytes } from '../../helpers/dataset-files.ts';

const formatError = (re: RegExp) => (e: unknown) => e instanceof FormatError && re.test(e.message);
const f32 = (xs: number[], le = true) => {
  const b = Buffer.alloc(xs.length * 4);
  xs.forEach((x, i) => (le ? b.writeFloatLE(x, i * 4) : b.writeFloatBE(x, i * 4)));
  return b;
};
const f64 = (xs: number[]) => {
  const b = Buffer.alloc(xs.length * 8);
  xs.forEach((x, i) => b.writeDoubleLE(x, i * 8));
  return b;
};

describe('NPY', () => {
  test('v1 uint8 N x H x W: one channel, bytes unchanged, data at a 64-byte boundary', () => {
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 10);
    const file = npyBytes('|u1', [2, 3, 4], data);
    const h = parseNpyHeader(file);
    assert.equal(h.version, '1.0');
    assert.equal(h.dataOffset % 64, 0);
    const im = parseNpyImages(file);
    assert.deepEqual([im.count, im.height, im.width, im.channels], [2, 3, 4, 1]);
    assert.deepEqual(Array.from(im.pixels), Array.from(data));
  });

  test('v2 header, N x H x W x 3', () => {
    const im = parseNpyImages(npyBytes('|u1', [1, 2, 2, 3], new Uint8Array(12).fill(7), { version: 2 }));
    assert.equal(parseNpyHeader(npyBytes('|u1', [1, 2, 2, 3], new Uint8Array(12), { version: 2 })).version, '2.0');
    assert.deepEqual([im.count, im.height, im.width, im.channels], [1, 2, 2, 3]);
  });

  test('float32 in [0, 1] is scaled by 255 and rounded', () => {
    const im = parseNpyImages(npyBytes('<f4', [1, 2, 2], f32([0, 0.5, 1, 0.1])));
    // 0.5*255 = 127.5 -> 128; 0.1*255 = 25.5 (25.500000372 in float32) -> 26
    assert.deepEqual(Array.from(im.pixels), [0, 128, 255, 26]);
  });

  test('float64 in [0, 255] is rounded, not scaled; big-endian float32 reads the same values', () => {
    assert.deepEqual(Array.from(parseNpyImages(npyBytes('<f8', [1, 1, 3], f64([0, 2.4, 254.6]))).pixels), [0, 2, 255]);
    assert.deepEqual(Array.from(parseNpyImages(npyBytes('>f4', [1, 1, 3], f32([0, 0.5, 1], false))).pixels), [0, 128, 255]);
  });

  test('fortran_order is refused with the fix', () => {
    assert.throws(() => parseNpyImages(npyBytes('|u1', [1, 2, 2], new Uint8Array(4), { fortran: true }), 'a.npy'), formatError(/^a\.npy: .*Fortran \(column-major\).*C order/));
  });

  test('other dtypes are refused, naming the dtype', () => {
    assert.throws(() => parseNpyImages(npyBytes('<i8', [1, 1, 1], new Uint8Array(8))), formatError(/dtype '<i8'/));
    assert.throws(() => parseNpyImages(npyBytes('<f2', [1, 1, 1], new Uint8Array(2))), formatError(/dtype '<f2'/));
  });

  test('values outside [0, 255], negatives and NaN are refused', () => {
    assert.throws(() => parseNpyImages(npyBytes('<f4', [1, 1, 2], f32([3, 300]))), formatError(/values up to 300/));
    assert.throws(() => parseNpyImages(npyBytes('<f4', [1, 1, 2], f32([0.5, -0.1]))), formatError(/value -0\.1\d* at element 1/));
    assert.throws(() => parseNpyImages(npyBytes('<f8', [1, 1, 2], f64([NaN, 1]))), formatError(/value NaN at element 0/));
  });

  test('a truncated file, trailing bytes, a wrong magic and a non-image shape are refused', () => {
    const ok = npyBytes('|u1', [2, 3, 4], new Uint8Array(24));
    assert.throws(() => parseNpyImages(ok.subarray(0, ok.length - 1), 'a'), formatError(/^a: truncated: .* needs 24 bytes of data but it holds 23/));
    assert.throws(() => parseNpyImages(ok.subarray(0, 30), 'a'), formatError(/truncated: the header says/));
    assert.throws(() => parseNpyImages(Buffer.concat([ok, Buffer.alloc(1)])), formatError(/holds 25: the shape disagrees/));
    assert.throws(() => parseNpyImages(Buffer.from('PK\x03\x04 not numpy')), formatError(/not a \.npy file/));
    assert.throws(() => parseNpyImages(npyBytes('|u1', [6, 4], new Uint8Array(24))), formatError(/shape \(6, 4\); images must be N x H x W/));
  });
});
