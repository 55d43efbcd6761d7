/** Shapes a DatasetReport (and sample pixels) for display: grouped skips, bar widths, decoded images. */
import { SKIP_REASONS } from '../../../src-main/contract/index.ts';
import type { HistogramBin, SkipReason, SkippedFile } from '../../../src-main/contract/index.ts';
import { sampleToRgba } from '../../lib/util/pixels.ts';

export const REASON_TEXT: Record<SkipReason, string> = {
  corrupt: 'Corrupt (could not be decoded)',
  unsupported: 'Unsupported format',
  empty: 'Empty',
  unreadable: 'Unreadable',
  duplicate: 'Exact duplicate',
};

export interface SkipGroup {
  reason: SkipReason;
  title: string;
  files: SkippedFile[];
}

/** Skipped files grouped by reason, the largest group first (ties in SKIP_REASONS order). */
export function groupSkipped(skipped: readonly SkippedFile[]): SkipGroup[] {
  const by = new Map<SkipReason, SkippedFile[]>();
  for (const s of skipped) {
    const list = by.get(s.reason);
    if (list) list.push(s);
    else by.set(s.reason, [s]);
  }
  return [...by.entries()]
    .map(([reason, files]) => ({ reason, title: REASON_TEXT[reason] ?? reason, files }))
    .sort((a, b) => b.files.length - a.files.length || SKIP_REASONS.indexOf(a.reason) - SKIP_REASONS.indexOf(b.reason));
}

export interface Bar {
  label: string;
  count: number;
  /** Width in percent of the largest bin (0..100). */
  pct: number;
  /** Share of the total (0..1). */
  share: number;
}

export function bars(bins: readonly HistogramBin[]): Bar[] {
  const max = bins.reduce((m, b) => Math.max(m, b.count), 0);
  const total = bins.reduce((s, b) => s + b.count, 0);
  return bins.map((b) => ({
    label: b.label,
    count: b.count,
    pct: max > 0 ? (100 * b.count) / max : 0,
    share: total > 0 ? b.count / total : 0,
  }));
}

/** Largest over smallest class count (1 = balanced); null without at least one class. */
export function imbalance(bins: readonly HistogramBin[]): number | null {
  const counts = bins.map((b) => b.count).filter((c) => c > 0);
  if (counts.length === 0) return null;
  return Math.max(...counts) / Math.min(...counts);
}

/** RGBA of one uint8 HWC sample (1 or 3 channels; a 4th channel is dropped). */
export function rgbaOf(pixels: Uint8Array, width: number, height: number, channels: number): Uint8ClampedArray {
  if (channels === 4) {
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; i < width * height; i++, j += 4) {
      rgb[i * 3] = pixels[j]!;
      rgb[i * 3 + 1] = pixels[j + 1]!;
      rgb[i * 3 + 2] = pixels[j + 2]!;
    }
    return sampleToRgba(rgb, width, height, 3);
  }
  return sampleToRgba(pixels, width, height, channels);
}

export interface GridSource {
  width: number;
  height: number;
  channels: number;
  samples: readonly { pixels: Uint8Array | readonly number[] }[];
}

/** Samples side by side, `columns` per row, `gap` transparent pixels apart, as one RGBA image. */
export function composeGrid(src: GridSource, columns: number, gap = 1): { width: number; height: number; data: Uint8ClampedArray } {
  const { width: w, height: h, channels } = src;
  const count = src.samples.length;
  const cols = Math.max(1, Math.min(columns, count));
  const rows = Math.max(1, Math.ceil(count / cols));
  const W = cols * w + (cols - 1) * gap;
  const H = rows * h + (rows - 1) * gap;
  const data = new Uint8ClampedArray(W * H * 4);
  src.samples.forEach((s, k) => {
    const px = s.pixels instanceof Uint8Array ? s.pixels : Uint8Array.from(s.pixels);
    const rgba = rgbaOf(px, w, h, channels);
    const ox = (k % cols) * (w + gap);
    const oy = Math.floor(k / cols) * (h + gap);
    for (let y = 0; y < h; y++) data.set(rgba.subarray(y * w * 4, (y + 1) * w * 4), ((oy + y) * W + ox) * 4);
  });
  return { width: W, height: H, data };
}

/** "1.2 s", "850 ms". */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
