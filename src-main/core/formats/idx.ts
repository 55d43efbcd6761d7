/**
 * The IDX format of the MNIST family (MNIST, Fashion-MNIST, KMNIST, EMNIST): a 4-byte magic
 * `00 00 <dtype> <ndims>`, then ndims big-endian uint32 sizes, then the values in C order
 * (http://yann.lecun.com/exdb/mnist/, "file formats"). Only dtype 0x08 (unsigned byte) is read:
 * every image and label file of those datasets uses it. Files may be gzipped, as they are published.
 */
import { FormatError, checkedSize, gunzipIfNeeded, imageShape } from './common.ts';
import type { ImageArray } from './common.ts';

/** The IDX type codes, for naming the ones we refuse. */
const DTYPES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'short (int16)',
  0x0c: 'int (int32)',
  0x0d: 'float (float32)',
  0x0e: 'double (float64)',
};

export interface IdxArray {
  dims: number[];
  /** The values, uint8, C order; a view into the (inflated) input, not a copy. */
  data: Uint8Array;
}

/**
 * Parses one IDX file's bytes (gzipped or not). Throws FormatError naming `source` for: a file too
 * short for its header, a wrong magic, a dtype other than unsigned byte, and a byte count that does
 * not equal the product of the dims (fewer: truncated; more: trailing data or wrong dims).
 */
export function parseIdx(bytes: Uint8Array, source?: string): IdxArray {
  const buf = gunzipIfNeeded(bytes, source);
  if (buf.length < 4) throw new FormatError(`only ${buf.length} bytes: too short for an IDX header (truncated?)`, source);
  if (buf[0] !== 0 || buf[1] !== 0) {
    const head = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new FormatError(`not an IDX file: it starts with ${head}, an IDX file with 00 00`, source);
  }
  const dtype = buf[2]!;
  const ndims = buf[3]!;
  if (!(dtype in DTYPES)) throw new FormatError(`not an IDX file: unknown type code 0x${dtype.toString(16)}`, source);
  if (dtype !== 0x08) {
    throw new FormatError(`holds ${DTYPES[dtype]} values; only unsigned-byte IDX files (type 0x08, as in MNIST) are supported`, source);
  }
  if (ndims === 0) throw new FormatError('declares 0 dimensions', source);
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < headerBytes) {
    throw new FormatError(`only ${buf.length} bytes: too short for its header of ${ndims} dimensions (truncated?)`, source);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = checkedSize(dims, source);
  const actual = buf.length - headerBytes;
  if (actual < expected) {
    throw new FormatError(
      `truncated: its dimensions ${dims.join(' x ')} need ${expected} bytes of data but it holds ${actual}`,
      source,
    );
  }
  if (actual > expected) {
    throw new FormatError(
      `its dimensions ${dims.join(' x ')} need ${expected} bytes of data but it holds ${actual}: the dimensions disagree with the file size`,
      source,
    );
  }
  return { dims, data: buf.subarray(headerBytes) };
}

/** An IDX array read as images (N x H x W, or N x H x W x C). */
export function idxToImages(a: IdxArray, source?: string): ImageArray {
  const shape = imageShape(a.dims, source);
  return { ...shape, pixels: a.data };
}

/** An IDX array read as labels: one dimension, one byte per sample. */
export function idxToLabels(a: IdxArray, source?: string): Uint8Array {
  if (a.dims.length !== 1) {
    throw new FormatError(`a labels file has one dimension, this one has ${a.dims.length} (${a.dims.join(' x ')})`, source);
  }
  return a.data;
}

/** Refuses images and labels whose sample counts differ, naming both. */
export function checkLabelCount(images: ImageArray, labels: Uint8Array, source?: string): void {
  if (images.count !== labels.length) {
    throw new FormatError(`holds ${labels.length} labels for ${images.count} images; the counts must be equal`, source);
  }
}
