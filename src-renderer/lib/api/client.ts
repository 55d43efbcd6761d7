/**
 * A typed client over a Transport: `call` resolves with the command's output or throws a
 * ClientError carrying main's error code; `on` subscribes to one event with its payload type.
 */
import type {
  CommandInput,
  CommandName,
  CommandOutput,
  ErrorCode,
  EventName,
  Events,
} from '../../../src-main/contract/index.ts';
import { TransportError } from './transport.ts';
import type { ConnectionStatus, Transport } from './transport.ts';

/** `DISCONNECTED`: the request was lost with the link; main may or may not have run it. */
export type ClientErrorCode = ErrorCode | 'DISCONNECTED';

export class ClientError extends Error {
  readonly code: ClientErrorCode;
  /** Dotted path of the offending input field (INVALID_INPUT). */
  readonly field: string | undefined;
  readonly command: string;
  constructor(command: string, code: ClientErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'ClientError';
    this.command = command;
    this.code = code;
    this.field = field;
  }
}

export function isClientError(e: unknown): e is ClientError {
  return e instanceof ClientError;
}

/** A readable message for any error a call can throw. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

type AnyCallback = (payload: unknown) => void;

export class Client {
  readonly transport: Transport;
  readonly #listeners = new Map<string, Set<AnyCallback>>();
  #unsubscribe: (() => void) | null = null;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  async call<K extends CommandName>(command: K, input: CommandInput<K>): Promise<CommandOutput<K>> {
    let result;
    try {
      result = await this.transport.invoke(command, input);
    } catch (e) {
      if (e instanceof TransportError) throw new ClientError(command, 'DISCONNECTED', e.message);
      throw new ClientError(command, 'INTERNAL', errorMessage(e));
    }
    if (result.ok) return result.value as CommandOutput<K>;
    const { code, message, field } = result.error;
    throw new ClientError(command, code, message, field);
  }

  on<E extends EventName>(event: E, cb: (payload: Events[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    const wrapped = cb as AnyCallback;
    set.add(wrapped);
    this.#ensureSubscribed();
    return () => {
      set.delete(wrapped);
    };
  }

  get status(): ConnectionStatus {
    return this.transport.status;
  }

  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    return this.transport.onStatus(listener);
  }

  /** One transport subscription fans out to the per-event listeners. */
  #ensureSubscribed(): void {
    if (this.#unsubscribe) return;
    this.#unsubscribe = this.transport.subscribe((event, payload) => {
      const set = this.#listeners.get(event);
      if (!set) return;
      for (const cb of [...set]) {
        try {
          cb(payload);
        } catch (e) {
          // A failing view must not stop the others from receiving the event.
          console.warn(`listener for ${event} failed:`, e);
        }
      }
    });
  }
}
