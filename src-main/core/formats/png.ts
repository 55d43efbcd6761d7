/**
 * A small PNG decoder for the plain files image datasets are made of, so importing thousands of
 * small PNGs does not pay sharp's fixed cost per call (measured here: ~1 ms of CPU per 28x28 file
 * through sharp, ~30 us through this decoder). Layout per the PNG specification (ISO/IEC 15948,
 * W3C PNG 2nd edition): the 8-byte signature, then chunks of length (4, big-endian), type (4), data
 * and a CRC-32 over type + data (5.3); IHDR first (11.2.2), PLTE before the image data, one run of
 * consecutive IDAT chunks holding one zlib stream, IEND last (5.6).
 *
 * Read: colour types 0 (grey; 1, 2, 4 or 8 bits), 2 (RGB, 8 bits), 3 (palette; 1, 2, 4 or 8 bits),
 * 4 (grey + alpha, 8 bits) and 6 (RGBA, 8 bits), non-interlaced, with all five filter types (9.2)
 * and tRNS transparency (11.3.2.1). Refused as unsupported: 16-bit samples, Adam7 interlacing,
 * embedded ICC profiles (sharp converts those colours to sRGB), animated PNG, more than 64 KiB of
 * metadata and sides beyond libpng's default limit; the studio decodes those with sharp.
 *
 * Strict on purpose: any irregularity (a CRC mismatch even in an ancillary chunk, a missing IEND,
 * image data longer or shorter than the header says, a palette index past the palette) is an error,
 * because the caller then hands the file to sharp, whose verdict (libpng's) is the one reported.
 * Whatever this decoder accepts, libpng accepts too, with the same pixels.
 */
import { crc32, inflateSync } from 'node:zlib';
import { FormatError, UnsupportedFormatError } from './common.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Chunk types as big-endian uint32 (their four ASCII letters). */
const type32 = (s: string) => ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;
const IHDR = type32('IHDR');
const PLTE = type32('PLTE');
const IDAT = type32('IDAT');
const IEND = type32('IEND');
const TRNS = type32('tRNS');
const ICCP = type32('iCCP');
const ACTL = type32('acTL');
const FCTL = type32('fcTL');
const FDAT = type32('fdAT');

/** Metadata bytes (ancillary chunks other than tRNS) above which a file is left to sharp. */
const MAX_ANCILLARY_BYTES = 64 * 1024;
/** libpng's default limit on either side (PNG_USER_WIDTH_MAX / PNG_USER_HEIGHT_MAX); larger goes to sharp for its verdict. */
const MAX_SIDE = 1_000_000;

/** Samples per pixel for each colour type (11.2.2, table 11.1). */
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** The bit depths each colour type allows (table 11.1). */
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  colorType: number;
  interlaced: boolean;
}

export interface PngImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (palette images give 3, or 4 with tRNS). */
  channels: 1 | 2 | 3 | 4;
  /** width * height * channels bytes, row-major, top row first. */
  data: Uint8Array;
}

export function isPng(b: Uint8Array): boolean {
  if (b.length < 8) return false;
  for (let i = 0; i < 8; i++) if (b[i] !== SIGNATURE[i]) return false;
  return true;
}

/**
 * The IHDR fields, read without checking anything beyond the signature and the chunk's type and
 * length; null when they are not there. Cheap: tells a caller whether decodePng can take the file.
 */
export function readPngHeader(b: Uint8Array): PngHeader | null {
  if (!isPng(b) || b.length < 8 + 8 + 13) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(8) !== 13 || v.getUint32(12) !== IHDR) return null;
  return { width: v.getUint32(16), height: v.getUint32(20), bitDepth: b[24]!, colorType: b[25]!, interlaced: b[28] !== 0 };
}

/** Whether decodePng reads this header's variant (it may still find the file corrupt). */
export function pngVariantSupported(h: PngHeader): boolean {
  return !h.interlaced && h.bitDepth <= 8 && (h.colorType === 0 || h.colorType === 3 || h.bitDepth === 8);
}

const chunkName = (t: number) => String.fromCharCode(t >>> 24, (t >>> 16) & 255, (t >>> 8) & 255, t & 255).replace(/[^\x20-\x7e]/g, '?');

/**
 * Decodes a PNG's bytes to 8-bit pixels. Throws FormatError for a damaged file (the message starts
 * with "truncated PNG" when the bytes stop early) and UnsupportedFormatError for the variants this
 * decoder leaves to sharp.
 */
