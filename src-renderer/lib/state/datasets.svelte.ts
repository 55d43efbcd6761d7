/** The dataset list and one preview per dataset (loaded once; previews of the same data do not change). */
import type { DatasetInfo, DatasetPreview } from '../../../src-main/contract/index.ts';
import { errorMessage } from '../api/client.ts';
import type { Client } from '../api/client.ts';
import { onReconnect } from '../util/reconnect.ts';

export type PreviewState = { status: 'loading' } | { status: 'ready'; preview: DatasetPreview } | { status: 'error'; message: string };

export const PREVIEW_COUNT = 32;

export class DatasetsState {
  readonly #client: Client;
  datasets = $state.raw<DatasetInfo[]>([]);
  previews = $state.raw<Record<string, PreviewState>>({});
  loading = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);

  constructor(client: Client) {
    this.#client = client;
    onReconnect(client, () => void this.load());
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      this.datasets = await this.#client.call('datasets.list', {});
      this.error = null;
      this.loaded = true;
      for (const d of this.datasets) {
        if (this.previews[d.id]?.status !== 'ready') void this.#loadPreview(d.id);
      }
    } catch (e) {
      this.error = errorMessage(e);
    } finally {
      this.loading = false;
    }
  }

  async #loadPreview(id: string): Promise<void> {
    this.previews = { ...this.previews, [id]: { status: 'loading' } };
    let next: PreviewState;
    try {
      next = { status: 'ready', preview: await this.#client.call('datasets.preview', { id, count: PREVIEW_COUNT }) };
    } catch (e) {
      next = { status: 'error', message: errorMessage(e) };
    }
    this.previews = { ...this.previews, [id]: next };
  }
}
