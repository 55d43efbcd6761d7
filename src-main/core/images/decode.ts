/**
 * Image files to pixels: sharp (libvips) decodes PNG, JPEG, WebP, GIF (first frame), TIFF (first
 * page) and AVIF on libuv's thread pool, the studio's own decoders read BMP and plain PNGs near the
 * target size. Images much larger than the target are shrunk by sharp in the same call (it can
 * shrink JPEGs while decoding them, and its resampler is faster than ours on large inputs); the
 * rest is done by preprocess.ts.
 *
 * Why a PNG decoder of our own: datasets are often thousands of small PNGs, and each sharp call has
 * a fixed cost (~1 ms of CPU here for a 28x28 file, most of it pipeline set-up) that the built-in
 * decoder (png.ts; node:zlib inflate) does not (~30 us). It takes only files libpng would read the
 * same way; anything else, damaged files included, goes to sharp, so every verdict on a damaged
 * file is still libpng's. It runs synchronously, which the size bounds below keep short (at most
 * 512 x 512 pixels at the largest target size; 1 Mpixel when no target is given). PNGs it reads
 * are shrunk by preprocess.ts's tent filter up to 4x (small images), by sharp's resampler beyond.
 *
 * Why not one sharp pipeline per image for everything: measured here (2 cores, 28x28 PNGs) a decode
 * alone runs at ~1,300 images/s, a decode + resize + colourspace pipeline at ~650/s; the JS
 * finishing step on images near the target size costs far less than the second pipeline stage.
 */
import sharp from 'sharp';
import { decodeBmp } from '../formats/bmp.ts';
import { FormatError, UnsupportedFormatError } from '../formats/common.ts';
import { decodePng, pngVariantSupported, readPngHeader } from '../formats/png.ts';
import { headerSize, sniffImage } from '../formats/sniff.ts';
import type { ImageFormat } from '../formats/sniff.ts';
import type { Preprocess } from '../../contract/datasets.ts';
import type { RawImage } from './preprocess.ts';
import { scaledSize } from './preprocess.ts';

// libvips' operation cache keys on input buffers the studio never decodes twice: it only costs memory.
sharp.cache(false);

export interface Decoded {
  format: ImageFormat;
  /** The file's own pixel size, before any shrinking. */
  width: number;
  height: number;
  image: RawImage;
}

/** Above this many times the target size an image is shrunk by sharp while decoding. */
const SHRINK_FACTOR = 2;
/** Without a target size, PNGs up to this many pixels are decoded by the built-in decoder. */
const BUILTIN_PNG_MAX_PIXELS = 2 ** 20;
/**
 * PNGs up to this many times the target size and this many pixels are decoded by the built-in
 * decoder and shrunk by preprocess.ts, not by sharp: measured here (RGB, CPU per image), 64 -> 28 is
 * ~0.15 ms that way against ~1.8 ms through sharp's decode + resize, 128 -> 28 ~0.35 against
 * ~2.6 ms, 256 -> 64 ~1.5 against ~3 ms; sharp's fixed cost per call dominates below that.
 */
const BUILTIN_PNG_SHRINK = 4;
const BUILTIN_PNG_SHRINK_MAX_PIXELS = 256 * 256;

/** Whether a PNG of this size goes to the built-in decoder (the size bound keeps its synchronous work short). */
function builtinPngFits(width: number, height: number, size: number | undefined): boolean {
  if (!size) return width * height <= BUILTIN_PNG_MAX_PIXELS;
  const side = Math.max(width, height);
  return side <= SHRINK_FACTOR * size || (side <= BUILTIN_PNG_SHRINK * size && width * height <= BUILTIN_PNG_SHRINK_MAX_PIXELS);
}

/**
 * Whether the file stops before its format's end marker: PNG's IEND chunk (ISO 15948, 5.6) or
 * JPEG's EOI (FF D9). libvips' own message for such files varies between runs (its warning text is
 * sometimes replaced by "Warning treated as error"), so truncation is judged from the bytes.
 */
function missingEnd(b: Uint8Array, format: ImageFormat): boolean {
  const n = b.length;
  if (format === 'png') return !(n >= 12 && String.fromCharCode(...b.subarray(n - 8, n - 4)) === 'IEND');
  if (format === 'jpeg') {
    // Some writers pad after EOI: look for it in the last bytes.
    for (let i = n - 2; i >= Math.max(0, n - 64); i--) if (b[i] === 0xff && b[i + 1] === 0xd9) return false;
    return true;
  }
  return false;
}