export function decodePng(bytes: Uint8Array, source?: string): PngImage {
  const corrupt = (m: string) => new FormatError(`PNG ${m}`, source);
  const truncated = (m: string) => new FormatError(`truncated PNG (${m})`, source);
  const unsupported = (m: string) => new UnsupportedFormatError(`${m}: not read by the built-in PNG decoder`, source);
  if (!isPng(bytes)) throw new FormatError('not a PNG file: the PNG signature is missing', source);
  const n = bytes.length;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let h: PngHeader | null = null;
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let idatClosed = false;
  let ended = false;
  let ancillary = 0;
  let pos = 8;
  while (!ended) {
    if (pos + 12 > n) throw truncated(pos === n ? 'the file ends before the IEND chunk' : 'the file ends inside a chunk header');
    const len = v.getUint32(pos);
    const type = v.getUint32(pos + 4);
    if (len > 0x7fffffff) throw corrupt(`chunk ${chunkName(type)} has an invalid length`);
    // 5.4: chunk types are four ASCII letters; libpng refuses anything else.
    for (let i = 4; i < 8; i++) {
      const c = bytes[pos + i]! | 0x20;
      if (c < 0x61 || c > 0x7a) throw corrupt(`chunk type ${chunkName(type)} is not four letters (damaged file)`);
    }
    const end = pos + 8 + len;
    if (end + 4 > n) throw truncated(`the file ends inside the ${chunkName(type)} chunk`);
    // Bit 5 of the first letter set (lower case): ancillary, i.e. metadata (5.4). Large metadata
    // (text or EXIF blocks, which libpng limits and checks) is left to sharp, before paying its CRC.
    const critical = (type & 0x20000000) === 0;
    if (!critical && type !== TRNS) {
      ancillary += len;
      if (ancillary > MAX_ANCILLARY_BYTES) throw unsupported('PNG with more than 64 KiB of metadata');
    }
    // 5.3: the CRC covers the type and the data. libpng errors on critical chunks; ancillary ones are
    // checked too so that a damaged file always reaches sharp for the verdict.
    if (crc32(bytes.subarray(pos + 4, end)) !== v.getUint32(end)) throw corrupt(`chunk ${chunkName(type)} has a bad CRC (damaged file)`);
    const data = bytes.subarray(pos + 8, end);
    if (h === null && type !== IHDR) throw corrupt('does not start with an IHDR chunk');
    if (idat.length > 0 && type !== IDAT) idatClosed = true;
    switch (type) {
      case IHDR: {
        if (h !== null) throw corrupt('has two IHDR chunks');
        if (len !== 13) throw corrupt(`IHDR of ${len} bytes (13 expected)`);
        const width = v.getUint32(pos + 8);
        const height = v.getUint32(pos + 12);
        const [bitDepth, colorType, compression, filter, interlace] = data.subarray(8, 13);
        if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) throw corrupt(`of ${width} x ${height} pixels`);
        if (!DEPTHS[colorType!]?.includes(bitDepth!)) throw corrupt(`colour type ${colorType} with ${bitDepth}-bit samples is not valid`);
        if (compression !== 0 || filter !== 0 || interlace! > 1) throw corrupt('IHDR names an unknown compression, filter or interlace method');
        h = { width, height, bitDepth: bitDepth!, colorType: colorType!, interlaced: interlace === 1 };
        if (width > MAX_SIDE || height > MAX_SIDE) throw unsupported(`PNG of ${width} x ${height} pixels`);
        if (h.interlaced) throw unsupported('interlaced (Adam7) PNG');
        if (h.bitDepth === 16) throw unsupported('16-bit PNG');
        break;
      }
      case PLTE:
        if (palette !== null || idat.length > 0 || trns !== null) throw corrupt('PLTE chunk out of place');
        if (h!.colorType === 0 || h!.colorType === 4) throw corrupt('PLTE chunk in a greyscale image');
        if (len === 0 || len % 3 !== 0 || len / 3 > 256 || (h!.colorType === 3 && len / 3 > 1 << h!.bitDepth)) throw corrupt(`PLTE chunk of ${len} bytes`);
        palette = data;
        break;
      case TRNS: {
        const ct = h!.colorType;
        if (trns !== null || idat.length > 0 || (ct === 3 && palette === null)) throw corrupt('tRNS chunk out of place');
        const max = (1 << h!.bitDepth) - 1;
        const ok =
          (ct === 0 && len === 2 && v.getUint16(pos + 8) <= max) ||
          (ct === 2 && len === 6 && v.getUint16(pos + 8) <= max && v.getUint16(pos + 10) <= max && v.getUint16(pos + 12) <= max) ||
          (ct === 3 && len >= 1 && len <= palette!.length / 3);
        if (!ok) throw corrupt(`tRNS chunk of ${len} bytes does not fit colour type ${ct}`);
        trns = data;
        break;
      }
      case IDAT:
        if (idatClosed) throw corrupt('IDAT chunks are not consecutive');
        if (h!.colorType === 3 && palette === null) throw corrupt('palette image without a PLTE chunk');
        idat.push(data);
        break;
      case IEND:
        ended = true;
        break;
      case ICCP:
        throw unsupported('PNG with an ICC colour profile');
      case ACTL:
      case FCTL:
      case FDAT:
        throw unsupported('animated PNG');
      default:
        // Other metadata is skipped unread; an unknown critical chunk means the image cannot be read.
        if (critical) throw corrupt(`unknown critical chunk ${chunkName(type)}`);
    }
    pos = end + 4;
  }
  const hd = h!;
  if (idat.length === 0) throw corrupt('has no image data (IDAT)');

  const { width, height, bitDepth, colorType } = hd;
  const samples = SAMPLES[colorType]!;
  const rowBytes = Math.ceil((width * samples * bitDepth) / 8);
  const expected = height * (rowBytes + 1);
  if (expected > 2 ** 30) throw unsupported(`PNG of ${width} x ${height} pixels`);
  let raw: Uint8Array;
  try {
    // maxOutputLength: a stream holding more than the image is refused before it is inflated whole.
    // chunkSize: one output buffer of the exact size for images up to 1 MiB (no 16 KiB default
    // buffers sliced and joined), without reserving more than that for what a header only claims.
    raw = inflateSync(idat.length === 1 ? idat[0]! : Buffer.concat(idat), { maxOutputLength: expected, chunkSize: Math.min(2 ** 20, Math.max(64, expected + 1)) });
  } catch (e) {
    const m = (e as Error).message;
    if (/unexpected end/i.test(m)) throw truncated('the image data ends early');
    throw corrupt(/larger than/i.test(m) ? 'image data is longer than the image' : `image data is damaged (zlib: ${m})`);
  }
  if (raw.length !== expected) throw truncated(`the image data holds ${raw.length} of ${expected} bytes`);
  // A plain Uint8Array view, so the pixel loops downstream see one kind of array.
  raw = new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
  const px = unfilter(raw, height, rowBytes, Math.max(1, (samples * bitDepth) >> 3), corrupt);
  return expand(px, hd, rowBytes, palette, trns, corrupt);
}

