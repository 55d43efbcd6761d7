/**
 * The export page's state: which run and checkpoint, which formats, where to, and the export in
 * flight (its progress from 'export.progress', cancel) or its result (files and the runtime
 * verifications). Also the "import a model" flow, which opens the new run.
 */
import { EXPORT_FORMATS, type CheckpointInfo, type ExportFormat, type ExportResult, type RunSummary } from '../../../src-main/contract/index.ts';
import { errorMessage, isClientError, type Client } from '../../lib/api/client.ts';

/** One line of help per format, in the order shown. */
export const FORMAT_HELP: Record<ExportFormat, { label: string; help: string }> = {
  tfjs: { label: 'TensorFlow.js model', help: 'Encoder and decoder as TensorFlow.js Layers models with a manifest; reloaded and checked against the studio.' },
  onnx: { label: 'ONNX model', help: 'Encoder and decoder for onnxruntime, PyTorch and other runtimes; checked with onnxruntime.' },
  report: { label: 'Report', help: 'report.html: one offline page with the curves, samples, latent map and the model card.' },
  embeddings: { label: 'Embeddings', help: 'Encoder means of every image as CSV and NumPy arrays, with the labels.' },
  grids: { label: 'Image grids', help: 'PNGs of prior samples, reconstructions, latent traversals and an interpolation.' },
  metrics: { label: 'Metrics', help: "Every step's and epoch's metrics as CSV, and the run's evaluations." },
  sampler: { label: 'Sampler page', help: 'A web page with a slider per latent dimension that decodes offline in any browser.' },
};

export const FORMATS: readonly ExportFormat[] = EXPORT_FORMATS;

export interface ExportProgress {
  phase: string;
  done: number;
  total: number;
}

export class ExportState {
  readonly #client: Client;
  runs = $state.raw<RunSummary[]>([]);
  checkpoints = $state.raw<CheckpointInfo[]>([]);
  runId = $state<string | null>(null);
  /** null: the latest checkpoint. */
  checkpointEpoch = $state<number | null>(null);
  formats = $state<Record<ExportFormat, boolean>>({ tfjs: true, onnx: false, report: true, embeddings: false, grids: false, metrics: false, sampler: false });
  out = $state('');
  loading = $state(false);
  running = $state(false);
  cancelling = $state(false);
  jobId = $state<string | null>(null);
  progress = $state<ExportProgress | null>(null);
  result = $state.raw<ExportResult | null>(null);
  error = $state<string | null>(null);
  /** The input the last error names (e.g. 'out'), so the field can be marked. */
  errorField = $state<string | null>(null);

  importPath = $state('');
  importName = $state('');
  importing = $state(false);
  importError = $state<string | null>(null);

  constructor(client: Client) {
    this.#client = client;
    client.on('export.progress', (p) => {
      if (!this.running || p.jobId !== this.jobId) return;
      this.progress = { phase: p.phase, done: p.done, total: p.total };
    });
  }

  get chosenFormats(): ExportFormat[] {
    return FORMATS.filter((f) => this.formats[f]);
  }

  get canExport(): boolean {
    return !this.running && this.runId !== null && this.checkpoints.length > 0 && this.chosenFormats.length > 0;
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      const runs = await this.#client.call('runs.list', {});
      this.runs = runs.filter((r) => r.epochsDone > 0 || r.status === 'completed');
      if (!this.runId || !this.runs.some((r) => r.id === this.runId)) await this.selectRun(this.runs[0]?.id ?? null);
    } catch (e) {
      this.error = errorMessage(e);
    } finally {
      this.loading = false;
    }
  }

  async selectRun(id: string | null): Promise<void> {
    this.runId = id;
    this.checkpointEpoch = null;
    this.checkpoints = [];
    if (!id) return;
    try {
      const cps = await this.#client.call('runs.checkpoints', { id });
      if (this.runId === id) this.checkpoints = cps;
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  async start(): Promise<void> {
    if (!this.canExport || !this.runId) return;
    const jobId = `export-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.jobId = jobId;
    this.running = true;
    this.cancelling = false;
    this.progress = null;
    this.result = null;
    this.error = null;
    this.errorField = null;
    try {
      const out = this.out.trim();
      this.result = await this.#client.call('export.run', {
        runId: this.runId,
        formats: this.chosenFormats,
        jobId,
        ...(out ? { out } : {}),
        ...(this.checkpointEpoch !== null ? { checkpointEpoch: this.checkpointEpoch } : {}),
      });
    } catch (e) {
      this.error = isClientError(e) && e.code === 'CANCELLED' ? 'The export was cancelled; nothing was written.' : errorMessage(e);
      this.errorField = isClientError(e) ? (e.field ?? null) : null;
    } finally {
      this.running = false;
      this.progress = null;
    }
  }

  async cancel(): Promise<void> {
    if (!this.jobId || !this.running) return;
    this.cancelling = true;
    try {
      await this.#client.call('export.cancel', { jobId: this.jobId });
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  /** Imports an exported model folder as a new run; resolves with it (null on failure). */
  async importModel(): Promise<RunSummary | null> {
    const p = this.importPath.trim();
    if (!p) {
      this.importError = 'Enter the path of an exported model folder.';
      return null;
    }
    this.importing = true;
    this.importError = null;
    try {
      const name = this.importName.trim();
      return await this.#client.call('export.importModel', { path: p, ...(name ? { name } : {}) });
    } catch (e) {
      this.importError = errorMessage(e);
      return null;
    } finally {
      this.importing = false;
    }
  }
}
