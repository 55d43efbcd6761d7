/**
 * Web-mode transport: one WebSocket to `/ws?token=...` carrying the wire format of
 * src-main/contract/wire.ts. Requests made while the link is down wait for it (up to
 * `requestTimeoutMs`); requests in flight when it drops are rejected, since main may or may not
 * have run them. The socket reconnects with capped exponential backoff and jitter, so many tabs do
 * not hammer a restarting server in lockstep.
 */
import type { Result } from '../../../src-main/contract/index.ts';
import { TransportError } from './transport.ts';
import type { ConnectionStatus, EventListener, Transport } from './transport.ts';

/** The part of the DOM WebSocket this transport uses (so tests can hand in a fake). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type SocketFactory = (url: string) => SocketLike;

export interface Timers {
  setTimeout(cb: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Fraction of the delay randomised (0 = deterministic). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000, factor: 2, jitter: 0.2 };

/** Delay before reconnect attempt number `attempt` (1-based): initial * factor^(attempt-1), capped. */
export function backoffDelay(attempt: number, o: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(o.maxMs, o.initialMs * o.factor ** Math.max(0, attempt - 1));
  const spread = base * o.jitter;
  return Math.round(base - spread + 2 * spread * random());
}

export interface WebSocketTransportOptions {
  url: string;
  createSocket: SocketFactory;
  backoff?: BackoffOptions;
  /** How long a request may wait for the link plus its reply before it fails. */
  requestTimeoutMs?: number;
  timers?: Timers;
  random?: () => number;
  description?: string;
}

const OPEN = 1;

interface Pending {
  id: number;
  command: string;
  input: unknown;
  sent: boolean;
  timer: unknown;
  resolve: (r: Result<unknown>) => void;
  reject: (e: Error) => void;
}

/** Commands that run as long jobs with progress events: no request deadline. */
export const JOB_COMMANDS: ReadonlySet<string> = new Set(['datasets.import', 'runs.eval']);

export class WebSocketTransport implements Transport {
  readonly description: string;
  readonly #o: Required<Omit<WebSocketTransportOptions, 'description'>>;
  #socket: SocketLike | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<EventListener>();
  readonly #statusListeners = new Set<(s: ConnectionStatus) => void>();
  #status: ConnectionStatus = { state: 'connecting', attempts: 0, retryInMs: null };
  #retryTimer: unknown = null;
  #disposed = false;

  constructor(opts: WebSocketTransportOptions) {
    this.#o = {
      backoff: DEFAULT_BACKOFF,
      requestTimeoutMs: 60_000,
      timers: { setTimeout: (cb, ms) => setTimeout(cb, ms), clearTimeout: (h) => clearTimeout(h as number) },
      random: Math.random,
      ...opts,
    };
    this.description = opts.description ?? 'WebSocket';
    this.#connect();
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  onStatus(listener: (s: ConnectionStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => {
      this.#statusListeners.delete(listener);
    };
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  invoke(command: string, input: unknown): Promise<Result<unknown>> {
    if (this.#disposed) return Promise.reject(new TransportError('the connection to the studio is closed'));
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const p: Pending = { id, command, input, sent: false, timer: null, resolve, reject };
      // Jobs (an import of 70k files, an IWAE evaluation) may run for minutes; they report progress
      // through events and can be cancelled, so only quick commands get a deadline.
      if (!JOB_COMMANDS.has(command)) {
        p.timer = this.#o.timers.setTimeout(() => {
          this.#pending.delete(id);
          reject(new TransportError(`${command}: no answer from the studio within ${Math.round(this.#o.requestTimeoutMs / 1000)} s`));
        }, this.#o.requestTimeoutMs);
      }
      this.#pending.set(id, p);
      if (this.#socket?.readyState === OPEN) this.#send(p);
    });
  }

  /** Closes the link for good; pending requests fail. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#retryTimer !== null) this.#o.timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const s = this.#socket;
    this.#socket = null;
    if (s) {
      s.onopen = s.onclose = s.onmessage = s.onerror = null;
      s.close(1000, 'closed by the client');
    }
    this.#failPending(() => true, 'the connection to the studio is closed');
    this.#setStatus({ state: 'closed', attempts: this.#status.attempts, retryInMs: null });
  }

  #setStatus(s: ConnectionStatus): void {
    this.#status = s;
    for (const l of [...this.#statusListeners]) l(s);
  }

  #connect(): void {
    this.#retryTimer = null;
    let socket: SocketLike;
    try {
      socket = this.#o.createSocket(this.#o.url);
    } catch {
      this.#scheduleRetry();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      this.#setStatus({ state: 'connected', attempts: 0, retryInMs: null });
      for (const p of this.#pending.values()) if (!p.sent) this.#send(p);
    };
    socket.onmessage = (ev) => this.#onMessage(ev.data);
    socket.onerror = () => {
      /* a close event always follows; the retry is scheduled there */
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#failPending((p) => p.sent, 'the connection to the studio was lost before it answered');
      this.#scheduleRetry();
    };
  }

  #scheduleRetry(): void {
    if (this.#disposed) return;
    const attempts = this.#status.attempts + 1;
    const delay = backoffDelay(attempts, this.#o.backoff, this.#o.random);
    this.#setStatus({ state: 'reconnecting', attempts, retryInMs: delay });
    this.#retryTimer = this.#o.timers.setTimeout(() => this.#connect(), delay);
  }

  #send(p: Pending): void {
    try {
      this.#socket!.send(JSON.stringify({ id: p.id, command: p.command, input: p.input }));
      p.sent = true;
    } catch {
      /* the close event will fail or resend it */
    }
  }

  #failPending(which: (p: Pending) => boolean, message: string): void {
    for (const p of [...this.#pending.values()]) {
      if (!which(p)) continue;
      this.#pending.delete(p.id);
      this.#o.timers.clearTimeout(p.timer);
      p.reject(new TransportError(`${p.command}: ${message}`));
    }
  }

  #onMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // not ours: ignore rather than crash the view
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as Record<string, unknown>;
    if (typeof m.id === 'number' && typeof m.result === 'object' && m.result !== null) {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      this.#o.timers.clearTimeout(p.timer);
      p.resolve(m.result as Result<unknown>);
      return;
    }
    if (typeof m.event === 'string') {
      for (const l of [...this.#listeners]) {
        try {
          l(m.event, m.payload);
        } catch (e) {
          console.warn(`event listener for ${m.event} failed:`, e);
        }
      }
    }
  }
}
