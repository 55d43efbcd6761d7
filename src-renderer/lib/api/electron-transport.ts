/**
 * Electron transport: the preload's `window.vaeStudio` bridge (one function per command). IPC has
 * no connection to lose, so its state is always 'connected'.
 */
import { EVENT_NAMES } from '../../../src-main/contract/index.ts';
import type { PreloadApi, Result } from '../../../src-main/contract/index.ts';
import { TransportError } from './transport.ts';
import type { ConnectionStatus, EventListener, Transport } from './transport.ts';

export class ElectronTransport implements Transport {
  readonly description = 'Electron IPC';
  readonly status: ConnectionStatus = { state: 'connected', attempts: 0, retryInMs: null };
  readonly #api: PreloadApi;

  constructor(api: PreloadApi) {
    this.#api = api;
  }

  invoke(command: string, input: unknown): Promise<Result<unknown>> {
    const fn = (this.#api.commands as Record<string, ((input: unknown) => Promise<Result<unknown>>) | undefined>)[command];
    if (typeof fn !== 'function') {
      return Promise.resolve({ ok: false, error: { code: 'UNKNOWN_COMMAND', message: `unknown command "${command}"` } });
    }
    return fn(input).catch((e: unknown) => {
      throw new TransportError(`${command}: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  subscribe(listener: EventListener): () => void {
    const offs = EVENT_NAMES.map((name) => this.#api.on(name, (payload) => listener(name, payload)));
    return () => {
      for (const off of offs) off();
    };
  }

  onStatus(): () => void {
    return () => {};
  }
}
