/** Writers for the dataset file formats, so tests build real files instead of downloading any. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

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

// --- image collections --------------------------------------------------------------------------------

/** A grey / RGB / RGBA test pattern: a gradient whose colour depends on `seed`; every seed below 65536 gives different bytes. */
export function pattern(width: number, height: number, seed: number, channels: 1 | 3 | 4 = 3): Buffer {
  const b = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      const v = [(x * 9 + seed * 31) & 255, (y * 7 + seed * 17) & 255, (x * y + seed * 5) & 255, 255];
      for (let c = 0; c < channels; c++) b[o + c] = channels === 1 ? v[0]! : v[c]!;
    }
  }
  // The seed in the first bytes, so seeds that agree modulo 256 still give different images.
  if (b.length >= 2) [b[0], b[1]] = [seed & 255, (seed >> 8) & 255];
  return b;
}

/**
 * An uncompressed BMP (BITMAPINFOHEADER, bottom-up) of `rgba` pixels at 1, 4, 8, 24 or 32 bits.
 * For palette depths the palette is the distinct colours of the image (which must fit), or
 * `compression` can be set to write an RLE header (the decoder must refuse it).
 */
export function bmpBytes(width: number, height: number, rgba: Uint8Array, bpp: 1 | 4 | 8 | 24 | 32, opts: { compression?: number } = {}): Buffer {
  const palette: number[] = [];
  const index = new Map<number, number>();
  if (bpp <= 8) {
    for (let i = 0; i < width * height; i++) {
      const key = (rgba[i * 4]! << 16) | (rgba[i * 4 + 1]! << 8) | rgba[i * 4 + 2]!;
      if (!index.has(key)) {
        index.set(key, palette.length);
        palette.push(key);
      }
    }
    if (palette.length > 1 << bpp) throw new Error(`${palette.length} colours do not fit ${bpp} bits`);
  }
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const paletteBytes = bpp <= 8 ? (1 << bpp) * 4 : 0;
  const offset = 14 + 40 + paletteBytes;
  const out = Buffer.alloc(offset + stride * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(bpp, 28);
  out.writeUInt32LE(opts.compression ?? 0, 30);
  palette.forEach((key, i) => {
    out[54 + i * 4] = key & 255;
    out[54 + i * 4 + 1] = (key >> 8) & 255;
    out[54 + i * 4 + 2] = (key >> 16) & 255;
  });
  for (let y = 0; y < height; y++) {
    const row = offset + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      if (bpp <= 8) {
        const idx = index.get((rgba[p]! << 16) | (rgba[p + 1]! << 8) | rgba[p + 2]!)!;
        const perByte = 8 / bpp;
        out[row + Math.floor(x / perByte)]! |= idx << (8 - bpp * ((x % perByte) + 1));
      } else {
        const o = row + x * (bpp / 8);
        out[o] = rgba[p + 2]!;
        out[o + 1] = rgba[p + 1]!;
        out[o + 2] = rgba[p]!;
        if (bpp === 32) out[o + 3] = rgba[p + 3]!;
      }
    }
  }
  return out;
}

export interface ZipItem {
  name: string;
  data?: Buffer;
  /** Store the entry as a Unix symbolic link (its data is the target). */
  symlink?: boolean;
}

/**
 * A zip file (APPNOTE 6.3: local headers, then the central directory, then its end record), deflated,
 * names stored as given and flagged UTF-8, so tests can write entries a normal archiver refuses
 * ('../evil.png', '/abs.png', symbolic links).
 */
export function zipBytes(items: ZipItem[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const it of items) {
    const name = Buffer.from(it.name, 'utf8');
    const data = it.data ?? Buffer.alloc(0);
    const isDir = it.name.endsWith('/');
    const deflated = isDir || it.symlink ? data : deflateRawSync(data);
    const method = isDir || it.symlink ? 0 : 8;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(deflated.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the external attributes carry a mode
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(deflated.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    const mode = it.symlink ? 0o120777 : isDir ? 0o040755 : 0o100644;
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, deflated);
    centrals.push(central, name);
    offset += local.length + name.length + deflated.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(items.length, 8);
  end.writeUInt16LE(items.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** Encodes a test pattern with sharp as `format` (png, jpeg, webp, gif, tiff, avif). */
export async function encodeImage(format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif', width: number, height: number, seed: number, channels: 1 | 3 | 4 = 3): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const s = sharp(pattern(width, height, seed, channels), { raw: { width, height, channels } });
  // Lossless where the format allows, so tests can compare pixels exactly (sharp's TIFF default is JPEG-compressed).
  const options = format === 'webp' ? { lossless: true } : format === 'tiff' ? { compression: 'lzw' } : {};
  return s.toFormat(format, options).toBuffer();
}
