/**
 * Growable columnar buffers for step metrics. Live training appends ~10 batches a second; copying a
 * JS array of objects each time would be O(n) per update, so points go into doubling Float64Arrays
 * and the chart reads the columns directly. `version` changes on every mutation so a view can
 * redraw without deep reactivity.
 */
import type { EpochPoint, StepPoint } from '../../../src-main/contract/index.ts';
import type { SeriesData } from './chart-math.ts';

export const STEP_FIELDS = ['loss', 'recon', 'kl', 'negElbo', 'samplesPerSec', 'epoch', 'timeMs'] as const;
export type StepField = (typeof STEP_FIELDS)[number];

export class StepSeries {
  #cap: number;
  #length = 0;
  #version = 0;
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
      for (const f of STEP_FIELDS) this.cols[f][i] = p[f];
      added++;
    }
    if (added > 0) this.#version++;
    return added;
  }

  reset(points: readonly StepPoint[] = []): void {
    this.#length = 0;
    this.#version++;
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

  /** The latest point as a StepPoint, or null. */
  last(): StepPoint | null {
    return this.#length === 0 ? null : this.#point(this.#length - 1);
  }

  #point(i: number): StepPoint {
    const p = { step: this.x[i]! } as StepPoint;
    for (const f of STEP_FIELDS) p[f] = this.cols[f][i]!;
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

/** Epoch points as chart series (x = epoch). Null values (no validation split) are left out. */
export function epochSeries(points: readonly EpochPoint[], field: 'negElbo' | 'valNegElbo' | 'recon' | 'kl'): SeriesData {
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
