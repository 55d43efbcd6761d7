/**
 * Desktop notifications for long runs: when the studio emits 'runs.finished' (a run that trained at
 * least 30 s completed or failed on its own, services/training.ts), main shows a native
 * Notification with the run's final -ELBO or its error; clicking it brings the window forward and
 * opens the run there (an 'app.open' event to the window's renderer, whose App navigates to it).
 * Only `import type` from 'electron': main.ts injects the real Notification, so this is
 * unit-tested with fakes like the other electron/*.ts files.
 */
import { eventChannel, type EventName, type Events, type Result, type RunSummary } from '../contract/index.ts';

export type RunFinished = Events['runs.finished'];

/** The part of Electron's Notification used here. */
export interface NotificationLike {
  on(event: 'click', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  show(): void;
}

export interface NotifierDeps {
  /** Notification.isSupported(). */
  isSupported(): boolean;
  /** new Notification(options). */
  create(options: { title: string; body: string }): NotificationLike;
  /**
   * Brings the studio window forward (restored, focused; created when there is none) and returns
   * its web contents, where the run is then opened; null when there is no window to open it in.
   */
  focus(runId: string): OpenTarget | null;
}

/** The part of a window's WebContents that opening a run in it needs. */
export interface OpenTarget {
  send(channel: string, payload: unknown): void;
  isDestroyed(): boolean;
  /** True while the window's page loads (a window just created for the click). */
  isLoading(): boolean;
  once(event: 'did-finish-load', listener: () => void): unknown;
}

/**
 * Tells the window's renderer to open run `runId` (the 'app.open' event on its event channel). A
 * page still loading gets it once loaded: its App has subscribed to events by then.
 */
export function openRunInWindow(target: OpenTarget, runId: string): void {
  const payload: Events['app.open'] = { page: 'runs', id: runId };
  const send = () => {
    if (!target.isDestroyed()) target.send(eventChannel('app.open'), payload);
  };
  if (target.isLoading()) target.once('did-finish-load', send);
  else send();
}

/** What a studio offers the notifier: its events, and runs.get for the final numbers. */
export interface NotifierStudio {
  subscribe(listener: <E extends EventName>(event: E, payload: Events[E]) => void): () => void;
  dispatch(command: string, input: unknown): Promise<Result<unknown>>;
}

/** "2 min 5 s", "45 s", "1 h 3 min". */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

const MAX_ERROR_CHARS = 180;

/** The notification's title and body for a finished run (`run` adds its final metrics when known). */
export function describeFinishedRun(p: RunFinished, run: RunSummary | null): { title: string; body: string } {
  const took = p.durationMs !== null ? ` after ${formatDuration(p.durationMs)}` : '';
  if (p.status === 'failed') {
    const err = (p.error ?? run?.error ?? 'unknown error').replace(/\s+/g, ' ').trim();
    const short = err.length > MAX_ERROR_CHARS ? `${err.slice(0, MAX_ERROR_CHARS - 1)}…` : err;
    return { title: `${p.name} failed`, body: `Failed${took}: ${short}` };
  }
  const last = run?.last ?? null;
  const metric = last
    ? last.valNegElbo !== null
      ? `validation -ELBO ${last.valNegElbo.toFixed(2)} nats`
      : `-ELBO ${last.negElbo.toFixed(2)} nats`
    : null;
  const epochs = last ? `, ${last.epoch} epoch${last.epoch === 1 ? '' : 's'}` : '';
  return {
    title: `${p.name} ${p.status === 'completed' ? 'finished' : p.status}`,
    body: metric ? `Final ${metric}${epochs}${took}.` : `The run ended${took}.`,
  };
}

/**
 * Shows a native notification for every 'runs.finished' event of `studio`; returns the unsubscribe
 * function. Shown notifications are kept referenced until closed or clicked, so that their click
 * handler survives garbage collection.
 */
export function subscribeRunNotifications(studio: NotifierStudio, deps: NotifierDeps): () => void {
  const live = new Set<NotificationLike>();
  return studio.subscribe((event, payload) => {
    if (event !== 'runs.finished' || !deps.isSupported()) return;
    const p = payload as RunFinished;
    void studio
      .dispatch('runs.get', { id: p.runId })
      .then((r) => (r.ok ? (r.value as RunSummary) : null), () => null)
      .then((run) => {
        const n = deps.create(describeFinishedRun(p, run));
        live.add(n);
        n.on('click', () => {
          live.delete(n);
          const target = deps.focus(p.runId);
          if (target) openRunInWindow(target, p.runId);
        });
        n.on('close', () => live.delete(n));
        n.show();
      });
  });
}
