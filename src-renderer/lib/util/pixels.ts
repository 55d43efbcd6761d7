/**
 * Turns dataset preview samples (row-major uint8, 1 or 3 channels) into RGBA images for a canvas,
 * laid out as one grid image with a gap between cells.
 */
import type { DatasetPreview } from '../../../src-main/contract/index.ts';

/** RGBA bytes of one sample; grey values are replicated, RGB copied, alpha opaque. */
export function sampleToRgba(pixels: ArrayLike<number>, width: number, height: number, channels: number): Uint8ClampedArray {
  if (channels !== 1 && channels !== 3) throw new Error(`unsupported channel count ${channels}`);
  const n = width * height;
  if (pixels.length < n * channels) throw new Error(`expected ${n * channels} values, got ${pixels.length}`);
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    if (channels === 1) {
      const v = pixels[i]!;
      out[o] = out[o + 1] = out[o + 2] = v;
    } else {
      out[o] = pixels[i * 3]!;
      out[o + 1] = pixels[i * 3 + 1]!;
      out[o + 2] = pixels[i * 3 + 2]!;
    }
    out[o + 3] = 255;
  }
  return out;
}

export interface GridImage {
  width: number;
  height: number;
  /** RGBA, transparent in the gaps. */
  data: Uint8ClampedArray;
  columns: number;
  rows: number;
}

/** Places the samples left to right, top to bottom, `columns` per row, `gap` pixels apart. */
export function previewGrid(preview: Pick<DatasetPreview, 'width' | 'height' | 'channels' | 'samples'>, columns: number, gap = 1): GridImage {
  const { width: w, height: h, channels } = preview;
  const count = preview.samples.length;
  const cols = Math.max(1, Math.min(columns, count));
  const rows = Math.max(1, Math.ceil(count / cols));
  const W = cols * w + (cols - 1) * gap;
  const H = rows * h + (rows - 1) * gap;
  const data = new Uint8ClampedArray(W * H * 4);
  preview.samples.forEach((s, k) => {
    const rgba = sampleToRgba(s.pixels, w, h, channels);
    const ox = (k % cols) * (w + gap);
    const oy = Math.floor(k / cols) * (h + gap);
    for (let y = 0; y < h; y++) {
      data.set(rgba.subarray(y * w * 4, (y + 1) * w * 4), ((oy + y) * W + ox) * 4);
    }
  });
  return { width: W, height: H, data, columns: cols, rows };
}
