/**
 * The built-in PNG decoder against sharp (libpng): the same pixels for every variant it reads, on
 * files written by sharp and on files written here row by row with each filter type; the variants it
 * leaves to sharp; and damaged files, whose verdict through decodeImage must stay sharp's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { FormatError, UnsupportedFormatError } from '../../../src-main/core/formats/common.ts';
import { decodePng, isPng, pngVariantSupported, readPngHeader } from '../../../src-main/core/formats/png.ts';
import type { PngImage } from '../../../src-main/core/formats/png.ts';
import { decodeImage } from '../../../src-main/core/images/decode.ts';
import { prepareImage } from '../../../src-main/core/images/preprocess.ts';
import type { RawImage, Rgb } from '../../../src-main/core/images/preprocess.ts';
import type { Preprocess } from '../../../src-main/contract/index.ts';

// --- a PNG writer that controls every byte ----------------------------------------------------------

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0);
  return Buffer.concat([head, data, crc]);
}

function ihdr(width: number, height: number, bitDepth: number, colorType: number, interlace = 0): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(width, 0);
  b.writeUInt32BE(height, 4);
  b[8] = bitDepth;
  b[9] = colorType;
  b[12] = interlace;
  return b;
}

const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Filters packed rows (height * rowBytes bytes) with the given filter type per row (PNG 9.2-9.4:
 * each byte minus its predictor from the unfiltered neighbours a left, b above, c above-left).
 */
function filterRows(rows: Uint8Array, height: number, rowBytes: number, bpp: number, filterOf: (y: number) => number): Buffer {
  const out = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    const ft = filterOf(y);
    out[y * (rowBytes + 1)] = ft;
    for (let i = 0; i < rowBytes; i++) {
      const x = rows[y * rowBytes + i]!;
      const a = i >= bpp ? rows[y * rowBytes + i - bpp]! : 0;
      const b = y > 0 ? rows[(y - 1) * rowBytes + i]! : 0;
      const c = y > 0 && i >= bpp ? rows[(y - 1) * rowBytes + i - bpp]! : 0;
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][ft]!;
      out[y * (rowBytes + 1) + 1 + i] = (x - pred) & 255;
    }
  }
  return out;
}

interface PngSpec {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  /** Packed unfiltered rows. */
  rows: Uint8Array;
  filterOf?: (y: number) => number;
  palette?: Uint8Array;
  trns?: Uint8Array;
  /** Extra chunks before the image data and after it. */
  before?: Buffer[];
  after?: Buffer[];
  /** Split the zlib stream into this many IDAT chunks. */
  idats?: number;
  /** Replace the inflated stream (to write damaged data). */
  inflated?: (filtered: Buffer) => Buffer;
  zlib?: (deflated: Buffer) => Buffer;
  noEnd?: boolean;
}

function rowBytesOf(s: Pick<PngSpec, 'width' | 'bitDepth' | 'colorType'>): number {
  return Math.ceil((s.width * SAMPLES[s.colorType]! * s.bitDepth) / 8);
}

function writePng(s: PngSpec): Buffer {
  const rb = rowBytesOf(s);
  const bpp = Math.max(1, (SAMPLES[s.colorType]! * s.bitDepth) >> 3);
  let filtered = filterRows(s.rows, s.height, rb, bpp, s.filterOf ?? ((y) => y % 5));
  if (s.inflated) filtered = s.inflated(filtered);
  let z: Buffer = deflateSync(filtered);
  if (s.zlib) z = s.zlib(z);
  const n = s.idats ?? 1;
  const parts = Array.from({ length: n }, (_, i) => z.subarray(Math.floor((i * z.length) / n), Math.floor(((i + 1) * z.length) / n)));
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr(s.width, s.height, s.bitDepth, s.colorType)),
    ...(s.before ?? []),
    ...(s.palette ? [chunk('PLTE', s.palette)] : []),
    ...(s.trns ? [chunk('tRNS', s.trns)] : []),
    ...parts.map((p) => chunk('IDAT', p)),
    ...(s.after ?? []),
    ...(s.noEnd ? [] : [chunk('IEND')]),
  ]);
}

