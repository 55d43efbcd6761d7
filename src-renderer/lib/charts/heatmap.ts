/**
 * The KL-per-dimension heatmap's data: one column per epoch, one row per latent dimension, rows
 * ordered by the latest epoch's KL (largest on top), so the dimensions the model uses gather at the
 * top and collapsed ones (KL near 0) at the bottom. Colours come from a perceptually uniform map
 * (viridis, van der Walt & Smith, matplotlib 1.5) on a square-root scale from 0 to the largest value:
 * the KL of a dimension early in training (or under a large beta) can be ten times its later
 * value, and a linear scale would paint every later epoch the same dark colour.
 */
import type { EpochPoint } from '../../../src-main/contract/index.ts';

export interface HeatmapGrid {
  /** Epoch of each column, ascending. */
  epochs: number[];
  /** Latent dimension index (0-based) of each row, top row first. */
  dims: number[];
  /** values[row][col]: KL of dims[row] at epochs[col] in nats; NaN where the epoch has no value. */
  values: Float64Array[];
  /** Largest finite value (0 when none). */
  max: number;
}

/** The grid from epoch points that carry klPerDim (others are left out); null when none does. */
export function klGrid(points: readonly EpochPoint[]): HeatmapGrid | null {
  const cols = points.filter((p) => Array.isArray(p.klPerDim) && p.klPerDim.length > 0).sort((a, b) => a.epoch - b.epoch);
  if (cols.length === 0) return null;
  const dimsCount = Math.max(...cols.map((p) => p.klPerDim!.length));
  const last = cols[cols.length - 1]!.klPerDim!;
  const key = (j: number) => {
    const v = last[j];
    return v !== undefined && Number.isFinite(v) ? v : -Infinity;
  };
  // Stable: equal KL keeps the dimension order.
  const dims = Array.from({ length: dimsCount }, (_, j) => j).sort((a, b) => key(b) - key(a) || a - b);
  let max = 0;
  const values = dims.map((j) => {
    const row = new Float64Array(cols.length);
    cols.forEach((p, c) => {
      const v = p.klPerDim![j];
      row[c] = v !== undefined && Number.isFinite(v) ? v : Number.NaN;
      if (row[c]! > max) max = row[c]!;
    });
    return row;
  });
  return { epochs: cols.map((p) => p.epoch), dims, values, max };
}

/** The cell under a point of a plot of `w` x `h` px; null outside it or for an empty grid. */
export function cellAt(grid: HeatmapGrid, px: number, py: number, w: number, h: number): { row: number; col: number } | null {
  if (px < 0 || py < 0 || px >= w || py >= h || grid.epochs.length === 0 || grid.dims.length === 0) return null;
  const col = Math.min(grid.epochs.length - 1, Math.floor((px / w) * grid.epochs.length));
  const row = Math.min(grid.dims.length - 1, Math.floor((py / h) * grid.dims.length));
  return { row, col };
}

// Viridis sampled at 9 evenly spaced points; linear interpolation between them.
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** RGB of t in [0, 1] on the viridis map (t clamped; NaN gives the panel's empty colour). */
export function viridis(t: number): [number, number, number] {
  if (!Number.isFinite(t)) return [27, 34, 48];
  const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

/** Position on the colour scale (0..1) of a value: sqrt(v / max). */
export function colourPosition(v: number, max: number): number {
  return max > 0 && v > 0 ? Math.sqrt(Math.min(1, v / max)) : Number.isNaN(v) ? Number.NaN : 0;
}

/** The grid as RGBA pixels, one pixel per cell (the canvas scales it up without smoothing). */
export function gridPixels(grid: HeatmapGrid): Uint8ClampedArray<ArrayBuffer> {
  const W = grid.epochs.length;
  const H = grid.dims.length;
  const out = new Uint8ClampedArray(W * H * 4);
  for (let r = 0; r < H; r++) {
    const row = grid.values[r]!;
    for (let c = 0; c < W; c++) {
      const [R, G, B] = viridis(colourPosition(row[c]!, grid.max));
      const o = (r * W + c) * 4;
      out[o] = R;
      out[o + 1] = G;
      out[o + 2] = B;
      out[o + 3] = 255;
    }
  }
  return out;
}
