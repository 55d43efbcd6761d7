/**
 * The dataset browser's virtual grid: which rows are on screen, and a pager that fetches sample
 * pages for them. With 70,000 samples only the visible rows (plus a few either side) exist in the
 * DOM, and only the pages those rows need are requested, the latest scroll position first: while
 * the user flings through the list, pages scrolled past are never fetched.
 */
import type { SamplePage } from '../../../src-main/contract/index.ts';
import { decodeBase64 } from '../../lib/util/base64.ts';

export interface Layout {
  columns: number;
  /** Pixels from one row's top to the next. */
  rowHeight: number;
  rows: number;
  /** Height of the whole scrolled content. */
  height: number;
}

/** `cell` is the cell's width (and height unless `cellHeight` is given), CSS pixels. */
export function gridLayout(total: number, width: number, cell: number, gap: number, cellHeight = cell): Layout {
  // A hair of tolerance: cell sizes are products of scales and may miss an integer by 1e-12.
  const columns = Math.max(1, Math.floor((width + gap + 1e-6) / (cell + gap)));
  const rowHeight = cellHeight + gap;
  const rows = Math.ceil(total / columns);
  return { columns, rowHeight, rows, height: Math.max(0, rows * rowHeight - gap) };
}

export interface RowRange {
  /** First and one-past-last row to render. */
  start: number;
  end: number;
  /** First and one-past-last sample index they hold. */
  first: number;
  last: number;
}

export function visibleRows(layout: Layout, total: number, scrollTop: number, viewport: number, overscan = 2): RowRange {
  if (layout.rows === 0) return { start: 0, end: 0, first: 0, last: 0 };
  const top = Math.max(0, Math.floor(scrollTop / layout.rowHeight) - overscan);
  const bottom = Math.min(layout.rows, Math.ceil((scrollTop + viewport) / layout.rowHeight) + overscan);
  const start = Math.min(top, layout.rows - 1);
  const end = Math.max(start + 1, bottom);
  return { start, end, first: start * layout.columns, last: Math.min(total, end * layout.columns) };
}

export interface GridSample {
  index: number;
  label: number | null;
  pixels: Uint8Array;
}

export type FetchPage = (offset: number, limit: number, label: number | null) => Promise<SamplePage>;

export interface PagerOptions {
  pageSize?: number;
  /** Pages kept in memory; the least recently wanted go first. */
  maxPages?: number;
  concurrency?: number;
}

/**
 * Sample pages for one (dataset, label filter). Positions are indices into the filtered list; the
 * sample's own `index` is its place in the dataset.
 */
export class SamplePager {
  readonly pageSize: number;
  readonly #fetch: FetchPage;
  readonly #maxPages: number;
  readonly #concurrency: number;
  readonly #pages = new Map<number, GridSample[]>();
  readonly #inFlight = new Set<number>();
  readonly #listeners = new Set<() => void>();
  #wanted: number[] = [];
  #label: number | null = null;
  #generation = 0;
  /** Samples matching the filter; null until the first page answers. */
  total: number | null = null;
  shape: { width: number; height: number; channels: number } | null = null;
  error: string | null = null;
  /** Pages requested so far (for tests and the benchmark). */
  requests = 0;

  constructor(fetch: FetchPage, o: PagerOptions = {}) {
    this.#fetch = fetch;
    this.pageSize = o.pageSize ?? 200;
    this.#maxPages = o.maxPages ?? 64;
    this.#concurrency = o.concurrency ?? 2;
  }

  get label(): number | null {
    return this.#label;
  }

  subscribe(l: () => void): () => void {
    this.#listeners.add(l);
    return () => {
      this.#listeners.delete(l);
    };
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  /** A new filter: forget everything (answers still on their way are ignored) and load page 0. */
  setLabel(label: number | null): void {
    this.#label = label;
    this.#generation++;
    this.#pages.clear();
    this.#inFlight.clear();
    this.total = null;
    this.error = null;
    this.#wanted = [0];
    this.#pump();
    this.#notify();
  }

  /** Positions [first, last) are on screen: fetch their pages, nearest the top first. */
  want(first: number, last: number): void {
    const pages: number[] = [];
    const end = Math.max(first + 1, last);
    for (let p = Math.floor(first / this.pageSize); p <= Math.floor((end - 1) / this.pageSize); p++) {
      if (this.total === null ? p === 0 : p * this.pageSize < this.total) pages.push(p);
    }
    this.#wanted = pages;
    // Keep wanted pages as most recently used.
    for (const p of pages) {
      const v = this.#pages.get(p);
      if (v) {
        this.#pages.delete(p);
        this.#pages.set(p, v);
      }
    }
    this.#pump();
  }

  get(position: number): GridSample | undefined {
    const page = this.#pages.get(Math.floor(position / this.pageSize));
    return page?.[position % this.pageSize];
  }

  #pump(): void {
    for (const p of this.#wanted) {
      if (this.#inFlight.size >= this.#concurrency) return;
      if (this.#pages.has(p) || this.#inFlight.has(p)) continue;
      void this.#load(p);
    }
  }

  async #load(page: number): Promise<void> {
    const gen = this.#generation;
    this.#inFlight.add(page);
    this.requests++;
    try {
      const res = await this.#fetch(page * this.pageSize, this.pageSize, this.#label);
      if (gen !== this.#generation) return;
      this.total = res.total;
      this.shape = { width: res.width, height: res.height, channels: res.channels };
      this.error = null;
      this.#pages.set(
        page,
        res.samples.map((s) => ({ index: s.index, label: s.label, pixels: decodeBase64(s.data) })),
      );
      while (this.#pages.size > this.#maxPages) {
        const oldest = this.#pages.keys().next().value as number;
        if (this.#wanted.includes(oldest)) break;
        this.#pages.delete(oldest);
      }
    } catch (e) {
      if (gen !== this.#generation) return;
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      if (gen === this.#generation) this.#inFlight.delete(page);
    }
    if (gen !== this.#generation) return;
    this.#notify();
    if (this.error === null) this.#pump();
  }

  get cachedPages(): number {
    return this.#pages.size;
  }
}