/** A seeded generator (LCG, Numerical Recipes constants) so every run tests the same bytes. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x >>> 24;
  };
}

function randomRows(s: Pick<PngSpec, 'width' | 'height' | 'bitDepth' | 'colorType'>, seed: number, maxIndex = 255): Uint8Array {
  const next = rng(seed);
  const rb = rowBytesOf(s);
  const rows = new Uint8Array(s.height * rb);
  if (s.bitDepth === 8) {
    // Runs of equal bytes mixed with noise, so every filter meets both smooth and rough rows.
    for (let i = 0; i < rows.length; i++) rows[i] = i % 7 < 3 ? rows[Math.max(0, i - 1)]! : next() % (s.colorType === 3 ? maxIndex + 1 : 256);
    return rows;
  }
  const per = 8 / s.bitDepth;
  for (let y = 0; y < s.height; y++) {
    for (let x = 0; x < s.width; x++) {
      const v = next() % Math.min(1 << s.bitDepth, maxIndex + 1);
      rows[y * rb + Math.floor(x / per)]! |= v << (8 - s.bitDepth * ((x % per) + 1));
    }
  }
  return rows;
}

// --- comparing with sharp ---------------------------------------------------------------------------

async function sharpDecode(bytes: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(bytes, { failOn: 'warning' }).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data };
}

/** Grey as RGB and grey + alpha as RGBA, the form sharp hands back (it converts to sRGB). */
function asColour(img: RawImage): RawImage {
  if (img.channels >= 3) return img;
  const n = img.width * img.height;
  const ch = img.channels === 1 ? 3 : 4;
  const out = new Uint8Array(n * ch);
  for (let i = 0; i < n; i++) {
    const v = img.data[i * img.channels]!;
    out[i * ch] = out[i * ch + 1] = out[i * ch + 2] = v;
    if (ch === 4) out[i * 4 + 3] = img.data[i * 2 + 1]!;
  }
  return { width: img.width, height: img.height, channels: ch, data: out };
}

async function assertSameAsSharp(bytes: Buffer, what: string): Promise<PngImage> {
  const mine = decodePng(bytes);
  const ref = await sharpDecode(bytes);
  const m = asColour(mine);
  assert.deepEqual([m.width, m.height, m.channels], [ref.width, ref.height, ref.channels], what);
  assert.ok(Buffer.from(m.data).equals(Buffer.from(ref.data)), `${what}: pixels differ from sharp's`);
  return mine;
}

// --- tests --------------------------------------------------------------------------------------------

const VARIANTS: [colorType: number, bitDepth: number][] = [
  [0, 1],
  [0, 2],
  [0, 4],
  [0, 8],
  [2, 8],
  [3, 1],
  [3, 2],
  [3, 4],
  [3, 8],
  [4, 8],
  [6, 8],
];
const FILTERINGS: [string, (y: number) => number][] = [
  ['None', () => 0],
  ['Sub', () => 1],
  ['Up', () => 2],
  ['Average', () => 3],
  ['Paeth', () => 4],
  ['mixed', (y) => [4, 3, 2, 1, 0, 3, 4][y % 7]!],
];

