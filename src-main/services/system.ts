/**
 * The system.doctor command: which compute backends load on this machine and why the others do not
 * (the compute panel of the UI; `vae-studio doctor` prints the same report). Probing forks one
 * process per backend (trainer/probes.ts) and takes 1-3 s, while the answer only changes when
 * someone installs a package or a driver, so the report is cached for a minute and concurrent
 * callers (the compute page and the status bar at start-up) share one probe.
 */
import type { DoctorReport, ProbeReport, ProbeTarget } from '../contract/system.ts';
import { StudioError } from '../contract/errors.ts';
import { PROBE_TARGETS, probeBackends, summarizeProbes } from '../trainer/probes.ts';

/** Runs one probe per target and answers in the order given. */
export type BackendProber = (targets: readonly ProbeTarget[]) => Promise<ProbeReport[]>;

/** How long a report is served from the cache. */
export const DOCTOR_TTL_MS = 60_000;

export interface SystemServiceOptions {
  /** Probes the backends; child_process.fork of the probe entry when omitted (see defaultProber). */
  prober?: BackendProber;
  ttlMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

export interface DoctorOptions {
  /** Probe again even when the cached report is still fresh. */
  refresh?: boolean;
}

/**
 * The prober for Node hosts (CLI, web mode, tests). Inside Electron, child_process.fork starts the
 * app's own binary and relies on ELECTRON_RUN_AS_NODE, which the packaged app disables (the
 * runAsNode fuse): it would launch a second copy of the app instead of a probe. The desktop host must
 * give a utilityProcess-based prober (setProber), as it does for trainers.
 */
export const defaultProber: BackendProber = (targets) => {
  if (process.versions['electron']) {
    return Promise.reject(
      new StudioError('INTERNAL', 'probing compute backends in the desktop app needs a utility-process prober, and none was set (services/system.ts setProber)'),
    );
  }
  return probeBackends(targets);
};

export class SystemService {
  #prober: BackendProber;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #cached: { report: DoctorReport; at: number } | null = null;
  #inflight: Promise<DoctorReport> | null = null;
  #probes = 0;

  constructor(opts: SystemServiceOptions = {}) {
    this.#prober = opts.prober ?? defaultProber;
    this.#ttlMs = opts.ttlMs ?? DOCTOR_TTL_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** How many times the backends were probed (each time runs one process per backend). */
  get probeCount(): number {
    return this.#probes;
  }

  /** When the cached report was made (clock ms), or null before the first probe. */
  get cachedAt(): number | null {
    return this.#cached?.at ?? null;
  }

  /** Replaces the prober (the desktop host's utility processes) and forgets the cached report. */
  setProber(prober: BackendProber): void {
    this.#prober = prober;
    this.#cached = null;
  }

  /**
   * The report: the cached one while it is younger than the TTL (unless `refresh`), else a new probe.
   * A call made while a probe runs waits for that probe rather than starting another: probing the
   * native backend twice at once only doubles the cost. A failed probe is not cached.
   */
  doctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
    if (this.#inflight) return this.#inflight;
    const c = this.#cached;
    if (!opts.refresh && c && this.#now() - c.at < this.#ttlMs) return Promise.resolve(c.report);
    this.#probes++;
    // Started on a microtask so that even a prober that throws at once settles through this chain.
    const run: Promise<DoctorReport> = Promise.resolve()
      .then(() => this.#prober(PROBE_TARGETS))
      .then((backends) => {
        const report = summarizeProbes(backends);
        this.#cached = { report, at: this.#now() };
        return report;
      })
      .finally(() => {
        if (this.#inflight === run) this.#inflight = null;
      });
    this.#inflight = run;
    return run;
  }
}

/** The process's one service: the machine's backends are the same for every studio in it. */
export const system = new SystemService();

/** The system.doctor handler (its input is empty). */
export function systemDoctor(): Promise<DoctorReport> {
  return system.doctor();
}
