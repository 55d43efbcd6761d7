/**
 * What the compare view shows for a set of runs: each run's summary, its metrics (downsampled by
 * main) and its latest previews. Loaded when the set changes; a later set cancels an earlier load.
 */
import type { RunMetrics, RunPreviews, RunSummary } from '../../../src-main/contract/index.ts';
import { ClientError, errorMessage } from '../../lib/api/client.ts';
import type { Client } from '../../lib/api/client.ts';

export interface CompareEntry {
  id: string;
  run: RunSummary | null;
  metrics: RunMetrics | null;
  previews: RunPreviews | null;
  /** Why the run, its metrics or its previews could not be loaded. */
  error: string | null;
  previewError: string | null;
}

/** Points per run: enough for a smooth overlay, small enough for eight runs over IPC. */
const MAX_POINTS = 1500;

export class CompareState {
  readonly #client: Client;
  entries = $state.raw<CompareEntry[]>([]);
  loading = $state(false);
  #token = 0;

  constructor(client: Client) {
    this.#client = client;
  }

  async load(ids: readonly string[]): Promise<void> {
    const token = ++this.#token;
    this.loading = true;
    this.entries = ids.map((id) => ({ id, run: null, metrics: null, previews: null, error: null, previewError: null }));
    const loaded = await Promise.all(ids.map((id) => this.#loadOne(id)));
    if (token !== this.#token) return;
    this.entries = loaded;
    this.loading = false;
  }

  async #loadOne(id: string): Promise<CompareEntry> {
    const entry: CompareEntry = { id, run: null, metrics: null, previews: null, error: null, previewError: null };
    try {
      [entry.run, entry.metrics] = await Promise.all([
        this.#client.call('runs.get', { id }),
        this.#client.call('runs.metrics', { id, maxPoints: MAX_POINTS }),
      ]);
    } catch (e) {
      entry.error = e instanceof ClientError && e.code === 'NOT_FOUND' ? 'This run no longer exists.' : errorMessage(e);
      return entry;
    }
    try {
      entry.previews = await this.#client.call('runs.previews', { id });
    } catch (e) {
      entry.previewError = errorMessage(e);
    }
    return entry;
  }
}