test('every colour type and bit depth it reads, each filter type, with and without tRNS: the pixels sharp gives', async () => {
  let cases = 0;
  for (const [colorType, bitDepth] of VARIANTS) {
    for (const width of [1, 3, 13]) {
      for (const [fname, filterOf] of FILTERINGS) {
        for (const withTrns of colorType === 4 || colorType === 6 ? [false] : [false, true]) {
          const height = 6;
          const seed = colorType * 1000 + bitDepth * 100 + width * 10 + cases;
          const entries = colorType === 3 ? Math.min(1 << bitDepth, 5 + (seed % 7)) : 0;
          const spec: PngSpec = { width, height, bitDepth, colorType, rows: randomRows({ width, height, bitDepth, colorType }, seed, Math.max(0, entries - 1)), filterOf };
          if (colorType === 3) spec.palette = Uint8Array.from({ length: entries * 3 }, rng(seed + 1));
          if (withTrns) {
            const max = (1 << bitDepth) - 1;
            // Keys equal to the first sample, so some pixels really are transparent.
            if (colorType === 0) spec.trns = Uint8Array.of(0, bitDepth === 8 ? spec.rows[0]! : (spec.rows[0]! >> (8 - bitDepth)) & max);
            if (colorType === 2) spec.trns = Uint8Array.of(0, spec.rows[0]!, 0, spec.rows[1]!, 0, spec.rows[2]!);
            if (colorType === 3) spec.trns = Uint8Array.from({ length: Math.max(1, entries - 2) }, rng(seed + 2));
          }
          const what = `colour type ${colorType}, ${bitDepth} bits, width ${width}, ${fname}${withTrns ? ', tRNS' : ''}`;
          const mine = await assertSameAsSharp(writePng(spec), what);
          assert.equal(mine.channels, colorType === 3 ? (withTrns ? 4 : 3) : SAMPLES[colorType]! + (withTrns ? 1 : 0), what);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 3 * 6 * (2 * 9 + 2));
});

test('PNGs written by sharp (every compression level, adaptive filtering, palettes, grey, alpha): the pixels sharp gives', async () => {
  const seen = new Set<string>();
  const next = rng(99);
  for (const channels of [1, 2, 3, 4] as const) {
    for (const [w, h] of [
      [28, 28],
      [17, 9],
    ] as const) {
      const raw = Buffer.alloc(w * h * channels);
      // A smooth gradient with noise on top: realistic for filters and quantisation alike.
      for (let i = 0; i < raw.length; i++) raw[i] = ((i * 5) % 200) + (next() % 56);
      const img = () => sharp(raw, { raw: { width: w, height: h, channels } });
      const files = [
        await img().png({ compressionLevel: 0 }).toBuffer(),
        await img().png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer(),
        await img().png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer(),
        await img().toColourspace('b-w').png({ adaptiveFiltering: true }).toBuffer(),
        await img().png({ palette: true, colours: 256 }).toBuffer(),
        await img().png({ palette: true, colours: 16 }).toBuffer(),
        await img().png({ palette: true, colours: 4 }).toBuffer(),
        await img().png({ palette: true, colours: 2 }).toBuffer(),
      ];
      for (const [i, b] of files.entries()) {
        const hd = readPngHeader(b)!;
        seen.add(`${hd.colorType}/${hd.bitDepth}`);
        await assertSameAsSharp(b, `${channels} channels ${w}x${h}, file ${i}`);
      }
    }
  }
  assert.deepEqual([...seen].sort(), ['0/8', '2/8', '3/1', '3/2', '3/4', '3/8', '4/8', '6/8']);
});

test('metadata chunks are skipped; image data split over several IDAT chunks is joined; bytes after the stream are ignored', async () => {
  const spec = { width: 9, height: 4, bitDepth: 8, colorType: 2 };
  const rows = randomRows(spec, 5);
  const meta = [chunk('pHYs', Buffer.alloc(9)), chunk('tEXt', Buffer.from('Software\0test')), chunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f])), chunk('sRGB', Buffer.from([0]))];
  await assertSameAsSharp(writePng({ ...spec, rows, before: meta, idats: 5, after: [chunk('tIME', Buffer.alloc(7))] }), 'metadata, 5 IDATs');
  // A suggested palette in an RGB image is allowed (11.2.3) and changes nothing.
  await assertSameAsSharp(writePng({ ...spec, rows, palette: Uint8Array.of(1, 2, 3) }), 'RGB with PLTE');
  // Image data over 1 MiB inflates in several output buffers.
  const big = Buffer.alloc(620 * 600 * 3).map((_, i) => (i * 31 + (i >> 11)) & 255);
  await assertSameAsSharp(await sharp(big, { raw: { width: 620, height: 600, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer(), '620x600 RGB');
  // Bytes after the end of the zlib stream are ignored by libpng and by node:zlib alike.
  await assertSameAsSharp(writePng({ ...spec, rows, zlib: (z) => Buffer.concat([z, Buffer.from('junk')]) }), 'bytes after the zlib stream');
});

test('16-bit, interlaced, ICC-profiled and animated PNGs are left to sharp, which decodeImage then uses', async () => {
  const spec = { width: 5, height: 3, bitDepth: 8, colorType: 2 };
  const rows = randomRows(spec, 8);
  const raw = Buffer.alloc(8 * 8 * 3).map((_, i) => (i * 37) & 255);
  const files: [string, Buffer][] = [
    ['16-bit', await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).toColourspace('rgb16').png().toBuffer()],
    ['interlaced', await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).png({ progressive: true }).toBuffer()],
    ['ICC profile', writePng({ ...spec, rows, before: [chunk('iCCP', Buffer.concat([Buffer.from('x\0\0'), deflateSync(Buffer.from('not a profile'))]))] })],
    ['animated', writePng({ ...spec, rows, before: [chunk('acTL', Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]))] })],
    ['large metadata', writePng({ ...spec, rows, before: [chunk('zzZz', Buffer.alloc(70_000))] })],
  ];
  for (const [what, b] of files) {
    assert.throws(() => decodePng(b), (e: Error) => e instanceof UnsupportedFormatError, what);
    const viaSharp = await decodeImage(b, { builtinPng: false });
    const d = await decodeImage(b);
    assert.deepEqual([d.image.channels, Buffer.from(d.image.data)], [viaSharp.image.channels, Buffer.from(viaSharp.image.data)], what);
  }
  assert.equal(pngVariantSupported(readPngHeader(files[0]![1])!), false);
  assert.equal(pngVariantSupported(readPngHeader(files[1]![1])!), false);
});

