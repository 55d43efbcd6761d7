/**
 * Growable columnar buffers for step metrics. Live training appends ~10 batches a second; copying a
 * JS array of objects each time would be O(n) per update, so points go into doubling Float64Arrays
 * and the chart reads the columns directly. `version` changes on every mutation so a view can
 * redraw without deep reactivity.
 */
import type { EpochPoint, StepPoint } from '../../../src-main/contract/index.ts';
import { lowerBound } from './chart-math.ts';
import type { SeriesData } from './chart-math.ts';

export const STEP_FIELDS = ['loss', 'recon', 'kl', 'negElbo', 'samplesPerSec', 'epoch', 'timeMs', 'beta', 'lr'] as const;
export type StepField = (typeof STEP_FIELDS)[number];
/** Fields a StepPoint may lack (runs recorded before they existed): held as NaN, given back absent. */
const OPTIONAL_FIELDS: ReadonlySet<StepField> = new Set(['beta', 'lr']);

export class StepSeries {
  #cap: number;
  #length = 0;
  #version = 0;
  #generation = 0;
  x: Float64Array;
  readonly cols: Record<StepField, Float64Array>;

  constructor(initialCapacity = 1024) {
    this.#cap = Math.max(16, initialCapacity);
    this.x = new Float64Array(this.#cap);
    this.cols = Object.fromEntries(STEP_FIELDS.map((f) => [f, new Float64Array(this.#cap)])) as Record<StepField, Float64Array>;
  }

  get length(): number {
    return this.#length;
  }
  get version(): number {
    return this.#version;
  }
  /** Changes on reset and replaceHistory (not on append): derived copies must be rebuilt. */
  get generation(): number {
    return this.#generation;
  }
  get lastStep(): number {
    return this.#length > 0 ? this.x[this.#length - 1]! : -Infinity;
  }

  /** Appends points newer than the last one held (replays and overlaps are dropped); returns how many. */
  append(points: readonly StepPoint[]): number {
    let added = 0;
    for (const p of points) {
      if (!(p.step > this.lastStep)) continue;
      if (this.#length === this.#cap) this.#grow();
      const i = this.#length++;
      this.x[i] = p.step;
      for (const f of STEP_FIELDS) this.cols[f][i] = p[f] ?? Number.NaN;
      added++;
    }
    if (added > 0) this.#version++;
    return added;
  }

  reset(points: readonly StepPoint[] = []): void {
    this.#length = 0;
    this.#version++;
    this.#generation++;
    this.append(points);
  }

  /**
   * Adds older points (from runs.metrics) in front of the live ones already held: history first,
   * then whatever arrived live, without duplicates. O(n), done once when attaching to a run.
   */
  mergeHistory(history: readonly StepPoint[]): void {
    const held: StepPoint[] = [];
    for (let i = 0; i < this.#length; i++) held.push(this.#point(i));
    const first = held.length > 0 ? held[0]!.step : Infinity;
    this.reset(history.filter((p) => p.step < first).concat(held));
  }

  /**
   * Replaces the points up to the last step of `history` (a fresh, possibly downsampled read of the
   * run from runs.metrics) and keeps the held points after it (live ones that arrived meanwhile).
   * Used to bound memory on long runs and to fetch more detail for a zoomed range.
   */
  replaceHistory(history: readonly StepPoint[]): void {
    const end = history.length > 0 ? history[history.length - 1]!.step : -Infinity;
    const after: StepPoint[] = [];
    for (let i = lowerBoundAfter(this.x, this.#length, end); i < this.#length; i++) after.push(this.#point(i));
    this.reset(history.concat(after));
  }

  /** How many held points have x in [x0, x1]. */
  countInRange(x0: number, x1: number): number {
    return lowerBoundAfter(this.x, this.#length, x1) - lowerBound(this.x, this.#length, x0);
  }

  /** The latest point as a StepPoint, or null. */
  last(): StepPoint | null {
    return this.#length === 0 ? null : this.#point(this.#length - 1);
  }

  #point(i: number): StepPoint {
    const p = { step: this.x[i]! } as StepPoint;
    for (const f of STEP_FIELDS) {
      const v = this.cols[f][i]!;
      if (!(OPTIONAL_FIELDS.has(f) && Number.isNaN(v))) p[f] = v;
    }
    return p;
  }

  /** A view of one column for the chart (shares the buffers; valid until the next append). */
  series(field: StepField): SeriesData {
    return { x: this.x, y: this.cols[field], length: this.#length };
  }

  #grow(): void {
    this.#cap *= 2;
    const nx = new Float64Array(this.#cap);
    nx.set(this.x);
    this.x = nx;
    for (const f of STEP_FIELDS) {
      const n = new Float64Array(this.#cap);
      n.set(this.cols[f]);
      this.cols[f] = n;
    }
  }
}

/** First index whose x is greater than `v`. */
function lowerBoundAfter(x: ArrayLike<number>, length: number, v: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Epoch points as chart series (x = epoch). Null or absent values (no validation split, older runs) are left out. */
export function epochSeries(
  points: readonly EpochPoint[],
  field: 'negElbo' | 'valNegElbo' | 'recon' | 'kl' | 'activeUnits' | 'valRecon' | 'valKl',
): SeriesData {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const p of points) {
    const v = p[field];
    if (v === null || v === undefined) continue;
    xs.push(p.epoch);
    ys.push(v);
  }
  return { x: xs, y: ys, length: xs.length };
}

/** Inserts or replaces the point of the same epoch, keeping the list sorted by epoch. */
export function upsertEpoch(points: readonly EpochPoint[], point: EpochPoint): EpochPoint[] {
  const out = points.filter((p) => p.epoch !== point.epoch);
  out.push(point);
  out.sort((a, b) => a.epoch - b.epoch);
  return out;
}
