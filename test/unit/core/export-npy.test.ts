/**
 * .npy v1.0 writing checked against NumPy's format specification
 * (numpy.lib.format): magic, version, little-endian header length, the exact header dict, space
 * padding to a 64-byte data offset ended by '\n', then C-order little-endian data. The studio's own
 * .npy reader (used by dataset import) reads the header back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeNpy, npyHeader } from '../../../src-main/core/export/npy.ts';
import { parseNpyHeader } from '../../../src-main/core/formats/npy.ts';

const ascii = (b: Uint8Array) => String.fromCharCode(...b);

test('a 2x3 float32 array: the header numpy writes, padded to a 64-byte data offset', () => {
  const data = Float32Array.from([1, 2, 3, 4, 5, 6.5]);
  const file = encodeNpy(data, [2, 3]);
  assert.deepEqual([...file.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const headerLen = file[8]! | (file[9]! << 8);
  // numpy.save (1.23+) also leaves room for the first dimension to grow to 21 digits: 60 + 20 + 1
  // header bytes after the 10-byte preamble round up to a data offset of 128 (np.save writes 0x76).
  assert.equal(headerLen, 0x76);
  assert.equal(10 + headerLen, 128, 'the data starts at 128');
  const header = ascii(file.subarray(10, 10 + headerLen));
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  assert.equal(header, dict + ' '.repeat(headerLen - dict.length - 1) + '\n');
  assert.equal(file.length, 128 + 6 * 4);
  const view = new DataView(file.buffer, 128);
  assert.deepEqual(Array.from({ length: 6 }, (_, i) => view.getFloat32(i * 4, true)), [1, 2, 3, 4, 5, 6.5]);
});

test('one-dimensional int32 arrays write the shape as a one-element tuple', () => {
  const file = encodeNpy(Int32Array.from([-1, 7, 2147483647]), [3]);
  const headerLen = file[8]! | (file[9]! << 8);
  assert.ok(ascii(file.subarray(10, 10 + headerLen)).startsWith("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }"));
  assert.equal((10 + headerLen) % 64, 0);
  const view = new DataView(file.buffer, 10 + headerLen);
  assert.deepEqual([view.getInt32(0, true), view.getInt32(4, true), view.getInt32(8, true)], [-1, 7, 2147483647]);
});

test('int8 arrays have no byte order (|i1) and one byte per value', () => {
  const file = encodeNpy(Int8Array.from([-1, 0, 2, 127, -128]), [5]);
  const headerLen = file[8]! | (file[9]! << 8);
  assert.ok(ascii(file.subarray(10, 10 + headerLen)).startsWith("{'descr': '|i1', 'fortran_order': False, 'shape': (5,), }"));
  assert.equal(file.length, 10 + headerLen + 5);
  assert.deepEqual(Array.from(new Int8Array(file.buffer, 10 + headerLen, 5)), [-1, 0, 2, 127, -128]);
});

test('headers of every length stay aligned and parse back', () => {
  for (const shape of [[0], [1, 1], [100000, 512], [12345678, 3], [2, 3, 4, 5]]) {
    const h = npyHeader('<f4', shape);
    assert.equal(h.length % 64, 0, `shape ${shape}`);
    assert.equal(h[h.length - 1], 0x0a);
    const parsed = parseNpyHeader(h);
    assert.deepEqual(parsed.shape, shape);
    assert.equal(parsed.dtype, 'float32');
    assert.equal(parsed.dataOffset, h.length);
  }
});

test('a shape that does not match the data is refused', () => {
  assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), /holds 6 values/);
  assert.throws(() => npyHeader('<f4', [-1]), /invalid/);
});
