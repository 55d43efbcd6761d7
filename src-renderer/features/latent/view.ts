/**
 * The scatter's geometry, DOM-free: the view (data <-> screen pixels, pan, zoom about the cursor)
 * and a uniform grid index over the points for hover picking and for the points inside a
 * rectangle (thumbnails when zoomed in). Data y points up, screen y down.
 */

export interface ViewState {
  /** Data coordinates at the centre of the canvas. */
  cx: number;
  cy: number;
  /** Screen pixels per data unit. */
  scale: number;
  /** Canvas size in CSS pixels. */
  width: number;
  height: number;
}

export function toScreen(v: ViewState, x: number, y: number): [number, number] {
  return [v.width / 2 + (x - v.cx) * v.scale, v.height / 2 - (y - v.cy) * v.scale];
}

export function toData(v: ViewState, px: number, py: number): [number, number] {
  return [v.cx + (px - v.width / 2) / v.scale, v.cy - (py - v.height / 2) / v.scale];
}

/** Zooms by `factor` keeping the data point under (px, py) under it. */
export function zoomAt(v: ViewState, px: number, py: number, factor: number): ViewState {
  const [dx, dy] = toData(v, px, py);
  const scale = Math.max(1e-9, v.scale * factor);
  return { ...v, scale, cx: dx - (px - v.width / 2) / scale, cy: dy + (py - v.height / 2) / scale };
}

/** Moves the content by (dx, dy) screen pixels (a drag). */
export function pan(v: ViewState, dx: number, dy: number): ViewState {
  return { ...v, cx: v.cx - dx / v.scale, cy: v.cy + dy / v.scale };
}

export interface Bounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** The bounds of finite points (a unit box around the origin when there are none). */
export function boundsOf(xs: ArrayLike<number>, ys: ArrayLike<number>): Bounds {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  if (x0 > x1) return { x0: -1, x1: 1, y0: -1, y1: 1 };
  return { x0, x1, y0, y1 };
}

/** The view that shows `b` whole in a width x height canvas with `margin` pixels around. */
export function fitView(b: Bounds, width: number, height: number, margin = 24): ViewState {
  const w = Math.max(1e-9, b.x1 - b.x0);
  const h = Math.max(1e-9, b.y1 - b.y0);
  const scale = Math.min((width - 2 * margin) / w, (height - 2 * margin) / h);
  return { cx: (b.x0 + b.x1) / 2, cy: (b.y0 + b.y1) / 2, scale: Math.max(1e-9, scale), width, height };
}

/**
 * Uniform grid over the points (a counting sort by cell), about four points per cell: nearest-point
 * queries look at the few cells a small radius touches, so hover stays O(1) with 70k points.
 */
export class GridIndex {
  readonly xs: Float32Array;
  readonly ys: Float32Array;
  readonly bounds: Bounds;
  readonly cols: number;
  readonly rows: number;
  readonly #cellW: number;
  readonly #cellH: number;
  /** Rows of cell c are order[start[c] .. start[c+1]). */
  readonly #start: Int32Array;
  readonly #order: Int32Array;

  constructor(xs: Float32Array, ys: Float32Array) {
    this.xs = xs;
    this.ys = ys;
    this.bounds = boundsOf(xs, ys);
    const n = xs.length;
    const side = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n / 4))));
    this.cols = side;
    this.rows = side;
    this.#cellW = (this.bounds.x1 - this.bounds.x0) / side || 1;
    this.#cellH = (this.bounds.y1 - this.bounds.y0) / side || 1;
    const cellOf = new Int32Array(n);
    const counts = new Int32Array(side * side + 1);
    for (let i = 0; i < n; i++) {
      const c = this.#cell(xs[i]!, ys[i]!);
      cellOf[i] = c;
      if (c >= 0) counts[c + 1]!++;
    }
    for (let c = 0; c < side * side; c++) counts[c + 1]! += counts[c]!;
    this.#start = counts;
    const fill = counts.slice(0, side * side);
    this.#order = new Int32Array(counts[side * side]!);
    for (let i = 0; i < n; i++) {
      const c = cellOf[i]!;
      if (c >= 0) this.#order[fill[c]!++] = i;
    }
  }

  #col(x: number): number {
    return Math.min(this.cols - 1, Math.max(0, Math.floor((x - this.bounds.x0) / this.#cellW)));
  }

  #row(y: number): number {
    return Math.min(this.rows - 1, Math.max(0, Math.floor((y - this.bounds.y0) / this.#cellH)));
  }

  #cell(x: number, y: number): number {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return -1;
    return this.#row(y) * this.cols + this.#col(x);
  }

  /** The nearest point within `radius` (data units) of (x, y), or -1. */
  nearest(x: number, y: number, radius: number): number {
    const b = this.bounds;
    if (x < b.x0 - radius || x > b.x1 + radius || y < b.y0 - radius || y > b.y1 + radius) return -1;
    const c0 = this.#col(x - radius);
    const c1 = this.#col(x + radius);
    const r0 = this.#row(y - radius);
    const r1 = this.#row(y + radius);
    let best = -1;
    let bestD = radius * radius;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.cols + c;
        for (let k = this.#start[cell]!; k < this.#start[cell + 1]!; k++) {
          const i = this.#order[k]!;
          const dx = this.xs[i]! - x;
          const dy = this.ys[i]! - y;
          const d = dx * dx + dy * dy;
          if (d <= bestD) {
            bestD = d;
            best = i;
          }
        }
      }
    }
    return best;
  }

  /** Rows inside the rectangle, at most `limit` of them (then `truncated`). */
  inRect(x0: number, x1: number, y0: number, y1: number, limit: number): { rows: number[]; truncated: boolean } {
    const b = this.bounds;
    const out: number[] = [];
    if (x1 < b.x0 || x0 > b.x1 || y1 < b.y0 || y0 > b.y1) return { rows: out, truncated: false };
    for (let r = this.#row(y0); r <= this.#row(y1); r++) {
      for (let c = this.#col(x0); c <= this.#col(x1); c++) {
        const cell = r * this.cols + c;
        for (let k = this.#start[cell]!; k < this.#start[cell + 1]!; k++) {
          const i = this.#order[k]!;
          const x = this.xs[i]!;
          const y = this.ys[i]!;
          if (x < x0 || x > x1 || y < y0 || y > y1) continue;
          if (out.length >= limit) return { rows: out, truncated: true };
          out.push(i);
        }
      }
    }
    return { rows: out, truncated: false };
  }
}
