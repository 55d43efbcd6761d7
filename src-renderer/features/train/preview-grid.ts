/**
 * Lays out the per-epoch previews (runs.previews) as grid images for a canvas: prior samples in a
 * grid, and reconstructions as pairs of rows, originals over their reconstructions, so each
 * reconstruction sits right under its original.
 */
import { blitRgba, sampleToRgba } from '../../lib/util/pixels.ts';
import type { GridImage } from '../../lib/util/pixels.ts';

export interface ImageShape {
  width: number;
  height: number;
  channels: number;
}

/** How many whole images `bytes` holds (at most `count`). */
export function imageCount(bytes: Uint8Array, shape: ImageShape, count: number): number {
  const n = shape.width * shape.height * shape.channels;
  return n > 0 ? Math.max(0, Math.min(count, Math.floor(bytes.length / n))) : 0;
}

/** One cell of a grid: which image of which source goes in row `row`, column `col`. */
export interface Cell {
  row: number;
  col: number;
  source: 0 | 1;
  index: number;
}

/** Cells of `count` images `columns` per row, from one source. */
export function plainCells(count: number, columns: number): Cell[] {
  return Array.from({ length: count }, (_, i) => ({ row: Math.floor(i / columns), col: i % columns, source: 0 as const, index: i }));
}

/**
 * Cells for originals (source 0) over reconstructions (source 1): rows 0, 2, 4... hold originals
 * `columns` at a time and rows 1, 3, 5... the reconstructions of the row above.
 */
export function pairedCells(count: number, columns: number): Cell[] {
  const out: Cell[] = [];
  for (let i = 0; i < count; i++) {
    const r = Math.floor(i / columns);
    out.push({ row: 2 * r, col: i % columns, source: 0, index: i });
    out.push({ row: 2 * r + 1, col: i % columns, source: 1, index: i });
  }
  return out;
}

/**
 * Draws cells into one RGBA image: cells `gap` px apart, with `pairGap` px instead after each odd
 * row when `paired` (a clear break between pairs of rows). Transparent between cells.
 */
export function renderCells(sources: readonly Uint8Array[], shape: ImageShape, cells: readonly Cell[], opts: { gap?: number; paired?: boolean; pairGap?: number } = {}): GridImage {
  const { width: w, height: h, channels } = shape;
  const gap = opts.gap ?? 1;
  const pairGap = opts.pairGap ?? 4 * gap;
  const cols = Math.max(1, ...cells.map((c) => c.col + 1));
  const rows = Math.max(1, ...cells.map((c) => c.row + 1));
  const rowTop = (r: number) => r * (h + gap) + (opts.paired ? Math.floor(r / 2) * (pairGap - gap) : 0);
  const W = cols * w + (cols - 1) * gap;
  const H = rowTop(rows - 1) + h;
  const data = new Uint8ClampedArray(W * H * 4);
  const n = w * h * channels;
  for (const c of cells) {
    const src = sources[c.source];
    if (!src || (c.index + 1) * n > src.length) continue;
    blitRgba(data, W, sampleToRgba(src.subarray(c.index * n, (c.index + 1) * n), w, h, channels), w, h, c.col * (w + gap), rowTop(c.row));
  }
  return { width: W, height: H, data, columns: cols, rows };
}
