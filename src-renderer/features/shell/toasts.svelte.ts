/**
 * In-page notifications: a short stack of toasts at the bottom right. A run that finishes or fails
 * after running a while (main emits runs.finished) shows one with its name, its status and an "Open
 * run" action; in the desktop app main shows a native notification as well. Toasts leave by
 * themselves after a while unless the pointer or the focus is on them.
 */
import type { Events } from '../../../src-main/contract/index.ts';
import type { Client } from '../../lib/api/client.ts';
import { formatDuration } from '../../lib/util/format.ts';

export interface Toast {
  id: number;
  tone: 'ok' | 'danger' | 'info';
  title: string;
  body: string;
  /** The run an "Open run" action opens. */
  runId: string | null;
}

/** How long a toast stays, in ms (it stays while hovered or focused). */
export const TOAST_MS = 12_000;
/** At most this many toasts at once; the oldest leaves first. */
export const MAX_TOASTS = 4;

/** The toast for a runs.finished event. */
export function finishedToast(e: Events['runs.finished']): Omit<Toast, 'id'> {
  const failed = e.status === 'failed';
  const took = e.durationMs !== null ? ` after ${formatDuration(e.durationMs)}` : '';
  return {
    tone: failed ? 'danger' : e.status === 'completed' ? 'ok' : 'info',
    title: `${e.name} ${failed ? 'failed' : e.status === 'completed' ? 'finished' : e.status}`,
    body: failed ? (e.error ?? `The run failed${took}.`) : `Training ${e.status}${took}.`,
    runId: e.runId,
  };
}

export class ToastsState {
  toasts = $state<Toast[]>([]);
  #next = 1;
  // Timers are bookkeeping, never rendered: a plain Map.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #timers = new Map<number, ReturnType<typeof setTimeout>>();

  constructor(client: Client) {
    client.on('runs.finished', (e) => this.push(finishedToast(e)));
  }

  push(t: Omit<Toast, 'id'>): number {
    const id = this.#next++;
    this.toasts = [...this.toasts, { ...t, id }].slice(-MAX_TOASTS);
    this.arm(id);
    return id;
  }

  dismiss(id: number): void {
    this.hold(id);
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  /** Keeps a toast (pointer or focus on it). */
  hold(id: number): void {
    const timer = this.#timers.get(id);
    if (timer) clearTimeout(timer);
    this.#timers.delete(id);
  }

  /** (Re)starts a toast's countdown. */
  arm(id: number): void {
    this.hold(id);
    this.#timers.set(
      id,
      setTimeout(() => this.dismiss(id), TOAST_MS),
    );
  }
}