/** What decodeImage makes of a file, in a comparable form: pixels (as RGB[A]) or the error's kind and its text up to the libvips detail. */
async function verdict(bytes: Buffer, builtinPng: boolean): Promise<string> {
  try {
    const d = await decodeImage(bytes, { builtinPng });
    const c = asColour(d.image);
    return `ok ${c.width}x${c.height}x${c.channels} ${Buffer.from(c.data).toString('hex')}`;
  } catch (e) {
    // libvips' own text varies between runs (see decode.ts); the studio's classification must not.
    return `${(e as Error).name}: ${(e as Error).message.split(' (')[0]}`;
  }
}

test('damaged files: the decoder refuses them, and decodeImage gives exactly the verdict sharp gives', async () => {
  const spec = { width: 12, height: 8, bitDepth: 8, colorType: 2 };
  const rows = randomRows(spec, 3);
  const good = writePng({ ...spec, rows });
  const crcOf = (b: Buffer, type: string) => b.indexOf(type) + 4 + b.readUInt32BE(b.indexOf(type) - 4);
  const flip = (b: Buffer, at: number) => {
    const c = Buffer.from(b);
    c[at]! ^= 0x10;
    return c;
  };
  const withText = writePng({ ...spec, rows, before: [chunk('tEXt', Buffer.from('Comment\0hi'))] });
  const cases: [string, Buffer, 'truncated' | 'corrupt'][] = [
    ['cut in half', good.subarray(0, good.length >> 1), 'truncated'],
    ['cut before IEND', good.subarray(0, good.length - 12), 'truncated'],
    ['cut inside IHDR', good.subarray(0, 20), 'truncated'],
    ['cut inside the IDAT data', good.subarray(0, good.indexOf('IDAT') + 20), 'truncated'],
    ['bad CRC on IDAT', flip(good, crcOf(good, 'IDAT')), 'corrupt'],
    ['bad CRC on IHDR', flip(good, crcOf(good, 'IHDR')), 'corrupt'],
    ['bad CRC on a tEXt chunk', flip(withText, crcOf(withText, 'tEXt')), 'corrupt'],
    ['damaged deflate data', writePng({ ...spec, rows, zlib: (z) => Buffer.concat([z.subarray(0, 2), Buffer.alloc(z.length - 2, 0xff)]) }), 'corrupt'],
    ['bad Adler-32', writePng({ ...spec, rows, zlib: (z) => flip(z, z.length - 1) }), 'corrupt'],
    ['short image data', writePng({ ...spec, rows, inflated: (f) => f.subarray(0, f.length - 5) }), 'truncated'],
    ['long image data', writePng({ ...spec, rows, inflated: (f) => Buffer.concat([f, Buffer.alloc(9)]) }), 'corrupt'],
    ['filter type 5', writePng({ ...spec, rows, inflated: (f) => flip(f, (rowBytesOf(spec) + 1) * 3) }), 'corrupt'],
    ['IDAT chunks apart', writePng({ ...spec, rows, idats: 2 }).subarray(0), 'corrupt'],
    ['unknown critical chunk', writePng({ ...spec, rows, before: [chunk('XYZW', Buffer.from('x'))] }), 'corrupt'],
    ['chunk type not letters', writePng({ ...spec, rows, before: [chunk('a1b2', Buffer.from('x'))] }), 'corrupt'],
    ['palette index past the palette', writePng({ width: 4, height: 2, bitDepth: 8, colorType: 3, rows: Uint8Array.of(0, 1, 0, 1, 1, 2, 1, 0), palette: Uint8Array.of(9, 9, 9, 200, 100, 0) }), 'corrupt'],
    ['no IEND', writePng({ ...spec, rows, noEnd: true }), 'truncated'],
  ];
  // IDAT chunks with another chunk between them.
  {
    const two = writePng({ ...spec, rows, idats: 2 });
    const second = two.indexOf('IDAT', two.indexOf('IDAT') + 4) - 4;
    cases[12] = ['IDAT chunks apart', Buffer.concat([two.subarray(0, second), chunk('tEXt', Buffer.from('a\0b')), two.subarray(second)]), 'corrupt'];
  }
  const verdicts: string[] = [];
  for (const [what, b, kind] of cases) {
    assert.throws(
      () => decodePng(b),
      (e: Error) => e instanceof FormatError && !(e instanceof UnsupportedFormatError) && (kind === 'truncated') === /^truncated PNG/.test(e.message),
      what,
    );
    const builtin = await verdict(b, true);
    const viaSharp = await verdict(b, false);
    assert.equal(builtin, viaSharp, what);
    verdicts.push(`${what}: ${builtin.slice(0, 40)}`);
  }
  // What sharp makes of them (libpng's rules), pinned so a change in sharp shows here. libpng
  // passes a file whose IEND is missing, a damaged ancillary chunk, extra image data and an
  // out-of-range palette index (as black); the built-in decoder refuses them all and defers.
  const failed = verdicts.filter((v) => !/: ok /.test(v)).map((v) => v.split(':')[0]);
  assert.deepEqual(failed, [
    'cut in half',
    'cut inside IHDR',
    'cut inside the IDAT data',
    'bad CRC on IDAT',
    'bad CRC on IHDR',
    'damaged deflate data',
    'bad Adler-32',
    'short image data',
    'filter type 5',
    'IDAT chunks apart',
    'unknown critical chunk',
    'chunk type not letters',
  ]);
  assert.match(await verdict(good.subarray(0, good.length >> 1), true), /^FormatError: truncated PNG$/);
});

