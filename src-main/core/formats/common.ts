/**
 * What every dataset file format decodes to, and the one error they throw. Parsers take the file's
 * bytes (not a path) so they are testable without a disk; the caller names the file in `source`.
 */
import { gunzip, gunzipSync } from 'node:zlib';

/** Images as the studio stores them: uint8, row-major HWC per sample, samples one after another. */
export interface ImageArray {
  count: number;
  height: number;
  width: number;
  channels: number;
  /** count * height * width * channels bytes. */
  pixels: Uint8Array;
}

/** A file that cannot be read as the format it claims to be; `message` says why, for a person. */
export class FormatError extends Error {
  constructor(
    message: string,
    /** The file (or a label for it) the problem is in, when the caller gave one. */
    readonly source?: string,
  ) {
    super(source ? `${source}: ${message}` : message);
    this.name = 'FormatError';
  }
}

/**
 * A file that is well formed but uses a variant the studio does not read (an RLE-compressed BMP, a
 * codec sharp lacks): reported as 'unsupported' rather than 'corrupt'.
 */
export class UnsupportedFormatError extends FormatError {
  constructor(message: string, source?: string) {
    super(message, source);
    this.name = 'UnsupportedFormatError';
  }
}

/** gzip members start with 1f 8b (RFC 1952, section 2.3.1). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gzipReason(e: unknown): string {
  const m = (e as Error)?.message ?? String(e);
  return /unexpected end/i.test(m)
    ? 'the gzip stream ends early: the file is truncated (an interrupted download?)'
    : `the gzip stream is corrupt (${m})`;
}

/** The bytes, inflated when they are gzip; synchronous. */
export function gunzipIfNeeded(bytes: Uint8Array, source?: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new FormatError(gzipReason(e), source);
  }
}

/** Same as gunzipIfNeeded, inflating on libuv's thread pool so the caller's event loop stays free. */
export function gunzipIfNeededAsync(bytes: Uint8Array, source?: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return Promise.resolve(bytes);
  return new Promise((resolve, reject) => {
    gunzip(bytes, (err, out) => (err ? reject(new FormatError(gzipReason(err), source)) : resolve(out)));
  });
}

/** Product of dims, refusing sizes a Uint8Array cannot hold (so later arithmetic stays exact). */
export function checkedSize(dims: readonly number[], source?: string): number {
  let n = 1;
  for (const d of dims) n *= d;
  if (!Number.isSafeInteger(n) || n > 2 ** 32) {
    throw new FormatError(`dimensions ${dims.join(' x ')} describe ${n} elements, more than the studio can hold in memory`, source);
  }
  return n;
}

/**
 * Reads dims as images: N x H x W (one channel) or N x H x W x C with C in 1..4 (grey, grey+alpha,
 * RGB, RGBA). Anything else is refused with the shape it had.
 */
export function imageShape(dims: readonly number[], source?: string): { count: number; height: number; width: number; channels: number } {
  if (dims.length === 3 || dims.length === 4) {
    const [count, height, width, channels = 1] = dims as [number, number, number, number?];
    if (height < 1 || width < 1) throw new FormatError(`images of ${height} x ${width} pixels are empty`, source);
    if (channels < 1 || channels > 4) {
      throw new FormatError(`the last dimension (${channels}) is not a channel count of 1 to 4; expected N x H x W or N x H x W x C`, source);
    }
    return { count, height, width, channels };
  }
  throw new FormatError(
    `holds an array of shape (${dims.join(', ')}); images must be N x H x W or N x H x W x C`,
    source,
  );
}
