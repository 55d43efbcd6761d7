/**
 * The Train page: the hyperparameter form, starting and stopping a run, and the live metrics of
 * the run on screen. Progress arrives as events; the first ones can come before the answer to
 * training.start (main emits 'running' while starting), so events of unknown runs are kept while a
 * start is in flight and replayed once its run id is known.
 *
 * Long runs stay light: the step series is read from main downsampled to about the charts' width
 * (runs.metrics maxPoints), live points are appended, and once the held points pass LIVE_LIMIT the
 * series is re-read downsampled. A zoomed range is drawn from the points held while they are fine
 * enough there; when they are too coarse, main is asked for that range alone (runs.metrics
 * fromStep/toStep) at about one point per pixel column, and the charts show that detail until the
 * zoom changes, while the live points keep arriving in the whole-run series underneath.
 */
import { ACTIVE_STATUSES, DEFAULT_CONFIG } from '../../../src-main/contract/index.ts';
import type { BackendInfo, EpochPoint, Events, RunSummary, StepPoint } from '../../../src-main/contract/index.ts';
import { ClientError, errorMessage } from '../api/client.ts';
import type { Client } from '../api/client.ts';
import { StepSeries, upsertEpoch } from '../charts/series.ts';
import { maxPointsForRange, needsDetail, zoomRequest } from '../charts/zoom.ts';
import type { XRange } from '../charts/zoom.ts';
import { EstimateState } from './estimate.svelte.ts';
import { PreviewsState } from './previews.svelte.ts';
import { checkForm, fieldForPath, formFromConfig } from '../util/config-form.ts';
import type { FieldErrors, FieldKey, FormValues } from '../util/config-form.ts';
import { onReconnect } from '../util/reconnect.ts';

export const BUILTIN_DIGITS_ID = 'builtin-digits';

type Stashed =
  | { kind: 'progress'; payload: Events['training.progress'] }
  | { kind: 'epoch'; payload: Events['training.epoch'] }
  | { kind: 'status'; payload: Events['training.status'] };

const DEFAULT_FORM = formFromConfig(DEFAULT_CONFIG);
/** Live points held before the series is re-read downsampled from main. */
export const LIVE_LIMIT = 50_000;

export class TrainState {
  readonly #client: Client;
  datasetId = $state(BUILTIN_DIGITS_ID);
  runName = $state('');
  form = $state<FormValues>({ ...DEFAULT_FORM });
  check = $derived(checkForm(this.form));
  /** Errors main reported for fields (INVALID_INPUT); cleared when that field is edited. */
  serverErrors = $state<FieldErrors>({});
  errors = $derived<FieldErrors>({ ...this.check.errors, ...this.serverErrors });
  banner = $state<string | null>(null);

  run = $state.raw<RunSummary | null>(null);
  readonly steps = new StepSeries();
  /** Bumped whenever `steps` changes: the charts redraw on it. */
  stepsVersion = $state(0);
  epochs = $state.raw<EpochPoint[]>([]);
  backend = $state.raw<BackendInfo | null>(null);
  latest = $state.raw<StepPoint | null>(null);
  starting = $state(false);
  stopping = $state(false);
  /** A pause or resume request in flight. */
  pausing = $state(false);
  resuming = $state(false);
  /** The x range the step charts show (null: all), shared by them. */
  stepZoom = $state.raw<XRange | null>(null);
  /**
   * The zoomed range read from main at the plot's resolution (null: the charts draw `steps`). A
   * snapshot: live points go to `steps` only (they arrive after the range anyway).
   */
  zoomDetail = $state.raw<StepSeries | null>(null);
  /** Steps of the run on screen (from runs.metrics, then the live steps). */
  totalSteps = $state(0);
  /** Width in px of the step charts' plots: the resolution asked of main. */
  chartColumns = 800;
  readonly estimate: EstimateState;
  readonly previews: PreviewsState;
  #fetchingSteps = false;
  /** Bumped by each zoom change: an answer for an older zoom is dropped. */
  #zoomToken = 0;
  /** Counts the detail series shown, so each has its own smoothing generation. */
  #detailCount = 0;

  #stash: Map<string, Stashed[]> | null = null;

