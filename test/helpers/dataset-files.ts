/** Writers for the dataset file formats, so tests build real files instead of downloading any. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/** An IDX file: 00 00 <dtype> <ndims>, big-endian uint32 dims, then the data. */
export function idxBytes(dims: number[], data: Uint8Array, dtype = 0x08): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = dtype;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

/** A .npy file (version 1 or 2) with the given header fields and raw data. */
export function npyBytes(descr: string, shape: number[], data: Uint8Array, opts: { fortran?: boolean; version?: 1 | 2 } = {}): Buffer {
  const version = opts.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const prefix = 8 + (version === 1 ? 2 : 4);
  // NumPy pads the header with spaces and a newline so the data starts on a 64-byte boundary.
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - prefix - 1, ' ') + '\n';
  const head = Buffer.alloc(prefix);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(dict.length, 8);
  else head.writeUInt32LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1'), data]);
}

/** Deterministic 28x28 "digit" images: sample i has label i % 10, drawn as a bar whose position depends on the label. */
export function drawDigits(count: number, offset = 0): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(count * 28 * 28);
  const labels = new Uint8Array(count);
  for (let s = 0; s < count; s++) {
    const label = (s + offset) % 10;
    labels[s] = label;
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const onBar = Math.abs(x - (4 + 2 * label)) <= 1 && y >= 4 && y < 24;
        pixels[s * 784 + y * 28 + x] = onBar ? 255 : (x * 7 + y * 3 + s) % 17;
      }
    }
  }
  return { pixels, labels };
}

/**
 * Writes a tiny MNIST-format folder: `train` + `test` samples of 28x28; the image files gzipped
 * and the label files raw when `gzip` is 'mixed' (both forms in one folder, as some mirrors do).
 */
export function writeMnistFolder(dir: string, train: number, test: number, gzip: 'all' | 'none' | 'mixed' = 'mixed') {
  mkdirSync(dir, { recursive: true });
  const tr = drawDigits(train);
  const te = drawDigits(test, 3);
  const put = (name: string, bytes: Buffer, gz: boolean) => writeFileSync(path.join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  const gzImages = gzip !== 'none';
  const gzLabels = gzip === 'all';
  put('train-images-idx3-ubyte', idxBytes([train, 28, 28], tr.pixels), gzImages);
  put('train-labels-idx1-ubyte', idxBytes([train], tr.labels), gzLabels);
  put('t10k-images-idx3-ubyte', idxBytes([test, 28, 28], te.pixels), gzImages);
  put('t10k-labels-idx1-ubyte', idxBytes([test], te.labels), gzLabels);
  return { train: tr, test: te };
}
