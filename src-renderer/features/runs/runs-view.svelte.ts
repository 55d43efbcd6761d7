/**
 * The runs page's own state on top of the shared run history (RunsState): the table's sort,
 * filters and search, the rows ticked for Compare / Delete, and the edits and actions on runs
 * (runs.update, runs.delete, runs.resume, runs.eval). It lives as long as the app, so leaving the
 * page and coming back keeps the sort, the filters and the selection.
 */
import type { EvalProgress, EvalResult, RunSummary } from '../../../src-main/contract/index.ts';
import { ClientError, errorMessage } from '../../lib/api/client.ts';
import type { Client } from '../../lib/api/client.ts';
import type { RunsState } from '../../lib/state/runs.svelte.ts';
import { DEFAULT_SORT, EMPTY_FILTER, filterRuns, nextSort, sortRunsBy } from '../../lib/util/runs.ts';
import type { RunFilter, SortKey, SortSpec } from '../../lib/util/runs.ts';

export type RunPatch = { name?: string; notes?: string; tags?: string[] };

/** Columns of the runs table that the "Columns" menu can hide (name and status always show). */
export const OPTIONAL_COLUMNS: readonly SortKey[] = ['dataset', 'model', 'latent', 'likelihood', 'beta', 'lr', 'batch', 'negElbo', 'valNegElbo', 'kl', 'activeUnits', 'duration', 'backend'];
/** Hidden until shown: the table then fits a 1280 px window with every other column. */
export const DEFAULT_HIDDEN_COLUMNS: readonly SortKey[] = ['likelihood', 'batch'];
const COLUMNS_KEY = 'vae-studio.runs.hiddenColumns';

/** The hidden columns kept in localStorage (a bad or missing entry gives the defaults). */
function loadHiddenColumns(): SortKey[] {
  try {
    const raw: unknown = JSON.parse(globalThis.localStorage?.getItem(COLUMNS_KEY) ?? 'null');
    if (Array.isArray(raw)) return raw.filter((k): k is SortKey => OPTIONAL_COLUMNS.includes(k as SortKey));
  } catch {
    // Fall through to the defaults.
  }
  return [...DEFAULT_HIDDEN_COLUMNS];
}

export class RunsView {
  readonly #client: Client;
  readonly runs: RunsState;
  sort = $state.raw<SortSpec>(DEFAULT_SORT);
  filter = $state.raw<RunFilter>(EMPTY_FILTER);
  /** Ids ticked in the table, in the order they were ticked (the compare colours follow it). */
  checked = $state.raw<string[]>([]);
  /** The last failed action, for the page's alert. */
  actionError = $state<string | null>(null);
  /** Runs with an edit on its way to main (the detail shows "Saving…"). */
  saving = $state<Record<string, boolean>>({});
  resuming = $state<Record<string, boolean>>({});
  evalProgress = $state.raw<Record<string, EvalProgress>>({});
  evals = $state.raw<Record<string, EvalResult[]>>({});
  /** Columns of the table hidden through the "Columns" menu; remembered across sessions. */
  hiddenColumns = $state.raw<SortKey[]>(loadHiddenColumns());

  /** The rows shown: filtered, then sorted. */
  readonly visible = $derived.by(() => sortRunsBy(filterRuns(this.runs.runs, this.filter), this.sort, this.runs.now));

  constructor(client: Client, runs: RunsState) {
    this.#client = client;
    this.runs = runs;
    client.on('runs.evalProgress', (p) => (this.evalProgress = { ...this.evalProgress, [p.runId]: p }));
  }

  isColumnShown(key: SortKey): boolean {
    return !this.hiddenColumns.includes(key);
  }

  setColumnShown(key: SortKey, shown: boolean): void {
    this.hiddenColumns = shown ? this.hiddenColumns.filter((k) => k !== key) : [...this.hiddenColumns.filter((k) => k !== key), key];
    try {
      globalThis.localStorage?.setItem(COLUMNS_KEY, JSON.stringify(this.hiddenColumns));
    } catch {
      // Storage full or disabled: the choice lasts for this session.
    }
  }

  sortBy(key: SortKey): void {
    this.sort = nextSort(this.sort, key);
  }

  setFilter(patch: Partial<RunFilter>): void {
    this.filter = { ...this.filter, ...patch };
  }

