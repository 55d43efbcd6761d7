/**
 * The per-epoch previews of the run on the Train page (runs.previews): reconstructions of a fixed
 * validation batch and prior samples at fixed z, with an epoch picker. While the picker is on the
 * latest epoch it follows new epochs as they end; once the user picks an older one it stays there.
 */
import type { RunPreviews } from '../../../src-main/contract/index.ts';
import { ClientError, errorMessage } from '../api/client.ts';
import type { Client } from '../api/client.ts';

export class PreviewsState {
  readonly #client: Client;
  runId = $state<string | null>(null);
  data = $state.raw<RunPreviews | null>(null);
  /** The epoch the user picked; null follows the latest. */
  picked = $state<number | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  #token = 0;
  #retry: ReturnType<typeof setTimeout> | null = null;

  constructor(client: Client) {
    this.#client = client;
  }

  get epochs(): number[] {
    return this.data?.epochs ?? [];
  }

  /** Starts showing a run's previews (null: none). */
  show(runId: string | null): void {
    this.runId = runId;
    this.data = null;
    this.picked = null;
    this.error = null;
    this.#clearRetry();
    if (runId) void this.load();
  }

  /** Picks an epoch; the latest one means "follow the latest". */
  pick(epoch: number): void {
    const list = this.epochs;
    this.picked = list.length > 0 && epoch === list[list.length - 1] ? null : epoch;
    void this.load();
  }

  /** A new epoch ended: its previews exist now (or very soon). */
  onEpoch(epoch: number): void {
    if (!this.runId) return;
    if (this.picked === null) void this.load(epoch);
    else void this.load();
  }

  async load(expectEpoch?: number): Promise<void> {
    const runId = this.runId;
    if (!runId) return;
    const token = ++this.#token;
    this.loading = true;
    try {
      const data = await this.#client.call('runs.previews', { id: runId, ...(this.picked !== null ? { epoch: this.picked } : {}) });
      if (token !== this.#token) return;
      this.data = data;
      this.error = null;
      // The event can overtake the file: ask once more shortly after.
      if (expectEpoch !== undefined && !data.epochs.includes(expectEpoch)) this.#scheduleRetry();
    } catch (e) {
      if (token !== this.#token) return;
      this.error = e instanceof ClientError && e.code === 'NOT_FOUND' ? null : errorMessage(e);
    } finally {
      if (token === this.#token) this.loading = false;
    }
  }

  #scheduleRetry(): void {
    this.#clearRetry();
    this.#retry = setTimeout(() => {
      this.#retry = null;
      void this.load();
    }, 800);
  }

  #clearRetry(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
  }
}
