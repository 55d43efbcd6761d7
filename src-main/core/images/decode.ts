/**
 * Image files to pixels: sharp (libvips) decodes PNG, JPEG, WebP, GIF (first frame), TIFF (first
 * page) and AVIF on libuv's thread pool, the studio's own decoder reads BMP. Images much larger
 * than the target are shrunk by sharp in the same call (it can shrink JPEGs while decoding them,
 * and its resampler is faster than ours on large inputs); the rest is done by preprocess.ts.
 *
 * Why not one sharp pipeline per image for everything: measured here (2 cores, 28x28 PNGs) a decode
 * alone runs at ~1,300 images/s, a decode + resize + colourspace pipeline at ~650/s; the JS
 * finishing step on images near the target size costs far less than the second pipeline stage.
 */
import sharp from 'sharp';
import { decodeBmp } from '../formats/bmp.ts';
import { FormatError, UnsupportedFormatError } from '../formats/common.ts';
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
  opts: { size?: number; resize?: Preprocess['resize']; source?: string } = {},
): Promise<Decoded> {
  const { source } = opts;
  const format = sniffImage(bytes);
  if (format === null) throw new FormatError('the bytes are not an image in any format the studio reads (damaged or misnamed file)', source);
  if (format === 'heif') throw new UnsupportedFormatError('HEIF/HEIC images are not supported; convert them to JPEG or PNG', source);

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