  constructor(client: Client) {
    this.#client = client;
    this.estimate = new EstimateState(client);
    this.previews = new PreviewsState(client);
    client.on('training.progress', (p) => this.#route({ kind: 'progress', payload: p }));
    // Pausing from another window (or the CLI) shows here too.
    client.on('runs.changed', ({ runId }) => {
      if (runId && runId === this.run?.id) void this.#refreshSummary(runId);
    });
    client.on('training.epoch', (p) => this.#route({ kind: 'epoch', payload: p }));
    client.on('training.status', (p) => this.#route({ kind: 'status', payload: p }));
    onReconnect(client, () => void this.#resync());
    void this.#attachToActive();
  }

  get active(): boolean {
    return this.run !== null && ACTIVE_STATUSES.includes(this.run.status);
  }

  /** The run on screen is running but held between two steps. */
  get paused(): boolean {
    return this.active && this.run?.paused === true;
  }

  get canStart(): boolean {
    return this.check.config !== null && Object.keys(this.serverErrors).length === 0 && !this.active && !this.starting;
  }

  get errorCount(): number {
    return Object.keys(this.errors).length;
  }

  setField(key: FieldKey, value: string): void {
    this.form[key] = value;
    if (this.serverErrors[key] !== undefined) {
      const next = { ...this.serverErrors };
      delete next[key];
      this.serverErrors = next;
    }
  }

  resetForm(): void {
    this.form = { ...DEFAULT_FORM };
    this.serverErrors = {};
  }

  /** Fills the form from a past run's config ("train again with these settings"). */
  loadConfig(config: RunSummary['config']): void {
    this.form = formFromConfig(config);
    this.serverErrors = {};
  }

  async start(): Promise<void> {
    const config = this.check.config;
    if (!config || this.starting) return;
    this.starting = true;
    this.banner = null;
    // A private buffer, never rendered: it must not be reactive.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    this.#stash = new Map();
    try {
      const name = this.runName.trim();
      const run = await this.#client.call('training.start', {
        datasetId: this.datasetId,
        config,
        ...(name ? { name } : {}),
      });
      this.#show(run);
      for (const ev of this.#stash.get(run.id) ?? []) this.#apply(ev);
    } catch (e) {
      if (e instanceof ClientError && e.code === 'INVALID_INPUT' && e.field) {
        const key = fieldForPath(e.field.replace(/^config\./, ''));
        if (key) this.serverErrors = { ...this.serverErrors, [key]: e.message.replace(/^.*?:\s*[\w.]+:\s*/, '') };
        else this.banner = e.message;
      } else {
        this.banner = `Could not start the training: ${errorMessage(e)}`;
      }
    } finally {
      this.#stash = null;
      this.starting = false;
    }
  }

  async stop(): Promise<void> {
    const run = this.run;
    if (!run || !this.active || this.stopping) return;
    this.stopping = true;
    try {
      const summary = await this.#client.call('training.stop', { runId: run.id });
      if (this.run?.id === summary.id && ACTIVE_STATUSES.includes(this.run.status)) {
        // Keep the fresher status an event may already have brought.
        this.run = { ...summary, status: this.run.status };
      }
    } catch (e) {
      // CONFLICT: it ended on its own meanwhile; the status event tells the rest.
      if (!(e instanceof ClientError && e.code === 'CONFLICT')) this.banner = `Could not stop the run: ${errorMessage(e)}`;
      this.stopping = false;
    }
  }

  async pause(): Promise<void> {
    const run = this.run;
    if (!run || !this.active || this.paused || this.pausing) return;
    this.pausing = true;
    try {
      this.#merge(await this.#client.call('training.pause', { runId: run.id }));
    } catch (e) {
      this.banner = `Could not pause the run: ${errorMessage(e)}`;
    } finally {
      this.pausing = false;
    }
  }

  async resume(): Promise<void> {
    const run = this.run;
    if (!run || !this.paused || this.resuming) return;
    this.resuming = true;
    try {
      this.#merge(await this.#client.call('training.resume', { runId: run.id }));
    } catch (e) {
      this.banner = `Could not resume the run: ${errorMessage(e)}`;
    } finally {
      this.resuming = false;
    }
  }

  /** The step series the charts draw: the zoomed range's detail when there is one, else the run's. */
  get shownSteps(): StepSeries {
    return this.zoomDetail ?? this.steps;
  }

  /**
   * The smoothing generation of `shownSteps` (ChartSeries.generation): changes whenever the points
   * are replaced or the other series is shown, never on an append (so the EMA is extended, not redone).
   */
  get shownGeneration(): number {
    return this.zoomDetail ? this.#detailCount * 2 + 1 : this.steps.generation * 2;
  }

  /**
   * Zooms the step charts to a range (null: all). When the points held there are too coarse for
   * the plot's width, that range alone is read from main at the plot's resolution; the points
   * already on screen stay drawn, zoomed, until it arrives.
   */
  setStepZoom(range: XRange | null): void {
    this.stepZoom = range;
    const token = ++this.#zoomToken;
    const run = this.run;
    if (!run || !range || !needsDetail(this.steps.countInRange(range.x0, range.x1), range, this.totalSteps, this.chartColumns)) {
      this.zoomDetail = null;
      return;
    }
    void this.#readZoomed(run.id, range, token);
  }

  async #readZoomed(runId: string, range: XRange, token: number): Promise<void> {
    try {
      const m = await this.#client.call('runs.metrics', { id: runId, ...zoomRequest(range, this.chartColumns) });
      if (token !== this.#zoomToken || this.run?.id !== runId) return;
      const detail = new StepSeries(m.steps.length);
      detail.append(m.steps);
      this.#detailCount++;
      this.zoomDetail = detail;
    } catch {
      /* the coarser points held stay on screen */
    }
  }

  /** Takes a fresher summary of the shown run, keeping a status an event already brought. */
  #merge(summary: RunSummary): void {
    const cur = this.run;
    if (cur?.id !== summary.id) return;
    this.run = { ...summary, status: ACTIVE_STATUSES.includes(cur.status) ? summary.status : cur.status, epochsDone: Math.max(cur.epochsDone, summary.epochsDone) };
  }

  async #refreshSummary(runId: string): Promise<void> {
    try {
      const summary = await this.#client.call('runs.get', { id: runId });
      if (this.run?.id === runId && summary.paused !== this.run.paused) this.run = { ...this.run, paused: summary.paused };
    } catch {
      /* the status events carry on; a missed pause flag is corrected by the next change */
    }
  }

  /** Re-reads the step series from main at `maxPoints` (live points after it are kept). */
  async #rereadSteps(runId: string, maxPoints: number): Promise<void> {
    if (this.#fetchingSteps) return;
    this.#fetchingSteps = true;
    try {
      const m = await this.#client.call('runs.metrics', { id: runId, maxPoints });
      if (this.run?.id !== runId) return;
      this.steps.replaceHistory(m.steps);
      this.stepsVersion = this.steps.version;
      this.totalSteps = Math.max(this.totalSteps, m.totalSteps);
    } catch {
      /* keep what is held */
    } finally {
      this.#fetchingSteps = false;
    }
  }

  /** Shows a run from scratch (new start or attach): empty series, its summary. */
  #show(run: RunSummary): void {
    this.run = run;
    this.steps.reset();
    this.stepsVersion = this.steps.version;
    this.latest = null;
    this.epochs = [];
    this.stopping = false;
    this.backend = null;
    this.stepZoom = null;
    this.zoomDetail = null;
    this.#zoomToken++;
    this.totalSteps = 0;
    this.previews.show(run.id);
  }

