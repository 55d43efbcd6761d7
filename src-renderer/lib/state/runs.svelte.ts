/**
 * The run history: the list (refreshed, debounced, on runs.changed / training.status) and the
 * detail of one selected run with its curves, which keep growing while that run trains.
 */
import { ACTIVE_STATUSES } from '../../../src-main/contract/index.ts';
import type { EpochPoint, RunSummary } from '../../../src-main/contract/index.ts';
import { ClientError, errorMessage } from '../api/client.ts';
import type { Client } from '../api/client.ts';
import { StepSeries, upsertEpoch } from '../charts/series.ts';
import { onReconnect } from '../util/reconnect.ts';
import { sortRuns } from '../util/runs.ts';

export { runDuration, sortRuns } from '../util/runs.ts';

export class RunsState {
  readonly #client: Client;
  runs = $state.raw<RunSummary[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** Wall clock for the durations of running runs, ticking while any runs. */
  now = $state(Date.now());

  selectedId = $state<string | null>(null);
  detailError = $state<string | null>(null);
  detailLoading = $state(false);
  readonly steps = new StepSeries();
  stepsVersion = $state(0);
  totalSteps = $state(0);
  epochs = $state.raw<EpochPoint[]>([]);
  stopping = $state<Record<string, boolean>>({});

  #refreshTimer: ReturnType<typeof setTimeout> | null = null;
  #ticker: ReturnType<typeof setInterval> | null = null;
  #detailToken = 0;

  constructor(client: Client) {
    this.#client = client;
    client.on('runs.changed', () => this.scheduleRefresh());
    client.on('training.status', () => this.scheduleRefresh());
    client.on('training.progress', ({ runId, points }) => {
      if (runId !== this.selectedId || this.detailLoading) return;
      if (this.steps.append(points) > 0) {
        this.stepsVersion = this.steps.version;
        this.totalSteps = Math.max(this.totalSteps, this.steps.length);
      }
    });
    client.on('training.epoch', ({ runId, point }) => {
      if (runId === this.selectedId) this.epochs = upsertEpoch(this.epochs, point);
    });
    onReconnect(client, () => {
      void this.refresh();
      if (this.selectedId) void this.select(this.selectedId);
    });
  }

  get selected(): RunSummary | null {
    return this.runs.find((r) => r.id === this.selectedId) ?? null;
  }

  scheduleRefresh(delayMs = 200): void {
    if (this.#refreshTimer) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = null;
      void this.refresh();
    }, delayMs);
  }

  async refresh(): Promise<void> {
    try {
      this.runs = sortRuns(await this.#client.call('runs.list', {}));
      this.error = null;
      this.loaded = true;
      this.#updateTicker();
    } catch (e) {
      this.error = errorMessage(e);
    }
  }

  /** Opens a run's detail (null closes it) and loads its curves. */
  async select(id: string | null): Promise<void> {
    this.selectedId = id;
    this.detailError = null;
    const token = ++this.#detailToken;
    this.steps.reset();
    this.stepsVersion = this.steps.version;
    this.epochs = [];
    this.totalSteps = 0;
    if (!id) return;
    this.detailLoading = true;
    try {
      const m = await this.#client.call('runs.metrics', { id, maxPoints: 4000 });
      if (token !== this.#detailToken) return;
      this.steps.reset(m.steps);
      this.stepsVersion = this.steps.version;
      this.totalSteps = m.totalSteps;
      this.epochs = m.epochs;
    } catch (e) {
      if (token !== this.#detailToken) return;
      this.detailError = e instanceof ClientError && e.code === 'NOT_FOUND' ? 'This run no longer exists.' : errorMessage(e);
    } finally {
      if (token === this.#detailToken) this.detailLoading = false;
    }
  }

  async stop(id: string): Promise<void> {
    this.stopping = { ...this.stopping, [id]: true };
    try {
      await this.#client.call('training.stop', { runId: id });
    } catch (e) {
      if (!(e instanceof ClientError && e.code === 'CONFLICT')) this.error = `Could not stop the run: ${errorMessage(e)}`;
    } finally {
      this.scheduleRefresh(0);
    }
  }

  isStopping(id: string): boolean {
    const run = this.runs.find((r) => r.id === id);
    return !!this.stopping[id] && !!run && ACTIVE_STATUSES.includes(run.status);
  }

  /** Runs ticking the clock only while something is running keeps an idle studio idle. */
  #updateTicker(): void {
    const anyActive = this.runs.some((r) => ACTIVE_STATUSES.includes(r.status));
    if (anyActive && !this.#ticker) {
      this.#ticker = setInterval(() => (this.now = Date.now()), 1000);
    } else if (!anyActive && this.#ticker) {
      clearInterval(this.#ticker);
      this.#ticker = null;
      this.now = Date.now();
    }
  }
}
