/**
 * What an image file is, from its first bytes (not its name: files are often misnamed), and its
 * pixel size where the header tells it cheaply. Signatures: PNG (ISO 15948, 5.2), JPEG (SOI FF D8
 * FF), GIF ('GIF87a' / 'GIF89a'), BMP ('BM'), TIFF ('II*\0' / 'MM\0*'), WebP ('RIFF' .... 'WEBP'),
 * AVIF / HEIF (ISO BMFF 'ftyp' box with an avif / heic brand).
 */
import { bmpSize, isBmp } from './bmp.ts';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'tiff' | 'webp' | 'avif' | 'heif';

/** Extensions the studio takes as images (lower case, with the dot). */
export const IMAGE_EXTENSIONS: Record<string, ImageFormat> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.jpe': 'jpeg',
  '.jfif': 'jpeg',
  '.gif': 'gif',
  '.bmp': 'bmp',
  '.dib': 'bmp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.webp': 'webp',
  '.avif': 'avif',
};

const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

export function sniffImage(b: Uint8Array): ImageFormat | null {
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))) return 'tiff';
  if (b.length >= 12 && ascii(b, 4, 4) === 'ftyp') {
    const brand = ascii(b, 8, 4);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (['heic', 'heix', 'mif1', 'msf1', 'heim', 'heis', 'hevc'].includes(brand)) return 'heif';
  }
  if (isBmp(b) && b.length >= 26) return 'bmp';
  return null;
}

/** Width and height from the header for PNG, GIF, BMP and JPEG; null for the others (ask the decoder). */
export function headerSize(b: Uint8Array, format: ImageFormat): { width: number; height: number } | null {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (format) {
    case 'png':
      return b.length >= 24 ? { width: v.getUint32(16, false), height: v.getUint32(20, false) } : null;
    case 'gif':
      return b.length >= 10 ? { width: v.getUint16(6, true), height: v.getUint16(8, true) } : null;
    case 'bmp':
      return bmpSize(b);
    case 'jpeg': {
      // Walk the marker segments to the first start-of-frame (C0-CF except C4 DHT, C8 JPG, CC DAC).
      let i = 2;
      while (i + 9 < b.length) {
        if (b[i] !== 0xff) return null;
        const m = b[i + 1]!;
        if (m === 0xff) {
          i++;
          continue;
        }
        if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
          return { height: v.getUint16(i + 5, false), width: v.getUint16(i + 7, false) };
        }
        i += 2 + v.getUint16(i + 2, false);
      }
      return null;
    }
    default:
      return null;
  }
}
