/**
 * The x-range zoom of the charts: a drag selects a range in pixels, which becomes a range in data
 * units; a range too narrow to be meant (a click) is ignored. Ranges are clamped to the data.
 */
import type { Extent } from './chart-math.ts';

export interface XRange {
  x0: number;
  x1: number;
}

/** Pixels a drag must cover to count as a zoom rather than a click. */
export const MIN_DRAG_PX = 6;

/**
 * The data range between two pointer positions on a plot whose left edge is `left` px and whose
 * width `plotW` px shows [view.min, view.max]; null for a drag shorter than MIN_DRAG_PX. Positions
 * outside the plot are clamped to its edges.
 */
export function rangeFromDrag(pxA: number, pxB: number, left: number, plotW: number, view: Extent): XRange | null {
  if (plotW <= 0) return null;
  const clamp = (p: number) => Math.min(left + plotW, Math.max(left, p));
  const a = clamp(Math.min(pxA, pxB));
  const b = clamp(Math.max(pxA, pxB));
  if (b - a < MIN_DRAG_PX) return null;
  const toX = (p: number) => view.min + ((p - left) / plotW) * (view.max - view.min);
  return { x0: toX(a), x1: toX(b) };
}

/**
 * The x extent to draw: the zoom range intersected with the data's extent, or the data's extent
 * without zoom (or when the zoom lies wholly outside the data).
 */
export function viewRange(data: Extent, zoom: XRange | null): Extent {
  if (!zoom) return data;
  const min = Math.max(data.min, Math.min(zoom.x0, zoom.x1));
  const max = Math.min(data.max, Math.max(zoom.x0, zoom.x1));
  return max > min ? { min, max } : data;
}

/**
 * Whether the points held for [x0, x1] are too coarse for a plot `columns` px wide: fewer than half a
 * point per column while the run has more steps in that range than are held. The step numbers of a
 * run are 1..totalSteps, so the steps in the range are about its width.
 */
export function needsDetail(heldInRange: number, range: XRange, totalSteps: number, columns: number): boolean {
  const stepsInRange = Math.min(totalSteps, Math.max(0, range.x1 - range.x0 + 1));
  return heldInRange < columns / 2 && stepsInRange > heldInRange;
}

/**
 * The maxPoints to ask main for so that a range of the run gets about `columns` points, given that
 * main downsamples the whole run evenly; bounded by the contract's 10..100000.
 */
export function maxPointsForRange(range: XRange | null, totalSteps: number, columns: number): number {
  const span = range ? Math.max(1, range.x1 - range.x0) : Math.max(1, totalSteps);
  const want = Math.ceil(columns * Math.max(1, totalSteps / span));
  return Math.min(100_000, Math.max(10, want));
}

/**
 * What to ask main (runs.metrics) for to draw the range [x0, x1] of a step chart zoomed: the whole
 * step numbers covering it (widened to the steps on either side of a fractional bound, so the line
 * reaches both edges of the plot) at about one point per pixel column, within the contract's
 * 10..100000 points. Main reads and downsamples only that range, whatever the run's length.
 */
export function zoomRequest(range: XRange, columns: number): { fromStep: number; toStep: number; maxPoints: number } {
  const fromStep = Math.max(1, Math.floor(Math.min(range.x0, range.x1)));
  const toStep = Math.max(fromStep, Math.ceil(Math.max(range.x0, range.x1)));
  return { fromStep, toStep, maxPoints: Math.min(100_000, Math.max(10, Math.round(columns))) };
}
