/**
 * The renderer talks to main through one small interface with two implementations: Electron IPC
 * (the preload bridge) and a WebSocket (web mode). Everything above it is transport-agnostic.
 */
import type { Result } from '../../../src-main/contract/index.ts';

export type ConnectionState =
  /** First connection attempt in progress. */
  | 'connecting'
  | 'connected'
  /** The link dropped; waiting to retry (see `retryInMs`). */
  | 'reconnecting'
  /** Closed on purpose (the transport was disposed). */
  | 'closed';

export interface ConnectionStatus {
  state: ConnectionState;
  /** Consecutive failed attempts since the last successful connection. */
  attempts: number;
  /** Delay before the next attempt, when reconnecting. */
  retryInMs: number | null;
}

export type EventListener = (event: string, payload: unknown) => void;

export interface Transport {
  /** Sends one command; resolves with main's Result, rejects with TransportError if the link fails. */
  invoke(command: string, input: unknown): Promise<Result<unknown>>;
  /** Receives every event main pushes; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void;
  /** The link's state, for the status bar. */
  readonly status: ConnectionStatus;
  /** Called on every state change; returns the unsubscribe function. */
  onStatus(listener: (status: ConnectionStatus) => void): () => void;
  /** A short description of the transport, e.g. "Electron IPC" or "WebSocket 127.0.0.1:5170". */
  readonly description: string;
}

/** The command never got an answer because the link to main failed (not an error main reported). */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportError';
  }
}