  #route(ev: Stashed): void {
    const runId = ev.payload.runId;
    if (this.run?.id === runId) this.#apply(ev);
    else if (this.#stash) {
      const list = this.#stash.get(runId) ?? [];
      list.push(ev);
      this.#stash.set(runId, list);
    }
  }

  #apply(ev: Stashed): void {
    const run = this.run;
    if (!run) return;
    switch (ev.kind) {
      case 'progress':
        if (this.steps.append(ev.payload.points) > 0) {
          this.stepsVersion = this.steps.version;
          this.latest = this.steps.last();
          this.totalSteps = Math.max(this.totalSteps, this.latest?.step ?? 0);
          if (this.steps.length > LIVE_LIMIT) void this.#rereadSteps(run.id, maxPointsForRange(null, this.totalSteps, this.chartColumns * 4));
        }
        break;
      case 'epoch':
        this.epochs = upsertEpoch(this.epochs, ev.payload.point);
        this.run = { ...run, epochsDone: Math.max(run.epochsDone, this.epochs.length), last: ev.payload.point };
        this.previews.onEpoch(ev.payload.point.epoch);
        break;
      case 'status': {
        const { status, error, backend } = ev.payload;
        const next: RunSummary = { ...run, status, error };
        // Main may say whether the trainer is paused; an ended run is never paused.
        if (ev.payload.paused !== undefined) next.paused = ev.payload.paused;
        if (!ACTIVE_STATUSES.includes(status)) next.paused = false;
        if (backend) {
          this.backend = backend;
          next.backend = backend.backend;
          next.device = backend.device;
          next.tfjsVersion = backend.tfjsVersion;
        }
        this.run = next;
        if (!ACTIVE_STATUSES.includes(status)) this.stopping = false;
        break;
      }
    }
  }

  /** On load: if a training is running (started here before a reload, or elsewhere), follow it. */
  async #attachToActive(): Promise<void> {
    try {
      const ids = await this.#client.call('training.active', {});
      const id = ids[ids.length - 1];
      if (!id || this.run) return;
      const run = await this.#client.call('runs.get', { id });
      if (this.run) return;
      this.#show(run);
      this.datasetId = run.datasetId;
      await this.#loadHistory(run.id);
    } catch {
      /* nothing to follow; the page works without it */
    }
  }

  /** After a reconnect: reload the shown run (events were missed while the link was down). */
  async #resync(): Promise<void> {
    const run = this.run;
    if (!run) return this.#attachToActive();
    try {
      this.run = await this.#client.call('runs.get', { id: run.id });
      await this.#loadHistory(run.id);
    } catch (e) {
      this.banner = errorMessage(e);
    }
  }

  async #loadHistory(runId: string): Promise<void> {
    const m = await this.#client.call('runs.metrics', { id: runId, maxPoints: maxPointsForRange(null, 1, this.chartColumns * 2) });
    if (this.run?.id !== runId) return;
    this.steps.mergeHistory(m.steps);
    this.stepsVersion = this.steps.version;
    this.latest = this.steps.last();
    this.totalSteps = Math.max(this.totalSteps, m.totalSteps);
    let epochs = this.epochs;
    for (const p of m.epochs) epochs = upsertEpoch(epochs, p);
    this.epochs = epochs;
  }
}
