/**
 * A small decoder for Windows bitmaps (BMP / DIB), which sharp (libvips) does not read. Layout per
 * Microsoft's "Bitmap Storage" documentation: a 14-byte file header ('BM', file size, pixel-data
 * offset), a DIB header (BITMAPCOREHEADER of 12 bytes, or BITMAPINFOHEADER of 40 and its V2-V5
 * extensions), an optional colour table, then rows padded to 4 bytes, bottom-up unless the height is
 * negative. Read: 1, 4 and 8-bit palettes, 16-bit (5-5-5 or bit fields), 24-bit BGR and 32-bit BGRA
 * / bit fields, all uncompressed. RLE, JPEG and PNG compressions are refused as unsupported.
 */
import { FormatError, UnsupportedFormatError } from './common.ts';

export interface RgbaImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, row-major RGBA, top row first. */
  data: Uint8Array;
}

const COMPRESSION: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'JPEG', 5: 'PNG', 11: 'CMYK', 12: 'CMYK-RLE8', 13: 'CMYK-RLE4' };

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/** Width, height (absolute) and bit depth from the headers, without decoding. */
export function bmpSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (!isBmp(bytes) || bytes.length < 26) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dib = v.getUint32(14, true);
  if (dib === 12) return { width: v.getUint16(18, true), height: v.getUint16(20, true) };
  return { width: Math.abs(v.getInt32(18, true)), height: Math.abs(v.getInt32(22, true)) };
}

/** Position of the lowest set bit and the bit count of a channel mask, to scale it to 0..255. */
function maskShift(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

export function decodeBmp(bytes: Uint8Array, source?: string): RgbaImage {
  if (!isBmp(bytes)) throw new FormatError('not a BMP file: it does not start with "BM"', source);
  if (bytes.length < 26) throw new FormatError(`only ${bytes.length} bytes: truncated BMP header`, source);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = v.getUint32(10, true);
  const dib = v.getUint32(14, true);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = 0;
  let colorsUsed = 0;
  let paletteEntry = 4;
  let masks: [number, number, number, number] | null = null;
  if (dib === 12) {
    width = v.getUint16(18, true);
    height = v.getUint16(20, true);
    bpp = v.getUint16(24, true);
    paletteEntry = 3;
  } else if (dib >= 40 && dib <= 124) {
    if (bytes.length < 14 + 40) throw new FormatError('truncated BMP header', source);
    width = v.getInt32(18, true);
    height = v.getInt32(22, true);
    bpp = v.getUint16(28, true);
    compression = v.getUint32(30, true);
    colorsUsed = v.getUint32(46, true);
    if (compression === 3 || compression === 6) {
      // Masks follow a 40-byte header (3 or 4 of them), or sit inside V2+ headers at the same place.
      const n = compression === 6 || dib >= 56 ? 4 : 3;
      if (bytes.length < 54 + 4 * n) throw new FormatError('truncated BMP bit-field masks', source);
      masks = [v.getUint32(54, true), v.getUint32(58, true), v.getUint32(62, true), n === 4 ? v.getUint32(66, true) : 0];
    }
  } else {
    throw new UnsupportedFormatError(`BMP header of ${dib} bytes is not a known variant`, source);
  }
  if (compression in COMPRESSION) {
    throw new UnsupportedFormatError(`${COMPRESSION[compression]}-compressed BMP is not supported (uncompressed BMPs are)`, source);
  }
  if (compression !== 0 && compression !== 3 && compression !== 6) {
    throw new UnsupportedFormatError(`BMP compression type ${compression} is not supported`, source);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new UnsupportedFormatError(`${bpp}-bit BMP is not supported`, source);
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height === 0) throw new FormatError(`BMP of ${width} x ${height} pixels is empty`, source);
  if (width * height > 2 ** 28) throw new FormatError(`BMP of ${width} x ${height} pixels is too large`, source);

  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (dataOffset + stride * height > bytes.length) {
    throw new FormatError(`truncated: ${width} x ${height} at ${bpp} bits needs ${dataOffset + stride * height} bytes, the file has ${bytes.length}`, source);
  }
  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    const n = colorsUsed > 0 ? Math.min(colorsUsed, 256) : 1 << bpp;
    const start = 14 + dib + (masks && dib === 40 ? (compression === 6 ? 16 : 12) : 0);
    if (start + n * paletteEntry > bytes.length) throw new FormatError('truncated BMP colour table', source);
    palette = new Uint8Array(256 * 4);
    for (let i = 0; i < n; i++) {
      const o = start + i * paletteEntry;
      palette[i * 4] = bytes[o + 2]!;
      palette[i * 4 + 1] = bytes[o + 1]!;
      palette[i * 4 + 2] = bytes[o]!;
      palette[i * 4 + 3] = 255;
    }
  }
  if (bpp === 16 && !masks) masks = [0x7c00, 0x03e0, 0x001f, 0];
  if (bpp === 32 && !masks) masks = [0x00ff0000, 0x0000ff00, 0x000000ff, 0];
  const ch = masks ? masks.map(maskShift) : null;

  const out = new Uint8Array(width * height * 4);
  // 32-bit BI_RGB's fourth byte is "reserved": many writers leave it 0, some put alpha there. Use it
  // as alpha only when some pixel has a non-zero value, so an all-zero byte does not mean transparent.
  let alphaFromReserved = false;
  if (bpp === 32 && compression === 0) {
    for (let y = 0; y < height && !alphaFromReserved; y++) {
      const row = dataOffset + y * stride;
      for (let x = 0; x < width; x++) if (bytes[row + x * 4 + 3] !== 0) { alphaFromReserved = true; break; }
    }
  }
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    let o = y * width * 4;
    for (let x = 0; x < width; x++, o += 4) {
      if (palette) {
        const perByte = 8 / bpp;
        const byte = bytes[row + Math.floor(x / perByte)]!;
        const shift = 8 - bpp * ((x % perByte) + 1);
        const idx = (byte >> shift) & ((1 << bpp) - 1);
        out[o] = palette[idx * 4]!;
        out[o + 1] = palette[idx * 4 + 1]!;
        out[o + 2] = palette[idx * 4 + 2]!;
        out[o + 3] = 255;
      } else if (bpp === 24) {
        const p = row + x * 3;
        out[o] = bytes[p + 2]!;
        out[o + 1] = bytes[p + 1]!;
        out[o + 2] = bytes[p]!;
        out[o + 3] = 255;
      } else {
        const p = row + x * (bpp / 8);
        const px = bpp === 16 ? v.getUint16(p, true) : v.getUint32(p, true);
        for (let c = 0; c < 3; c++) {
          const { shift, max } = ch![c]!;
          out[o + c] = max === 0 ? 0 : Math.round((((px & masks![c]!) >>> shift) * 255) / max);
        }
        const a = ch![3]!;
        if (bpp === 32 && compression === 0) out[o + 3] = alphaFromReserved ? bytes[p + 3]! : 255;
        else out[o + 3] = a.max === 0 ? 255 : Math.round((((px & masks![3]!) >>> a.shift) * 255) / a.max);
      }
    }
  }
  return { width, height, data: out };
}
