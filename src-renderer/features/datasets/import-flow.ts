/**
 * One import, from the moment files are dropped to its health report: upload (web mode), a live
 * preview that follows the preprocessing controls (debounced; stale answers dropped), the import
 * with its progress events and cancel, and the result. Plain TypeScript with a subscribe/notify
 * surface, so it is tested in Node with a fake transport; the Svelte state mirrors `view`.
 */
import type { CHANNEL_MODES, RESIZE_MODES, VALUE_RANGES } from '../../../src-main/contract/index.ts';
import type {
  DatasetInfo,
  DatasetReport,
  ImportPreview,
  ImportProgress,
  PreprocessInput,
} from '../../../src-main/contract/index.ts';
import type { Client } from '../../lib/api/client.ts';
import { errorMessage, isClientError } from '../../lib/api/client.ts';
import { defaultName, summarise } from '../../lib/dnd/sources.ts';
import type { ImportSources, SourceSummary } from '../../lib/dnd/sources.ts';
import type { UploadProgress } from '../../lib/dnd/upload.ts';

export const SIZE_CHOICES = ['auto', '28', '32', '64', '128', 'custom'] as const;
export type SizeChoice = (typeof SIZE_CHOICES)[number];

export interface PreprocessForm {
  size: SizeChoice;
  customSize: number;
  resize: (typeof RESIZE_MODES)[number];
  channels: (typeof CHANNEL_MODES)[number];
  background: string;
  valueRange: (typeof VALUE_RANGES)[number];
}

export const DEFAULT_FORM: PreprocessForm = {
  size: 'auto',
  customSize: 48,
  resize: 'pad',
  channels: 'auto',
  background: '#000000',
  valueRange: '0..1',
};

export const MIN_SIZE = 8;
export const MAX_SIZE = 256;

