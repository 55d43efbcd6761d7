/**
 * The latent explorer's state: which run, checkpoint, split and projection; the loaded map (typed
 * arrays, $state.raw: replaced, never mutated); the decoder; the hovered and picked points and the
 * lasso group. Tools call `decode` and `vectors`; hover decoding keeps one request in flight and
 * always decodes the latest cursor position.
 */
import type { CheckpointInfo, RunSummary } from '../../../src-main/contract/index.ts';
import type { LatentEncoding, LatentSplit, Projection } from '../../../src-main/contract/latent.ts';
import { errorMessage, isClientError } from '../../lib/api/client.ts';
import type { Client } from '../../lib/api/client.ts';
import { loadDecoder, mainDecoder } from './decoder.ts';
import type { LatentDecoder } from './decoder.ts';
import { decodeBase64 } from '../../lib/util/base64.ts';
import { dimsInverse, f32OfBase64, i32OfBase64, pcaInverse, pointColours } from './latent-math.ts';

export interface LoadedMap {
  encoding: LatentEncoding;
  projection: Projection;
  dims: [number, number] | null;
  xs: Float32Array;
  ys: Float32Array;
  /** Dataset sample index per row. */
  index: Int32Array;
  label: Int32Array | null;
  negElbo: Float32Array;
  explainedVariance: number[] | null;
  pca: { mean: number[]; components: [number[], number[]] } | null;
  durationMs: number;
}

export interface Progress {
  phase: 'loading' | 'encoding' | 'projecting' | 'decoder';
  done: number;
  total: number;
}

/** Runs with saved checkpoints that are not training any more. */
export function explorableRuns(runs: readonly RunSummary[]): RunSummary[] {
  return runs.filter((r) => (r.status === 'completed' || r.status === 'stopped' || r.status === 'interrupted') && r.epochsDone > 0);
}

export const MAX_PICKED = 8;

export class LatentState {
  readonly client: Client;
  runs = $state.raw<RunSummary[]>([]);
  runsLoaded = $state(false);
  runId = $state<string | null>(null);
  checkpoints = $state.raw<CheckpointInfo[]>([]);
  epoch = $state<number | null>(null);
  split = $state<LatentSplit>('validation');
  projection = $state<Projection>('pca');
  dims = $state<[number, number]>([0, 1]);
  colourBy = $state<'label' | 'elbo'>('label');

  progress = $state<Progress | null>(null);
  error = $state<string | null>(null);
  map = $state.raw<LoadedMap | null>(null);

  decoder = $state.raw<LatentDecoder | null>(null);
  decoderError = $state<string | null>(null);

  /** Hovered map position (data units) and the nearest point's row (-1 none). */
  hover = $state.raw<{ x: number; y: number; row: number } | null>(null);
  hoverDecoded = $state.raw<Float32Array | null>(null);
  /** Rows picked on the map (interpolation ends, the base of the sliders). */
  picked = $state.raw<number[]>([]);
  /** The attribute group (lasso or label), rows. */
  group = $state.raw<number[]>([]);
  /** A row to show on the map (outlier located, etc.). */
  focusRow = $state<number | null>(null);
  focusVersion = $state(0);

  #jobId: string | null = null;
  #loadToken = 0;
  #decoderKey = '';
  #hoverBusy = false;
  #hoverPending: { x: number; y: number; row: number } | null = null;
  // A cache read on demand, never rendered from directly.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #imageCache = new Map<number, Uint8Array>();
  #imageShape: { width: number; height: number; channels: number } | null = null;