  isChecked(id: string): boolean {
    return this.checked.includes(id);
  }

  toggle(id: string, on = !this.isChecked(id)): void {
    this.checked = on ? (this.isChecked(id) ? this.checked : [...this.checked, id]) : this.checked.filter((x) => x !== id);
  }

  /** Ticks every shown row, or clears them all when all are ticked already. */
  toggleAll(): void {
    const ids = this.visible.map((r) => r.id);
    const all = ids.length > 0 && ids.every((id) => this.isChecked(id));
    this.checked = all ? this.checked.filter((id) => !ids.includes(id)) : [...this.checked, ...ids.filter((id) => !this.isChecked(id))];
  }

  /** The ticked runs that still exist, in ticking order. */
  get checkedRuns(): RunSummary[] {
    return this.checked.map((id) => this.runs.runs.find((r) => r.id === id)).filter((r): r is RunSummary => r !== undefined);
  }

  /** Saves a rename, notes or tags; the list shows main's answer. False (and actionError) on failure. */
  async update(id: string, patch: RunPatch): Promise<boolean> {
    this.saving = { ...this.saving, [id]: true };
    try {
      const run = await this.#client.call('runs.update', { id, ...patch });
      this.#replace(run);
      this.actionError = null;
      return true;
    } catch (e) {
      this.actionError = `Could not save the run: ${errorMessage(e)}`;
      return false;
    } finally {
      const { [id]: _, ...rest } = this.saving;
      void _;
      this.saving = rest;
    }
  }

  /** Deletes runs (and their files); returns the ids deleted. */
  async remove(ids: readonly string[]): Promise<string[]> {
    const done: string[] = [];
    const failed: string[] = [];
    for (const id of ids) {
      try {
        await this.#client.call('runs.delete', { id });
        done.push(id);
      } catch (e) {
        if (e instanceof ClientError && e.code === 'NOT_FOUND') done.push(id);
        else failed.push(`${id}: ${errorMessage(e)}`);
      }
    }
    this.checked = this.checked.filter((id) => !done.includes(id));
    this.runs.runs = this.runs.runs.filter((r) => !done.includes(r.id));
    this.actionError = failed.length > 0 ? `Could not delete ${failed.join('; ')}` : null;
    this.runs.scheduleRefresh(0);
    return done;
  }

  /** Continues a stopped, interrupted or failed run from its latest checkpoint. */
  async resume(id: string): Promise<boolean> {
    this.resuming = { ...this.resuming, [id]: true };
    try {
      const run = await this.#client.call('runs.resume', { id });
      this.#replace(run);
      this.actionError = null;
      // The curves after the checkpoint are replaced: reload them if the run is open.
      if (this.runs.selectedId === id) void this.runs.select(id);
      return true;
    } catch (e) {
      this.actionError = `Could not resume the run: ${errorMessage(e)}`;
      return false;
    } finally {
      const { [id]: _, ...rest } = this.resuming;
      void _;
      this.resuming = rest;
      this.runs.scheduleRefresh(0);
    }
  }

  async loadEvals(id: string): Promise<void> {
    try {
      this.evals = { ...this.evals, [id]: await this.#client.call('runs.evals', { id }) };
    } catch {
      /* a run without evaluations, or one just deleted: nothing to show */
    }
  }

  /** Evaluates the latest checkpoint on the default split; the result joins the run's list. */
  async evaluate(id: string): Promise<EvalResult | null> {
    this.evalProgress = { ...this.evalProgress, [id]: { runId: id, phase: 'loading', done: 0, total: 1 } };
    try {
      const result = await this.#client.call('runs.eval', { id, iwaeK: 50, iwaeSamples: 200 });
      this.evals = { ...this.evals, [id]: [...(this.evals[id] ?? []), result] };
      this.actionError = null;
      return result;
    } catch (e) {
      this.actionError = `Could not evaluate the run: ${errorMessage(e)}`;
      return null;
    } finally {
      const { [id]: _, ...rest } = this.evalProgress;
      void _;
      this.evalProgress = rest;
    }
  }

  #replace(run: RunSummary): void {
    this.runs.runs = this.runs.runs.map((r) => (r.id === run.id ? run : r));
  }
}