/** The form as the contract's preprocess input, or the reason it is not valid. */
export function toPreprocess(f: PreprocessForm): { ok: true; value: PreprocessInput } | { ok: false; field: string; message: string } {
  const value: PreprocessInput = { resize: f.resize, channels: f.channels, background: f.background, valueRange: f.valueRange };
  if (f.size === 'custom') {
    if (!Number.isInteger(f.customSize) || f.customSize < MIN_SIZE || f.customSize > MAX_SIZE) {
      return { ok: false, field: 'customSize', message: `A whole number of pixels from ${MIN_SIZE} to ${MAX_SIZE}` };
    }
    value.size = f.customSize;
  } else if (f.size !== 'auto') {
    value.size = Number(f.size);
  }
  if (!/^#[0-9a-fA-F]{6}$/.test(f.background)) return { ok: false, field: 'background', message: 'A colour like #000000' };
  return { ok: true, value };
}

export type ImportPhase = 'uploading' | 'ready' | 'importing' | 'done' | 'failed' | 'cancelled';

export type PreviewView =
  | { status: 'idle' }
  | { status: 'loading'; last: ImportPreview | null }
  | { status: 'ready'; preview: ImportPreview }
  | { status: 'error'; message: string; last: ImportPreview | null };

export interface ImportView {
  phase: ImportPhase;
  sources: SourceSummary[];
  /** Where main reads from (absolute; the upload folder in web mode). */
  paths: string[];
  upload: UploadProgress | null;
  form: PreprocessForm;
  formError: { field: string; message: string } | null;
  name: string;
  preview: PreviewView;
  progress: ImportProgress | null;
  result: { dataset: DatasetInfo; report: DatasetReport } | null;
  error: string | null;
  /** A cancel was asked for and not yet answered. */
  cancelling: boolean;
}

/** Turns sources into paths main can read: identity in Electron, an upload in web mode. */
export interface Preparer {
  prepare(sources: ImportSources, onProgress: (p: UploadProgress) => void): Promise<{ paths: string[]; uploadId: string | null }>;
  discard(uploadId: string): Promise<void>;
}

export interface ImportFlowOptions {
  preparer: Preparer;
  debounceMs?: number;
  previewCount?: number;
  newJobId?: () => string;
  setTimeout?: (cb: () => void, ms: number) => unknown;
  clearTimeout?: (h: unknown) => void;
}

type Api = Pick<Client, 'call' | 'on'>;

function randomId(): string {
  const c = globalThis.crypto;
  return c && typeof c.randomUUID === 'function' ? c.randomUUID() : `job-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

export class ImportFlow {
  readonly #api: Api;
  readonly #o: Required<ImportFlowOptions>;
  readonly #listeners = new Set<(v: ImportView) => void>();
  readonly #offProgress: () => void;
  #view: ImportView;
  #uploadId: string | null = null;
  #jobId: string | null = null;
  #previewSeq = 0;
  #previewTimer: unknown = null;
  #dismissed = false;
  #disposed = false;
  /**
   * The import's answer was lost (the web transport gives up on a request after a minute, and a
   * large import takes longer) while main goes on importing: its progress events then tell the end.
   */
  #lostAnswer = false;
  #startedAt = 0;

  constructor(api: Api, sources: ImportSources, o: ImportFlowOptions) {
    this.#api = api;
    this.#o = {
      debounceMs: 250,
      previewCount: 16,
      newJobId: randomId,
      setTimeout: (cb, ms) => setTimeout(cb, ms),
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      ...o,
    };
    this.#view = {
      phase: sources.kind === 'files' ? 'uploading' : 'ready',
      sources: summarise(sources),
      paths: sources.kind === 'paths' ? sources.paths : [],
      upload: null,
      form: { ...DEFAULT_FORM },
      formError: null,
      name: defaultName(sources),
      preview: { status: 'idle' },
      progress: null,
      result: null,
      error: null,
      cancelling: false,
    };
    this.#offProgress = api.on('datasets.importProgress', (p) => {
      if (p.jobId !== this.#jobId || this.#view.phase !== 'importing') return;
      this.#set({ progress: p });
      if (this.#lostAnswer) void this.#settleFromProgress(p);
    });
    void this.#prepare(sources);
  }

  get view(): ImportView {
    return this.#view;
  }

  subscribe(listener: (v: ImportView) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #set(patch: Partial<ImportView>): void {
    this.#view = { ...this.#view, ...patch };
    for (const l of [...this.#listeners]) l(this.#view);
  }

  async #prepare(sources: ImportSources): Promise<void> {
    try {
      const { paths, uploadId } = await this.#o.preparer.prepare(sources, (upload) => {
        if (!this.#disposed) this.#set({ upload });
      });
      this.#uploadId = uploadId;
      if (this.#disposed || this.#dismissed) {
        await this.#discard();
        return;
      }
      this.#set({ phase: 'ready', paths });
      this.#refreshPreview(0);
    } catch (e) {
      this.#set({ phase: 'failed', error: `Could not upload the files: ${errorMessage(e)}` });
    }
  }

  setForm(patch: Partial<PreprocessForm>): void {
    const form = { ...this.#view.form, ...patch };
    const checked = toPreprocess(form);
    this.#set({ form, formError: checked.ok ? null : { field: checked.field, message: checked.message } });
    if (checked.ok && this.#view.phase === 'ready') this.#refreshPreview(this.#o.debounceMs);
  }

  setName(name: string): void {
    this.#set({ name });
  }

  #refreshPreview(delay: number): void {
    if (this.#previewTimer !== null) this.#o.clearTimeout(this.#previewTimer);
    this.#previewTimer = null;
    const last = this.#view.preview.status === 'ready' ? this.#view.preview.preview : 'last' in this.#view.preview ? this.#view.preview.last : null;
    this.#set({ preview: { status: 'loading', last } });
    const run = (): void => {
      this.#previewTimer = null;
      void this.#loadPreview();
    };
    if (delay <= 0) run();
    else this.#previewTimer = this.#o.setTimeout(run, delay);
  }

  async #loadPreview(): Promise<void> {
    const checked = toPreprocess(this.#view.form);
    if (!checked.ok || this.#view.paths.length === 0) return;
    const seq = ++this.#previewSeq;
    try {
      const preview = await this.#api.call('datasets.previewImport', {
        paths: this.#view.paths,
        preprocess: checked.value,
        count: this.#o.previewCount,
      });
      if (seq !== this.#previewSeq || this.#disposed) return;
      this.#set({ preview: { status: 'ready', preview } });
    } catch (e) {
      if (seq !== this.#previewSeq || this.#disposed) return;
      const last = 'last' in this.#view.preview ? this.#view.preview.last : null;
      this.#set({ preview: { status: 'error', message: errorMessage(e), last } });
    }
  }

  get canImport(): boolean {
    const v = this.#view;
    return (v.phase === 'ready' || v.phase === 'failed' || v.phase === 'cancelled') && v.paths.length > 0 && toPreprocess(v.form).ok;
  }

  /** Runs the import; resolves when it settles (the view says how). */
  async start(): Promise<void> {
    if (!this.canImport) return;
    const checked = toPreprocess(this.#view.form);
    if (!checked.ok) return;
    const jobId = this.#o.newJobId();
    this.#jobId = jobId;
    this.#lostAnswer = false;
    this.#startedAt = Date.now();
    this.#set({ phase: 'importing', progress: { jobId, phase: 'scanning', done: 0, total: 0, current: null }, error: null, result: null, cancelling: false });
    const name = this.#view.name.trim();
    try {
      const result = await this.#api.call('datasets.import', {
        paths: this.#view.paths,
        preprocess: checked.value,
        jobId,
        ...(name ? { name } : {}),
      });
      this.#set({ phase: 'done', result, cancelling: false, progress: { ...this.#view.progress!, phase: 'done' } });
      // The dataset is a copy: the uploaded files are no longer needed.
      await this.#discard();
    } catch (e) {
      if (this.#view.phase !== 'importing') return; // settled from progress events meanwhile
      if (isClientError(e) && e.code === 'DISCONNECTED' && /no answer/.test(e.message)) {
        this.#lostAnswer = true;
        return;
      }
      if (isClientError(e) && e.code === 'CANCELLED') this.#set({ phase: 'cancelled', cancelling: false, error: null });
      else this.#set({ phase: 'failed', cancelling: false, error: errorMessage(e) });
      if (this.#dismissed) await this.#discard();
    }
  }

  async #settleFromProgress(p: ImportProgress): Promise<void> {
    if (p.phase === 'cancelled') {
      this.#lostAnswer = false;
      this.#set({ phase: 'cancelled', cancelling: false, error: null });
    } else if (p.phase === 'failed') {
      this.#lostAnswer = false;
      this.#set({ phase: 'failed', cancelling: false, error: 'The import failed (see the studio log).' });
    } else if (p.phase === 'done') {
      this.#lostAnswer = false;
      try {
        // The newest dataset created since this import started is its result.
        const list = await this.#api.call('datasets.list', {});
        const mine = list.filter((d) => d.kind === 'imported' && d.createdAt >= this.#startedAt - 5000).sort((a, b) => b.createdAt - a.createdAt)[0];
        if (!mine) throw new Error('the new dataset is not in the list');
        const report = await this.#api.call('datasets.report', { id: mine.id });
        this.#set({ phase: 'done', cancelling: false, result: { dataset: mine, report } });
        await this.#discard();
      } catch (e) {
        this.#set({ phase: 'failed', cancelling: false, error: `The import finished but its result could not be read: ${errorMessage(e)}` });
      }
    }
  }

  async cancel(): Promise<void> {
    if (this.#view.phase !== 'importing' || !this.#jobId) return;
    this.#set({ cancelling: true });
    try {
      await this.#api.call('datasets.cancelImport', { jobId: this.#jobId });
    } catch (e) {
      this.#set({ cancelling: false, error: `Could not cancel: ${errorMessage(e)}` });
    }
  }

  /**
   * The dialog was closed. An import in progress goes on (and cleans up after itself); otherwise
   * the uploaded files are removed now.
   */
  async dismiss(): Promise<void> {
    this.#dismissed = true;
    if (this.#view.phase === 'importing' || this.#view.phase === 'uploading') return;
    await this.#discard();
  }

  get dismissed(): boolean {
    return this.#dismissed;
  }

  /** Reopened from the page's banner. */
  reopen(): void {
    this.#dismissed = false;
  }

  async #discard(): Promise<void> {
    const id = this.#uploadId;
    this.#uploadId = null;
    if (id) await this.#o.preparer.discard(id).catch(() => {});
  }

  dispose(): void {
    this.#disposed = true;
    this.#offProgress();
    if (this.#previewTimer !== null) this.#o.clearTimeout(this.#previewTimer);
    this.#listeners.clear();
  }
}
