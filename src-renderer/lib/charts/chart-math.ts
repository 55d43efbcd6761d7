/**
 * Pure helpers of the canvas line chart: axis ticks (linear and log), y extents, nearest-point
 * lookup for the hover read-out, and M4 decimation, which reduces any number of points to at most
 * four per pixel column (first, min, max, last) so that the drawn polyline is the same as drawing
 * every point (Jugel et al., "M4: A Visualization-Oriented Time Series Data Aggregation", VLDB 2014).
 */

export interface SeriesData {
  /** x values, non-decreasing. */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Number of valid points (the arrays may be longer: growable buffers). */
  length: number;
}

/** "Nice" numbers 1, 2, 5 x 10^k that cover [min, max] in about `count` steps. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const first = Math.ceil(min / step - 1e-9);
  const last = Math.floor(max / step + 1e-9);
  const out: number[] = [];
  for (let i = first; i <= last; i++) out.push(roundTo(i * step, step));
  return out;
}

/** Removes floating noise (0.30000000000000004) relative to the tick step. */
function roundTo(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(20, digits)));
}

/**
 * Ticks for a log axis on [min, max] (both > 0): whole decades when the range spans several, with
 * 2 and 5 added when it spans few; a linear nice scale inside a single narrow decade.
 */
export function logTicks(min: number, max: number, count = 5): number[] {
  if (!(min > 0) || !(max > 0)) return [];
  if (max < min) [min, max] = [max, min];
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const decades = Math.log10(max) - Math.log10(min);
  if (decades < 0.7) return niceTicks(min, max, count);
  const mults = decades > 3 ? [1] : decades > 1.5 ? [1, 2, 5] : [1, 2, 3, 5];
  const out: number[] = [];
  for (let e = lo; e <= hi; e++) {
    for (const m of mults) {
      const v = m * 10 ** e;
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(Number(v.toPrecision(6)));
    }
  }
  // Too many labels on a wide range: keep every k-th decade.
  if (out.length > count * 2) {
    const k = Math.ceil(out.length / (count * 2));
    return out.filter((_, i) => i % k === 0);
  }
  return out;
}

/** First index i with x[i] >= target (binary search over the valid prefix). */
export function lowerBound(x: ArrayLike<number>, length: number, target: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the point whose x is nearest to `target`; -1 for an empty series. */
export function nearestIndex(x: ArrayLike<number>, length: number, target: number): number {
  if (length === 0) return -1;
  const i = lowerBound(x, length, target);
  if (i <= 0) return 0;
  if (i >= length) return length - 1;
  return target - x[i - 1]! <= x[i]! - target ? i - 1 : i;
}

export interface Extent {
  min: number;
  max: number;
}

/**
 * y range of the points with x in [x0, x1] over all series; on a log axis only positive values
 * count. null when no point qualifies. Non-finite values (a diverged step) are skipped.
 */
export function yExtent(series: readonly SeriesData[], x0: number, x1: number, log: boolean): Extent | null {
  let min = Infinity;
  let max = -Infinity;
  for (const s of series) {
    const start = lowerBound(s.x, s.length, x0);
    for (let i = start; i < s.length; i++) {
      if (s.x[i]! > x1) break;
      const v = s.y[i]!;
      if (!Number.isFinite(v) || (log && v <= 0)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? { min, max } : null;
}

/** x range of all series together; null when all are empty. */
export function xExtent(series: readonly SeriesData[]): Extent | null {
  let min = Infinity;
  let max = -Infinity;
  for (const s of series) {
    if (s.length === 0) continue;
    min = Math.min(min, s.x[0]!);
    max = Math.max(max, s.x[s.length - 1]!);
  }
  return min <= max ? { min, max } : null;
}

/** Widens a y range by a margin so lines do not touch the frame (multiplicative on a log axis). */
export function padExtent(e: Extent, log: boolean, fraction = 0.05): Extent {
  if (log) {
    const lmin = Math.log10(e.min);
    const lmax = Math.log10(e.max);
    const pad = Math.max((lmax - lmin) * fraction, 0.02);
    return { min: 10 ** (lmin - pad), max: 10 ** (lmax + pad) };
  }
  const span = e.max - e.min;
  const pad = span > 0 ? span * fraction : Math.max(Math.abs(e.max) * 0.05, 1e-6);
  return { min: e.min - pad, max: e.max + pad };
}

/**
 * M4 decimation of the points with x in [x0, x1] onto `columns` pixel columns. Returns the indices
 * to draw, in order: for each non-empty column its first, min, max and last point (deduplicated).
 * Connecting them gives the same picture as connecting every point.
 */
export function m4Indices(s: SeriesData, x0: number, x1: number, columns: number, log = false): number[] {
  const out: number[] = [];
  if (s.length === 0 || columns < 1 || !(x1 >= x0)) return out;
  const start = Math.max(0, lowerBound(s.x, s.length, x0) - 1);
  let end = lowerBound(s.x, s.length, x1);
  if (end < s.length) end++; // one point past each edge so the line reaches the frame
  const n = end - start;
  if (n <= columns * 4) {
    for (let i = start; i < end; i++) if (usable(s.y[i]!, log)) out.push(i);
    return out;
  }
  const span = x1 - x0 || 1;
  let col = -1;
  let first = -1;
  let minI = -1;
  let maxI = -1;
  let last = -1;
  const flush = () => {
    if (first < 0) return;
    const group = [first, minI, maxI, last].sort((a, b) => a - b);
    for (const i of group) if (out[out.length - 1] !== i) out.push(i);
  };
  for (let i = start; i < end; i++) {
    const y = s.y[i]!;
    if (!usable(y, log)) continue;
    const c = Math.min(columns - 1, Math.max(0, Math.floor(((s.x[i]! - x0) / span) * columns)));
    if (c !== col) {
      flush();
      col = c;
      first = minI = maxI = last = i;
      continue;
    }
    if (y < s.y[minI]!) minI = i;
    if (y > s.y[maxI]!) maxI = i;
    last = i;
  }
  flush();
  return out;
}

function usable(y: number, log: boolean): boolean {
  return Number.isFinite(y) && (!log || y > 0);
}

/** Compact number for axis labels and read-outs: 3-4 significant digits, k/M for large values. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return `${trim((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${trim((v / 1e3).toPrecision(3))}k`;
  if (a >= 100) return v.toFixed(1).replace(/\.0$/, '');
  if (a >= 0.01) return trim(v.toPrecision(3));
  // Three significant digits, trailing zeros dropped: 1e-3, 1.05e-3 and 9.5e-4 stay apart on an axis.
  const [mant, exp] = v.toExponential(2).split('e');
  return `${trim(mant!)}e${exp}`;
}

function trim(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}
