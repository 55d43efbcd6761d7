/**
 * What the compute page and the status bar know about the machine's backends: the report of
 * system.doctor. Main probes every backend in a process of its own (about 1-3 s) and keeps the
 * report for a minute, so asking again soon after is cheap.
 */
import type { DoctorReport } from '../../../src-main/contract/index.ts';
import { errorMessage } from '../../lib/api/client.ts';
import type { Client } from '../../lib/api/client.ts';
import { onReconnect } from '../../lib/util/reconnect.ts';

export class ComputeState {
  readonly #client: Client;
  report = $state.raw<DoctorReport | null>(null);
  error = $state<string | null>(null);
  loading = $state(false);
  /** Milliseconds the probe in progress has taken so far (progress read-out). */
  elapsedMs = $state(0);
  /** When the shown report arrived (browser clock). */
  receivedAt = $state<number | null>(null);
  #inflight: Promise<void> | null = null;

  constructor(client: Client) {
    this.#client = client;
    onReconnect(client, () => void this.load());
  }

  /** Asks main for the report; concurrent calls share one request. */
  load(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    this.#inflight = this.#load().finally(() => (this.#inflight = null));
    return this.#inflight;
  }

  async #load(): Promise<void> {
    this.loading = true;
    this.elapsedMs = 0;
    const t0 = performance.now();
    const tick = setInterval(() => (this.elapsedMs = performance.now() - t0), 100);
    try {
      this.report = await this.#client.call('system.doctor', {});
      this.receivedAt = Date.now();
      this.error = null;
    } catch (e) {
      this.error = errorMessage(e);
    } finally {
      clearInterval(tick);
      this.loading = false;
    }
  }
}