test('decodePng errors name the file and say what is wrong', () => {
  const spec = { width: 3, height: 3, bitDepth: 8, colorType: 0 };
  const b = writePng({ ...spec, rows: randomRows(spec, 1) });
  assert.equal(isPng(b), true);
  assert.equal(isPng(b.subarray(0, 7)), false);
  assert.throws(() => decodePng(Buffer.from('not a png at all'), 'x.png'), /^FormatError: x\.png: not a PNG file/);
  assert.throws(() => decodePng(b.subarray(0, b.length - 12), 'x.png'), /x\.png: truncated PNG \(the file ends before the IEND chunk\)/);
  const bad = Buffer.from(b);
  bad[bad.indexOf('IDAT') + 6]! ^= 1;
  assert.throws(() => decodePng(bad, 'x.png'), /x\.png: PNG chunk IDAT has a bad CRC/);
  assert.throws(() => decodePng(writePng({ ...spec, rows: randomRows(spec, 1), inflated: (f) => f.subarray(0, 5) })), /truncated PNG \(the image data holds 5 of 12 bytes\)/);
});

test('decodeImage takes the built-in path for PNGs near the target size or small, sharp (which shrinks them) for larger ones', async () => {
  const grey = (w: number, h: number) => sharp(Buffer.alloc(w * h, 90).map((_, i) => i & 255), { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  // The built-in decoder keeps grey as one channel and the file's size; sharp hands grey back as RGB.
  const near = await decodeImage(await grey(60, 50), { size: 32 });
  assert.deepEqual([near.width, near.height, near.image.width, near.image.channels], [60, 50, 60, 1]);
  const small = await decodeImage(await grey(128, 40), { size: 32 });
  assert.deepEqual([small.image.width, small.image.height, small.image.channels], [128, 40, 1], 'up to 4x when small');
  const far = await decodeImage(await grey(140, 70), { size: 32, resize: 'pad' });
  assert.deepEqual([far.width, far.height, far.image.width, far.image.height, far.image.channels], [140, 70, 32, 16, 3]);
  const many = await decodeImage(await grey(300, 300), { size: 100, resize: 'pad' });
  assert.deepEqual([many.image.width, many.image.channels], [100, 3], '2x-4x but over 65,536 pixels: sharp, which shrinks it');
  const noSize = await decodeImage(await grey(300, 20));
  assert.equal(noSize.image.channels, 1);
});

test('stored samples are the same bytes whichever decoder read the file, for every preprocessing', async () => {
  const w = 21;
  const h = 14;
  const next = rng(4);
  const raw = (c: number) => Buffer.from(Array.from({ length: w * h * c }, (_, i) => (c === 2 || c === 4) && i % c === c - 1 ? [0, 77, 255][next() % 3]! : next()));
  const files = [
    await sharp(raw(1), { raw: { width: w, height: h, channels: 1 } }).png().toBuffer(), // grey written as RGB
    await sharp(raw(1), { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png().toBuffer(),
    await sharp(raw(2), { raw: { width: w, height: h, channels: 2 } }).toColourspace('b-w').png().toBuffer(),
    await sharp(raw(3), { raw: { width: w, height: h, channels: 3 } }).png().toBuffer(),
    await sharp(raw(4), { raw: { width: w, height: h, channels: 4 } }).png().toBuffer(),
    await sharp(raw(4), { raw: { width: w, height: h, channels: 4 } }).png({ palette: true, colours: 8 }).toBuffer(),
  ];
  const bgs: Rgb[] = [
    [0, 0, 0],
    [200, 200, 200],
    [0, 90, 255],
  ];
  let compared = 0;
  for (const [i, b] of files.entries()) {
    const mine = (await decodeImage(b, { size: 16 })).image;
    const ref = (await decodeImage(b, { size: 16, builtinPng: false })).image;
    for (const size of [8, 21, 32]) {
      for (const resize of ['fit', 'crop', 'pad'] as Preprocess['resize'][]) {
        for (const channels of ['auto', 'grayscale', 'rgb'] as Preprocess['channels'][]) {
          for (const bg of bgs) {
            const a = prepareImage(mine, size, { resize, channels }, bg);
            const r = prepareImage(ref, size, { resize, channels }, bg);
            assert.equal(a.channels, r.channels, `file ${i}`);
            assert.ok(Buffer.from(a.data).equals(Buffer.from(r.data)), `file ${i}, ${size} ${resize} ${channels} ${bg.join(',')}`);
            compared++;
          }
        }
      }
    }
  }
  assert.equal(compared, 6 * 3 * 3 * 3 * 3);
});
