/**
 * The Train page: the hyperparameter form, starting and stopping a run, and the live metrics of
 * the run on screen. Progress arrives as events; the first ones can come before the answer to
 * training.start (main emits 'running' while starting), so events of unknown runs are kept while a
 * start is in flight and replayed once its run id is known.
 */
import { ACTIVE_STATUSES, DEFAULT_CONFIG } from '../../../src-main/contract/index.ts';
import type { BackendInfo, EpochPoint, Events, RunSummary, StepPoint } from '../../../src-main/contract/index.ts';
import { ClientError, errorMessage } from '../api/client.ts';
import type { Client } from '../api/client.ts';
import { StepSeries, upsertEpoch } from '../charts/series.ts';
import { checkForm, fieldForPath, formFromConfig } from '../util/config-form.ts';
import type { FieldErrors, FieldKey, FormValues } from '../util/config-form.ts';
import { onReconnect } from '../util/reconnect.ts';

export const BUILTIN_DIGITS_ID = 'builtin-digits';

type Stashed =
  | { kind: 'progress'; payload: Events['training.progress'] }
  | { kind: 'epoch'; payload: Events['training.epoch'] }
  | { kind: 'status'; payload: Events['training.status'] };

const DEFAULT_FORM = formFromConfig(DEFAULT_CONFIG);

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

  #stash: Map<string, Stashed[]> | null = null;

  constructor(client: Client) {
    this.#client = client;
    client.on('training.progress', (p) => this.#route({ kind: 'progress', payload: p }));
    client.on('training.epoch', (p) => this.#route({ kind: 'epoch', payload: p }));
    client.on('training.status', (p) => this.#route({ kind: 'status', payload: p }));
    onReconnect(client, () => void this.#resync());
    void this.#attachToActive();
  }

  get active(): boolean {
    return this.run !== null && ACTIVE_STATUSES.includes(this.run.status);
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

  /** Shows a run from scratch (new start or attach): empty series, its summary. */
  #show(run: RunSummary): void {
    this.run = run;
    this.steps.reset();
    this.stepsVersion = this.steps.version;
    this.latest = null;
    this.epochs = [];
    this.stopping = false;
    this.backend = null;
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
        }
        break;
      case 'epoch':
        this.epochs = upsertEpoch(this.epochs, ev.payload.point);
        this.run = { ...run, epochsDone: Math.max(run.epochsDone, this.epochs.length), last: ev.payload.point };
        break;
      case 'status': {
        const { status, error, backend } = ev.payload;
        const next: RunSummary = { ...run, status, error };
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
    const m = await this.#client.call('runs.metrics', { id: runId, maxPoints: 5000 });
    if (this.run?.id !== runId) return;
    this.steps.mergeHistory(m.steps);
    this.stepsVersion = this.steps.version;
    this.latest = this.steps.last();
    let epochs = this.epochs;
    for (const p of m.epochs) epochs = upsertEpoch(epochs, p);
    this.epochs = epochs;
  }
}
