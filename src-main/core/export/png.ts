/**
 * Image grids as PNG files: tiles (row-major HWC uint8 images of one size) laid out in rows and
 * columns with a border of `pad` pixels around and between them, each tile pixel repeated `scale`
 * times in both directions (nearest neighbour, so small images stay sharp), then encoded by sharp
 * from the raw pixels, grayscale or RGB as the tiles are.
 */
import fs from 'node:fs/promises';
import sharp from 'sharp';

export interface GridLayout {
  rows: number;
  cols: number;
  /** One tile's size in source pixels. */
  width: number;
  height: number;
  channels: 1 | 3;
  /** Border around and between tiles, in output pixels. Default 2. */
  pad?: number;
  /** Each tile pixel becomes a scale x scale block. Default 1. */
  scale?: number;
  /** The border's value (every channel). Default 255 (white). */
  background?: number;
}

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** The integer scale that makes a tile of `side` pixels at least `target` pixels wide (at least 1). */
export function scaleFor(side: number, target = 64): number {
  return Math.max(1, Math.ceil(target / Math.max(1, side)));
}

/** Output pixel of the top-left corner of the tile at (row, col). */
export function tileOrigin(layout: GridLayout, row: number, col: number): { x: number; y: number } {
  const pad = layout.pad ?? 2;
  const s = layout.scale ?? 1;
  return { x: pad + col * (layout.width * s + pad), y: pad + row * (layout.height * s + pad) };
}

/** The size of the whole grid in output pixels. */
export function gridSize(layout: GridLayout): { width: number; height: number } {
  const pad = layout.pad ?? 2;
  const s = layout.scale ?? 1;
  return { width: layout.cols * (layout.width * s + pad) + pad, height: layout.rows * (layout.height * s + pad) + pad };
}

/**
 * Lays out `tiles` (tile i at row floor(i / cols), column i % cols; missing tiles stay background)
 * into one raw image.
 */
export function tileGrid(tiles: Uint8Array, layout: GridLayout): RawImage {
  const { rows, cols, width: w, height: h, channels: c } = layout;
  const s = layout.scale ?? 1;
  const tileBytes = w * h * c;
  const n = Math.min(rows * cols, Math.floor(tiles.length / tileBytes));
  const size = gridSize(layout);
  const data = new Uint8Array(size.width * size.height * c).fill(layout.background ?? 255);
  const rowStride = size.width * c;
  for (let t = 0; t < n; t++) {
    const o = tileOrigin(layout, Math.floor(t / cols), t % cols);
    const base = t * tileBytes;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = base + (y * w + x) * c;
        for (let dy = 0; dy < s; dy++) {
          let dst = (o.y + y * s + dy) * rowStride + (o.x + x * s) * c;
          for (let dx = 0; dx < s; dx++) {
            for (let k = 0; k < c; k++) data[dst + k] = tiles[src + k]!;
            dst += c;
          }
        }
      }
    }
  }
  return { data, width: size.width, height: size.height, channels: c };
}

/** Pixel means in [0, 1] to uint8 (rounded, clamped). */
export function unitToBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i]! * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** The image as PNG bytes (8-bit grayscale or RGB). */
export async function encodePng(img: RawImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: img.channels },
  })
    // Without this, sharp writes a one-channel image as RGB.
    .toColourspace(img.channels === 1 ? 'b-w' : 'srgb')
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** Writes the image as a PNG file; returns its size in bytes. */
export async function writePng(file: string, img: RawImage): Promise<number> {
  const png = await encodePng(img);
  await fs.writeFile(file, png);
  return png.byteLength;
}
