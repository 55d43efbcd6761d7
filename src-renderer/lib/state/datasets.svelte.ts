/**
 * The datasets: the list with thumbnails (the first samples of each), health reports, the import
 * in progress (its dialog may be closed while it runs) and deletion. Logic lives in plain modules
 * under features/datasets (tested in Node); this class holds their results as Svelte state.
 */
import type { DatasetInfo, DatasetReport } from '../../../src-main/contract/index.ts';
import { errorMessage } from '../api/client.ts';
import type { Client } from '../api/client.ts';
import { onReconnect } from '../util/reconnect.ts';
import { decodeBase64 } from '../util/base64.ts';
import type { GridSource } from '../../features/datasets/report-view.ts';
import { ImportFlow } from '../../features/datasets/import-flow.ts';
import type { ImportView, Preparer } from '../../features/datasets/import-flow.ts';
import { deleteDataset, runsUsing } from '../../features/datasets/delete-flow.ts';
import type { DeleteOutcome } from '../../features/datasets/delete-flow.ts';
import { discardUpload, uploadFiles } from '../dnd/upload.ts';
import type { FetchLike } from '../dnd/upload.ts';
import { importPathsFor } from '../dnd/sources.ts';
import type { ImportSources } from '../dnd/sources.ts';
import { uploadToken } from '../dnd/drop.ts';

export type ThumbState = { status: 'loading' } | { status: 'ready'; grid: GridSource } | { status: 'error'; message: string };
export type ReportState = { status: 'loading' } | { status: 'ready'; report: DatasetReport } | { status: 'error'; message: string };

export const THUMB_COUNT = 32;

/** Web mode: upload to the server, import from there. Electron: the paths are already real. */
function makePreparer(): Preparer {
  const fetchLike = ((url, init) => fetch(url, init as RequestInit)) as FetchLike;
  const token = (): string => {
    const t = uploadToken();
    if (!t) throw new Error('no session token: open the URL the server printed');
    return t;
  };
  return {
    async prepare(sources: ImportSources, onProgress) {
      if (sources.kind === 'paths') return { paths: sources.paths, uploadId: null };
      const { uploadId, root } = await uploadFiles(sources.files, { fetch: fetchLike, token: token(), onProgress });
      return { paths: importPathsFor(root, sources.files), uploadId };
    },
    async discard(uploadId) {
      await discardUpload(uploadId, { fetch: fetchLike, token: token() });
    },
  };
}

export class DatasetsState {
  readonly #client: Client;
  datasets = $state.raw<DatasetInfo[]>([]);
  thumbs = $state.raw<Record<string, ThumbState>>({});
  reports = $state.raw<Record<string, ReportState>>({});
  loading = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);

  /** The import in progress or last finished, and whether its dialog is open. */
  importFlow = $state.raw<ImportFlow | null>(null);
  importView = $state.raw<ImportView | null>(null);
  importOpen = $state(false);
  #offFlow: (() => void) | null = null;

  constructor(client: Client) {
    this.#client = client;
    onReconnect(client, () => void this.load());
    client.on('datasets.changed', () => void this.load());
  }

  get client(): Client {
    return this.#client;
  }

  byId(id: string | null): DatasetInfo | null {
    return this.datasets.find((d) => d.id === id) ?? null;
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      this.datasets = await this.#client.call('datasets.list', {});
      this.error = null;
      this.loaded = true;
      const keep = this.datasets.map((d) => d.id);
      this.thumbs = Object.fromEntries(Object.entries(this.thumbs).filter(([id]) => keep.includes(id)));
      for (const d of this.datasets) {
        if (this.thumbs[d.id]?.status !== 'ready') void this.#loadThumbs(d.id);
      }
    } catch (e) {
      this.error = errorMessage(e);
    } finally {
      this.loading = false;
    }
  }

  async #loadThumbs(id: string): Promise<void> {
    this.thumbs = { ...this.thumbs, [id]: { status: 'loading' } };
    let next: ThumbState;
    try {
      const page = await this.#client.call('datasets.samples', { id, offset: 0, limit: THUMB_COUNT });
      next = {
        status: 'ready',
        grid: { ...page, samples: page.samples.map((s) => ({ pixels: decodeBase64(s.data) })) },
      };
    } catch (e) {
      // A studio without datasets.samples still has the older preview command.
      try {
        const p = await this.#client.call('datasets.preview', { id, count: THUMB_COUNT });
        next = { status: 'ready', grid: p };
      } catch {
        next = { status: 'error', message: errorMessage(e) };
      }
    }
    this.thumbs = { ...this.thumbs, [id]: next };
  }

  async loadReport(id: string, force = false): Promise<void> {
    if (!force && this.reports[id]?.status === 'ready') return;
    this.reports = { ...this.reports, [id]: { status: 'loading' } };
    let next: ReportState;
    try {
      next = { status: 'ready', report: await this.#client.call('datasets.report', { id }) };
    } catch (e) {
      next = { status: 'error', message: errorMessage(e) };
    }
    this.reports = { ...this.reports, [id]: next };
  }

  /** Starts an import of what was dropped or picked, replacing a finished one. */
  openImport(sources: ImportSources): void {
    const current = this.importFlow;
    if (current && (current.view.phase === 'importing' || current.view.phase === 'uploading')) {
      // One at a time: show the running one.
      this.importOpen = true;
      current.reopen();
      return;
    }
    if (current) {
      void current.dismiss();
      current.dispose();
    }
    this.#offFlow?.();
    const flow = new ImportFlow(this.#client, sources, { preparer: makePreparer() });
    this.importFlow = flow;
    this.importView = flow.view;
    this.#offFlow = flow.subscribe((v) => {
      this.importView = v;
      if (v.phase === 'done' && v.result) {
        const r = v.result;
        this.reports = { ...this.reports, [r.dataset.id]: { status: 'ready', report: r.report } };
        void this.load();
      }
    });
    this.importOpen = true;
  }

  reopenImport(): void {
    if (!this.importFlow) return;
    this.importFlow.reopen();
    this.importOpen = true;
  }

  closeImport(): void {
    this.importOpen = false;
    const flow = this.importFlow;
    if (!flow) return;
    void flow.dismiss();
    const phase = flow.view.phase;
    if (phase !== 'importing' && phase !== 'uploading') {
      this.#offFlow?.();
      this.#offFlow = null;
      flow.dispose();
      this.importFlow = null;
      this.importView = null;
    }
  }

  runsUsing(id: string): Promise<number | null> {
    return runsUsing(this.#client, id);
  }

  async delete(id: string, deleteRuns: boolean): Promise<DeleteOutcome> {
    const out = await deleteDataset(this.#client, id, deleteRuns);
    if (out.status === 'deleted') {
      this.datasets = this.datasets.filter((d) => d.id !== id);
      void this.load();
    }
    return out;
  }
}
