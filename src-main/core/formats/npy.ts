/**
 * NumPy's .npy format, versions 1.0, 2.0 and 3.0 (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * the magic `\x93NUMPY`, a major and minor version byte, the header length (uint16 LE in 1.0,
 * uint32 LE in 2.0 / 3.0), a Python dict literal header {'descr', 'fortran_order', 'shape'}, then
 * the raw array. Images come as N x H x W [x C] of uint8, or float32 / float64 holding [0, 1] or
 * [0, 255]; they are converted to the studio's uint8.
 */
import { FormatError, checkedSize, imageShape } from './common.ts';
import type { ImageArray } from './common.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93 N U M P Y

export type NpyDtype = 'uint8' | 'float32' | 'float64';

export interface NpyHeader {
  version: string;
  dtype: NpyDtype;
  littleEndian: boolean;
  shape: number[];
  /** Byte offset of the array data in the file. */
  dataOffset: number;
}

export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

/** Reads and checks the header: C order only and one of the dtypes the studio can use. */
export function parseNpyHeader(bytes: Uint8Array, source?: string): NpyHeader {
  if (!isNpy(bytes)) throw new FormatError('not a .npy file: it does not start with \\x93NUMPY', source);
  if (bytes.length < 10) throw new FormatError('truncated: the .npy header is incomplete', source);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3) throw new FormatError(`.npy format version ${major}.${minor} is not supported (1.0 to 3.0 are)`, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new FormatError('truncated: the .npy header is incomplete', source);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lenBytes + headerLen;
  if (bytes.length < dataOffset) throw new FormatError(`truncated: the header says ${headerLen} bytes but the file ends before`, source);
  // Versions 1 and 2 write the header in latin1, version 3 in utf-8; the keys and values we read are ASCII.
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lenBytes, dataOffset));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  if (descr === undefined) {
    throw new FormatError(
      /'descr'\s*:\s*\[/.test(header) ? 'holds a structured (record) array; save a plain numeric array of images' : 'the header has no dtype (descr)',
      source,
    );
  }
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  if (fortran === undefined) throw new FormatError('the header has no fortran_order entry', source);
  if (fortran === 'True') {
    throw new FormatError('is stored in Fortran (column-major) order; save it in C order (np.ascontiguousarray(a)) and import again', source);
  }
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new FormatError('the header has no shape', source);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim().replace(/L$/, ''))
    .filter((s) => s.length > 0)
    .map((s) => {
      const n = Number(s);
      if (!Number.isSafeInteger(n) || n < 0) throw new FormatError(`the shape (${shapeText}) is not a tuple of sizes`, source);
      return n;
    });

  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const kind = m?.[2];
  const size = Number(m?.[3]);
  let dtype: NpyDtype | null = null;
  if (kind === 'u' && size === 1) dtype = 'uint8';
  else if (kind === 'f' && size === 4) dtype = 'float32';
  else if (kind === 'f' && size === 8) dtype = 'float64';
  if (dtype === null) {
    throw new FormatError(
      `has dtype '${descr}'; the studio reads uint8 ('|u1'), or float32 / float64 holding values in [0, 1] or [0, 255] ` +
        `(convert with a.astype(np.uint8) or a.astype(np.float32))`,
      source,
    );
  }
  // '=' is native order; every platform the studio ships on is little-endian.
  return { version: `${major}.${minor}`, dtype, littleEndian: m?.[1] !== '>', shape, dataOffset };
}

/**
 * Parses a .npy file of images into uint8 HWC. Floats are read as [0, 1] when every value lies in
 * [0, 1] (scaled by 255) and as [0, 255] otherwise, rounded to the nearest integer; NaN, infinities,
 * negatives and values above 255 are refused, since no scaling would be right for them.
 */
export function parseNpyImages(bytes: Uint8Array, source?: string): ImageArray {
  const h = parseNpyHeader(bytes, source);
  const shape = imageShape(h.shape, source);
  const n = checkedSize(h.shape, source);
  const itemSize = h.dtype === 'uint8' ? 1 : h.dtype === 'float32' ? 4 : 8;
  const expected = n * itemSize;
  const actual = bytes.length - h.dataOffset;
  if (actual < expected) {
    throw new FormatError(`truncated: shape (${h.shape.join(', ')}) of ${h.dtype} needs ${expected} bytes of data but it holds ${actual}`, source);
  }
  if (actual > expected) {
    throw new FormatError(`shape (${h.shape.join(', ')}) of ${h.dtype} needs ${expected} bytes of data but it holds ${actual}: the shape disagrees with the file size`, source);
  }
  if (h.dtype === 'uint8') return { ...shape, pixels: bytes.subarray(h.dataOffset, h.dataOffset + n) };

  // Two passes over the file's bytes (range, then conversion) instead of a float64 copy of the
  // whole array, which would be 8 bytes per pixel of extra memory.
  const view = new DataView(bytes.buffer, bytes.byteOffset + h.dataOffset, expected);
  const le = h.littleEndian;
  const at = h.dtype === 'float32' ? (i: number) => view.getFloat32(i * 4, le) : (i: number) => view.getFloat64(i * 8, le);
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = at(i);
    // `!(v >= 0)` also catches NaN.
    if (!(v >= 0) || v === Infinity) {
      throw new FormatError(`holds the value ${v} at element ${i}; pixel values must lie in [0, 1] or [0, 255]`, source);
    }
    if (v > max) max = v;
  }
  if (max > 255) throw new FormatError(`holds values up to ${max}; pixel values must lie in [0, 1] or [0, 255]`, source);
  const scale = max <= 1 ? 255 : 1;
  const pixels = new Uint8Array(n);
  for (let i = 0; i < n; i++) pixels[i] = Math.round(at(i) * scale);
  return { ...shape, pixels };
}
