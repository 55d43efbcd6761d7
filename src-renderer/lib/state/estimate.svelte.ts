/**
 * The "Estimated time per epoch" measurement of the Train page: training.estimate times a few steps
 * of the current config in a short-lived trainer. The answer belongs to the config and dataset it
 * was measured with; when either changes it is kept on screen but marked stale.
 */
import type { TrainEstimate } from '../../../src-main/contract/index.ts';
import { errorMessage } from '../api/client.ts';
import type { Client } from '../api/client.ts';

/** What identifies a measurement: the dataset and the resolved config, as stable text. */
export function estimateKey(datasetId: string, config: unknown): string {
  return JSON.stringify([datasetId, sortKeys(config)]);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

export class EstimateState {
  readonly #client: Client;
  value = $state.raw<TrainEstimate | null>(null);
  /** The key of `value` (or of the failed attempt), to tell whether it is stale. */
  key = $state<string | null>(null);
  error = $state<string | null>(null);
  measuring = $state(false);
  #token = 0;

  constructor(client: Client) {
    this.#client = client;
  }

  isStale(currentKey: string): boolean {
    return this.key !== null && this.key !== currentKey;
  }

  async measure(datasetId: string, config: Record<string, unknown>): Promise<void> {
    const token = ++this.#token;
    const key = estimateKey(datasetId, config);
    this.measuring = true;
    this.error = null;
    try {
      const value = await this.#client.call('training.estimate', { datasetId, config });
      if (token !== this.#token) return;
      this.value = value;
      this.key = key;
    } catch (e) {
      if (token !== this.#token) return;
      this.value = null;
      this.key = key;
      this.error = errorMessage(e);
    } finally {
      if (token === this.#token) this.measuring = false;
    }
  }
}