/**
 * Reverses the per-row filters (9.2-9.4) in place: row y's filtered bytes sit at 1 + y * (rowBytes
 * + 1) after their filter-type byte. Returns the rows packed (height * rowBytes bytes), sharing
 * `raw`'s memory.
 */
function unfilter(raw: Uint8Array, height: number, rowBytes: number, bpp: number, corrupt: (m: string) => Error): Uint8Array {
  const stride = rowBytes + 1;
  // Packs each row down by y + 1 bytes as it goes (dropping the filter bytes), so the output is a
  // prefix of `raw` and no second buffer is needed. The previous row is then at o - rowBytes.
  for (let y = 0; y < height; y++) {
    const ft = raw[y * stride]!;
    const s = y * stride + 1;
    const o = y * rowBytes;
    const p = o - rowBytes;
    switch (ft) {
      case 0:
        raw.copyWithin(o, s, s + rowBytes);
        break;
      case 1:
        for (let i = 0; i < bpp && i < rowBytes; i++) raw[o + i] = raw[s + i]!;
        for (let i = bpp; i < rowBytes; i++) raw[o + i] = (raw[s + i]! + raw[o + i - bpp]!) & 255;
        break;
      case 2:
        if (y === 0) raw.copyWithin(o, s, s + rowBytes);
        else for (let i = 0; i < rowBytes; i++) raw[o + i] = (raw[s + i]! + raw[p + i]!) & 255;
        break;
      case 3:
        if (y === 0) {
          for (let i = 0; i < bpp && i < rowBytes; i++) raw[o + i] = raw[s + i]!;
          for (let i = bpp; i < rowBytes; i++) raw[o + i] = (raw[s + i]! + (raw[o + i - bpp]! >> 1)) & 255;
        } else {
          for (let i = 0; i < bpp && i < rowBytes; i++) raw[o + i] = (raw[s + i]! + (raw[p + i]! >> 1)) & 255;
          for (let i = bpp; i < rowBytes; i++) raw[o + i] = (raw[s + i]! + ((raw[o + i - bpp]! + raw[p + i]!) >> 1)) & 255;
        }
        break;
      case 4:
        if (y === 0) {
          // With no row above, Paeth predicts from the left neighbour alone (as Sub does).
          for (let i = 0; i < bpp && i < rowBytes; i++) raw[o + i] = raw[s + i]!;
          for (let i = bpp; i < rowBytes; i++) raw[o + i] = (raw[s + i]! + raw[o + i - bpp]!) & 255;
        } else {
          for (let i = 0; i < bpp && i < rowBytes; i++) raw[o + i] = (raw[s + i]! + raw[p + i]!) & 255;
          for (let i = bpp; i < rowBytes; i++) {
            const a = raw[o + i - bpp]!;
            const b = raw[p + i]!;
            const c = raw[p + i - bpp]!;
            // 9.4: the neighbour closest to a + b - c, ties in the order a, b, c.
            const pa = Math.abs(b - c);
            const pb = Math.abs(a - c);
            const pc = Math.abs(a + b - 2 * c);
            raw[o + i] = (raw[s + i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
          }
        }
        break;
      default:
        throw corrupt(`row ${y} has an unknown filter type ${ft}`);
    }
  }
  return raw.subarray(0, height * rowBytes);
}

/** Packed rows to one byte per sample: sub-byte samples unpacked and scaled, palettes looked up, tRNS made alpha. */
function expand(px: Uint8Array, h: PngHeader, rowBytes: number, palette: Uint8Array | null, trns: Uint8Array | null, corrupt: (m: string) => Error): PngImage {
  const { width, height, bitDepth, colorType } = h;
  const n = width * height;
  if (colorType === 3) {
    const pal = palette!;
    const entries = pal.length / 3;
    const ch = trns ? 4 : 3;
    const out = new Uint8Array(n * ch);
    const per = 8 / bitDepth;
    const mask = (1 << bitDepth) - 1;
    let o = 0;
    for (let y = 0; y < height; y++) {
      const row = y * rowBytes;
      for (let x = 0; x < width; x++) {
        const idx = bitDepth === 8 ? px[row + x]! : (px[row + ((x / per) | 0)]! >> (8 - bitDepth * ((x % per) + 1))) & mask;
        if (idx >= entries) throw corrupt(`pixel uses palette entry ${idx} of ${entries}`);
        out[o] = pal[idx * 3]!;
        out[o + 1] = pal[idx * 3 + 1]!;
        out[o + 2] = pal[idx * 3 + 2]!;
        if (ch === 4) out[o + 3] = idx < trns!.length ? trns![idx]! : 255;
        o += ch;
      }
    }
    return { width, height, channels: ch, data: out };
  }
  if (colorType === 0 && (bitDepth < 8 || trns)) {
    // Grey below 8 bits is scaled to 0..255 (v * 255 / (2^depth - 1), exact for 1, 2 and 4 bits);
    // the tRNS key is compared with the sample before scaling.
    const key = trns ? (trns[0]! << 8) | trns[1]! : -1;
    const ch = trns ? 2 : 1;
    const out = new Uint8Array(n * ch);
    const per = 8 / bitDepth;
    const mask = (1 << bitDepth) - 1;
    const scale = 255 / mask;
    let o = 0;
    for (let y = 0; y < height; y++) {
      const row = y * rowBytes;
      for (let x = 0; x < width; x++) {
        const s = bitDepth === 8 ? px[row + x]! : (px[row + ((x / per) | 0)]! >> (8 - bitDepth * ((x % per) + 1))) & mask;
        out[o] = s * scale;
        if (ch === 2) out[o + 1] = s === key ? 0 : 255;
        o += ch;
      }
    }
    return { width, height, channels: ch as 1 | 2, data: out };
  }
  if (colorType === 2 && trns) {
    const r = (trns[0]! << 8) | trns[1]!;
    const g = (trns[2]! << 8) | trns[3]!;
    const b = (trns[4]! << 8) | trns[5]!;
    const out = new Uint8Array(n * 4);
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      const pr = px[j]!;
      const pg = px[j + 1]!;
      const pb = px[j + 2]!;
      out[i * 4] = pr;
      out[i * 4 + 1] = pg;
      out[i * 4 + 2] = pb;
      out[i * 4 + 3] = pr === r && pg === g && pb === b ? 0 : 255;
    }
    return { width, height, channels: 4, data: out };
  }
  // 8-bit grey, grey + alpha, RGB, RGBA: the unfiltered rows are the pixels.
  return { width, height, channels: SAMPLES[colorType] as 1 | 2 | 3 | 4, data: px };
}