  constructor(client: Client) {
    this.client = client;
    client.on('latent.progress', (p) => {
      if (this.#jobId !== null && p.jobId === this.#jobId) this.progress = { phase: p.phase, done: p.done, total: p.total };
    });
  }

  get run(): RunSummary | null {
    return this.runs.find((r) => r.id === this.runId) ?? null;
  }

  get busy(): boolean {
    return this.progress !== null;
  }

  async loadRuns(): Promise<void> {
    try {
      this.runs = explorableRuns(await this.client.call('runs.list', {}));
      this.runsLoaded = true;
      if (this.runId === null && this.runs.length > 0) await this.selectRun(this.runs[0]!.id);
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  async selectRun(id: string): Promise<void> {
    if (this.busy) await this.cancel();
    this.runId = id;
    this.map = null;
    this.picked = [];
    this.group = [];
    this.hover = null;
    this.hoverDecoded = null;
    this.#imageCache.clear();
    try {
      this.checkpoints = (await this.client.call('runs.checkpoints', { id })).slice().sort((a, b) => a.epoch - b.epoch);
      this.epoch = this.checkpoints.at(-1)?.epoch ?? null;
      if (this.epoch === null) {
        this.error = 'This run has no saved checkpoint.';
        return;
      }
      const latent = this.run?.config.model.latentDim ?? 2;
      this.projection = latent <= 2 ? 'dims' : 'pca';
      this.dims = [0, Math.min(1, latent - 1)];
      await this.load();
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  /** Encodes and projects with the current choices (cached in main), then loads the decoder. */
  async load(): Promise<void> {
    if (!this.runId || this.epoch === null) return;
    const token = ++this.#loadToken;
    if (this.#jobId) void this.client.call('latent.cancel', { jobId: this.#jobId }).catch(() => {});
    const jobId = `latent-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.#jobId = jobId;
    this.error = null;
    this.progress = { phase: 'loading', done: 0, total: 0 };
    const runId = this.runId;
    const epoch = this.epoch;
    try {
      const m = await this.client.call('latent.map', {
        runId,
        checkpointEpoch: epoch,
        split: this.split,
        maxSamples: 0,
        projection: this.projection,
        ...(this.projection === 'dims' ? { dims: this.dims } : {}),
        jobId,
      });
      if (token !== this.#loadToken) return;
      this.map = {
        encoding: m.encoding,
        projection: m.projection,
        dims: m.dims,
        xs: f32OfBase64(m.x),
        ys: f32OfBase64(m.y),
        index: i32OfBase64(m.index),
        label: m.label ? i32OfBase64(m.label) : null,
        negElbo: f32OfBase64(m.negElbo),
        explainedVariance: m.explainedVariance,
        pca: m.pca,
        durationMs: m.durationMs,
      };
      if (!m.encoding.labels && this.colourBy === 'label') this.colourBy = 'elbo';
      this.picked = this.picked.filter((r) => r < m.encoding.count);
      this.group = [];
      this.progress = { phase: 'decoder', done: 0, total: 1 };
      await this.#ensureDecoder(runId, epoch, m.encoding);
    } catch (e) {
      if (token !== this.#loadToken) return;
      this.error = isClientError(e) && e.code === 'CANCELLED' ? null : errorMessage(e);
    } finally {
      if (token === this.#loadToken) {
        this.progress = null;
        this.#jobId = null;
      }
    }
  }

  async cancel(): Promise<void> {
    const jobId = this.#jobId;
    this.#loadToken++;
    this.#jobId = null;
    this.progress = null;
    if (jobId) await this.client.call('latent.cancel', { jobId }).catch(() => {});
  }

  async #ensureDecoder(runId: string, epoch: number, enc: LatentEncoding): Promise<void> {
    const key = `${runId}@${epoch}`;
    if (this.#decoderKey === key && this.decoder) return;
    this.decoder?.dispose();
    this.decoder = null;
    this.decoderError = null;
    this.#decoderKey = key;
    try {
      const w = await this.client.call('latent.decoder', { runId, checkpointEpoch: epoch });
      const d = await loadDecoder(w);
      if (this.#decoderKey !== key) return d.dispose();
      this.decoder = d;
    } catch (e) {
      if (this.#decoderKey !== key) return;
      // tfjs did not load here: decode in main instead, and say so.
      this.decoderError = `Decoding in the studio process (${errorMessage(e)})`;
      this.decoder = mainDecoder(
        (z) => this.client.call('latent.decode', { runId, checkpointEpoch: epoch, z }),
        { width: enc.width, height: enc.height, channels: enc.channels, latentDim: enc.latentDim, likelihood: enc.likelihood },
      );
    }
  }

  /** Colours of the points: by label or -ELBO, the lasso group (if any) bright and the rest dim. */
  colours(): { rgba: Uint8Array; range: [number, number] | null } {
    const m = this.map;
    if (!m) return { rgba: new Uint8Array(0), range: null };
    const c = pointColours(this.colourBy, m.label, m.negElbo, this.group.length > 0 ? 60 : 200);
    for (const r of this.group) c.rgba[r * 4 + 3] = 235;
    return c;
  }

  /** z at a map position: exact for PCA and native axes, through main (neighbours) for UMAP / t-SNE. */
  async zAt(x: number, y: number): Promise<Float32Array> {
    const m = this.map;
    if (!m) throw new Error('no map loaded');
    if (m.projection === 'pca' && m.pca) return pcaInverse(m.pca, x, y);
    if (m.projection === 'dims' && m.dims) return dimsInverse(m.encoding.meanPerDim, m.dims, x, y);
    const r = await this.client.call('latent.invert', { ...this.#target(), projection: m.projection, points: [[x, y]] });
    return f32OfBase64(r.z);
  }

  /** The encoder means of some rows, `rows.length * latentDim` values. */
  async vectors(rows: number[]): Promise<Float32Array> {
    const r = await this.client.call('latent.vectors', { ...this.#target(), rows });
    return f32OfBase64(r.mu);
  }

  /** Attribute direction: mean z of the group minus mean z of the rest (main computes it). */
  async attribute(rows: number[]): Promise<{ direction: number[]; norm: number; groupSize: number; restSize: number }> {
    return this.client.call('latent.attribute', { ...this.#target(), rows });
  }

  async decode(z: Float32Array, count: number): Promise<Float32Array> {
    if (!this.decoder) throw new Error('the decoder is not loaded yet');
    return this.decoder.decode(z, count);
  }

  /** Dataset images (uint8 HWC) of some rows, cached per sample. */
  async images(rows: number[]): Promise<Uint8Array[]> {
    const m = this.map;
    if (!m || !this.runId) return [];
    const idx = rows.map((r) => m.index[r]!);
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    const missing = [...new Set(idx.filter((i) => !this.#imageCache.has(i)))];
    if (missing.length > 0) {
      for (let k = 0; k < missing.length; k += 2000) {
        const part = missing.slice(k, k + 2000);
        const r = await this.client.call('latent.images', { runId: this.runId, indices: part });
        this.#imageShape = { width: r.width, height: r.height, channels: r.channels };
        const px = decodeBase64(r.pixels);
        const size = r.width * r.height * r.channels;
        part.forEach((i, j) => this.#imageCache.set(i, px.subarray(j * size, (j + 1) * size)));
      }
    }
    return idx.map((i) => this.#imageCache.get(i)!);
  }

  /** An already fetched image of a row, or null (no request). */
  cachedImage(row: number): Uint8Array | null {
    const m = this.map;
    if (!m) return null;
    return this.#imageCache.get(m.index[row]!) ?? null;
  }

  get imageShape(): { width: number; height: number; channels: number } | null {
    const e = this.map?.encoding;
    return e ? { width: e.width, height: e.height, channels: e.channels } : this.#imageShape;
  }

  /** The cursor moved on the map: decode there, one request in flight, the latest position wins. */
  hoverAt(x: number, y: number, row: number): void {
    this.hover = { x, y, row };
    this.#hoverPending = { x, y, row };
    if (!this.#hoverBusy) void this.#hoverLoop();
  }

  hoverEnd(): void {
    this.hover = null;
    this.#hoverPending = null;
  }

  async #hoverLoop(): Promise<void> {
    this.#hoverBusy = true;
    try {
      while (this.#hoverPending && this.decoder) {
        const p = this.#hoverPending;
        this.#hoverPending = null;
        try {
          const z = await this.zAt(p.x, p.y);
          this.hoverDecoded = await this.decode(z, 1);
        } catch (e) {
          this.decoderError = errorMessage(e);
        }
      }
    } finally {
      this.#hoverBusy = false;
    }
  }

  pick(row: number): void {
    if (this.picked.includes(row)) return;
    this.picked = [...this.picked, row].slice(-MAX_PICKED);
  }

  unpick(row: number): void {
    this.picked = this.picked.filter((r) => r !== row);
  }

  /** Shows a row on the map (the view centres on it). */
  locate(row: number): void {
    this.focusRow = row;
    this.focusVersion++;
  }

  #target() {
    if (!this.runId || this.epoch === null) throw new Error('no run chosen');
    return { runId: this.runId, checkpointEpoch: this.epoch, split: this.split, maxSamples: 0 };
  }
}

const states = new WeakMap<Client, LatentState>();

/** One explorer state per client for the app's lifetime: leaving the page keeps the map. */
export function latentStateFor(client: Client): LatentState {
  let s = states.get(client);
  if (!s) {
    s = new LatentState(client);
    states.set(client, s);
  }
  return s;
}
