/**
 * Turns images (row-major HWC, 1 or 3 channels: dataset uint8 pixels, or decoded means in [0, 1]
 * scaled by 255) into RGBA images for a canvas, and lays several out as one grid image with a gap
 * between cells.
 */
import type { DatasetPreview } from '../../../src-main/contract/index.ts';

/**
 * RGBA bytes of one image, each value times `scale` (1 for uint8 pixels, 255 for values in [0, 1]);
 * grey values are replicated, RGB copied, alpha opaque.
 */
export function sampleToRgba(pixels: ArrayLike<number>, width: number, height: number, channels: number, scale = 1): Uint8ClampedArray<ArrayBuffer> {
  if (channels !== 1 && channels !== 3) throw new Error(`unsupported channel count ${channels}`);
  const n = width * height;
  if (pixels.length < n * channels) throw new Error(`expected ${n * channels} values, got ${pixels.length}`);
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    if (channels === 1) {
      const v = pixels[i]! * scale;
      out[o] = out[o + 1] = out[o + 2] = v;
    } else {
      out[o] = pixels[i * 3]! * scale;
      out[o + 1] = pixels[i * 3 + 1]! * scale;
      out[o + 2] = pixels[i * 3 + 2]! * scale;
    }
    out[o + 3] = 255;
  }
  return out;
}

/** Copies the RGBA image `src` (`w` x `h`) into the RGBA image `dst` (`dstWidth` wide) with its top left at (`ox`, `oy`). */
export function blitRgba(dst: Uint8ClampedArray, dstWidth: number, src: Uint8ClampedArray, w: number, h: number, ox: number, oy: number): void {
  for (let y = 0; y < h; y++) dst.set(src.subarray(y * w * 4, (y + 1) * w * 4), ((oy + y) * dstWidth + ox) * 4);
}

export interface GridImage {
  width: number;
  height: number;
  /** RGBA, transparent in the gaps unless a gap colour was given. */
  data: Uint8ClampedArray<ArrayBuffer>;
  columns: number;
  rows: number;
}

/**
 * `count` cells of `w` x `h` laid out left to right, top to bottom, `columns` per row, `gap` pixels
 * apart; `cell(k)` gives the RGBA of cell k (null leaves it empty). Between cells the image is
 * transparent, or `gapColour` (opaque) when given.
 */
export function gridImage(
  count: number,
  columns: number,
  w: number,
  h: number,
  cell: (k: number) => Uint8ClampedArray | null,
  gap = 1,
  gapColour?: readonly [number, number, number],
): GridImage {
  const cols = Math.max(1, Math.min(columns, count));
  const rows = Math.max(1, Math.ceil(count / cols));
  const W = cols * w + (cols - 1) * gap;
  const H = rows * h + (rows - 1) * gap;
  const data = new Uint8ClampedArray(W * H * 4);
  if (gapColour) {
    for (let i = 0; i < W * H; i++) {
      data[i * 4] = gapColour[0];
      data[i * 4 + 1] = gapColour[1];
      data[i * 4 + 2] = gapColour[2];
      data[i * 4 + 3] = 255;
    }
  }
  for (let k = 0; k < count; k++) {
    const rgba = cell(k);
    if (rgba) blitRgba(data, W, rgba, w, h, (k % cols) * (w + gap), Math.floor(k / cols) * (h + gap));
  }
  return { width: W, height: H, data, columns: cols, rows };
}

/** Places the samples left to right, top to bottom, `columns` per row, `gap` pixels apart. */
export function previewGrid(preview: Pick<DatasetPreview, 'width' | 'height' | 'channels' | 'samples'>, columns: number, gap = 1): GridImage {
  const { width: w, height: h, channels, samples } = preview;
  return gridImage(samples.length, columns, w, h, (k) => sampleToRgba(samples[k]!.pixels, w, h, channels), gap);
}