function sharpFailure(e: unknown, bytes: Uint8Array, format: ImageFormat, source?: string): FormatError {
  const m = ((e as Error)?.message ?? String(e)).split('\n')[0]!;
  if (/unsupported image format|no decoder|not a known|heif.*(plugin|codec)|compression.*not supported/i.test(m)) {
    return new UnsupportedFormatError(`${format.toUpperCase()} variant not supported by the decoder (${m})`, source);
  }
  const truncated = missingEnd(bytes, format) || /premature end|truncat|unexpected end|end of (file|stream)|not enough data|incomplete/i.test(m);
  return new FormatError(truncated ? `truncated ${format.toUpperCase()} (${m})` : `${format.toUpperCase()} decode failed (${m})`, source);
}

/**
 * Decodes one image file's bytes. `size` (the target square side) lets large images be shrunk on
 * the way. Throws FormatError (corrupt or truncated) or UnsupportedFormatError (a format or codec
 * the studio cannot read), each naming `source`.
 */
export async function decodeImage(
  bytes: Uint8Array,
  opts: {
    size?: number;
    resize?: Preprocess['resize'];
    source?: string;
    /** False sends every PNG to sharp (to compare the two decoders); default true. */
    builtinPng?: boolean;
  } = {},
): Promise<Decoded> {
  const { source } = opts;
  const format = sniffImage(bytes);
  if (format === null) throw new FormatError('the bytes are not an image in any format the studio reads (damaged or misnamed file)', source);
  if (format === 'heif') throw new UnsupportedFormatError('HEIF/HEIC images are not supported; convert them to JPEG or PNG', source);

  if (format === 'png' && opts.builtinPng !== false) {
    const h = readPngHeader(bytes);
    if (h && pngVariantSupported(h) && builtinPngFits(h.width, h.height, opts.size)) {
      try {
        const image = decodePng(bytes, source);
        return { format, width: image.width, height: image.height, image };
      } catch {
        /* damaged, or a variant left to sharp: sharp decodes it, or gives the verdict reported */
      }
    }
  }

  if (format === 'bmp') {
    const bmp = decodeBmp(bytes, source);
    let image: RawImage = { width: bmp.width, height: bmp.height, channels: 4, data: bmp.data };
    if (opts.size && (bmp.width > SHRINK_FACTOR * opts.size || bmp.height > SHRINK_FACTOR * opts.size)) {
      const s = scaledSize(bmp.width, bmp.height, opts.size, opts.resize ?? 'pad');
      const { data, info } = await sharp(bmp.data, { raw: { width: bmp.width, height: bmp.height, channels: 4 } })
        .resize(s.width, s.height, { fit: 'fill' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      image = { width: info.width, height: info.height, channels: info.channels, data };
    }
    return { format, width: bmp.width, height: bmp.height, image };
  }

  try {
    let dims = headerSize(bytes, format);
    // EXIF orientation matters for photos (JPEG, TIFF, WebP, AVIF); PNG/GIF carry none worth the cost.
    const orient = format === 'jpeg' || format === 'tiff' || format === 'webp' || format === 'avif';
    if (!dims || orient) {
      const m = await sharp(bytes).metadata();
      if (!m.width || !m.height) throw new FormatError(`${format.toUpperCase()} without a pixel size`, source);
      dims = (m.orientation ?? 1) >= 5 ? { width: m.height, height: m.width } : { width: m.width, height: m.height };
    }
    let pipeline = sharp(bytes, { failOn: 'warning', sequentialRead: true });
    if (orient) pipeline = pipeline.rotate();
    if (opts.size && (dims.width > SHRINK_FACTOR * opts.size || dims.height > SHRINK_FACTOR * opts.size)) {
      const s = scaledSize(dims.width, dims.height, opts.size, opts.resize ?? 'pad');
      pipeline = pipeline.resize(s.width, s.height, { fit: 'fill' });
    }
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels < 1 || info.channels > 4) {
      throw new UnsupportedFormatError(`${format.toUpperCase()} with ${info.channels} channels is not supported`, source);
    }
    return { format, width: dims.width, height: dims.height, image: { width: info.width, height: info.height, channels: info.channels, data } };
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw sharpFailure(e, bytes, format, source);
  }
}
