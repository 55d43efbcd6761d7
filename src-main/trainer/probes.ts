/**
 * Asks each compute backend, in a process of its own (probe.ts), whether it loads here and why not:
 * the facts behind `vae-studio doctor`. The order is the trainer's order of preference
 * (ENGINEERING.md section 6): tfjs-node-gpu, tfjs-node, wasm, cpu.
 */
import { fork } from 'node:child_process';
import type { DoctorReport, ProbeReport, ProbeTarget } from '../contract/system.ts';
import { resolveEntry } from './fork.ts';

// The report shapes are the contract's (the UI shows them); re-exported for the probe process.
export type { DoctorReport, ProbeReport, ProbeTarget } from '../contract/system.ts';

export const PROBE_TARGETS: readonly ProbeTarget[] = ['tensorflow-gpu', 'tensorflow-cpu', 'onnxruntime', 'wasm', 'cpu'];

export function isProbeTarget(s: string): s is ProbeTarget {
  return (PROBE_TARGETS as readonly string[]).includes(s);
}

export interface ProbeOptions {
  /** A probe that has not answered by then is killed and reported as not loading. Default 60 s. */
  timeoutMs?: number;
  /** The probe entry and its Node options; resolved like the trainer's entry (fork.ts) when omitted. */
  entry?: string;
  execArgv?: string[];
}

/** Runs one probe process for `target`; never rejects (a failure to start or answer is a reason). */
export function probeBackend(target: ProbeTarget, opts: ProbeOptions = {}): Promise<ProbeReport> {
  const failed = (reason: string): ProbeReport => failedProbe(target, reason);
  let resolved: { entry: string; execArgv: string[] };
  try {
    resolved = opts.entry ? { entry: opts.entry, execArgv: opts.execArgv ?? [] } : resolveEntry('probe');
  } catch (err) {
    return Promise.resolve(failed(err instanceof Error ? err.message : String(err)));
  }
  return new Promise((resolve) => {
    const child = fork(resolved.entry, [target], {
      execArgv: opts.execArgv ?? resolved.execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
    let settled = false;
    const finish = (r: ProbeReport) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(failed(`the probe did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('error', (e) => finish(failed(`the probe could not start: ${e.message}`)));
    child.on('close', (code, signal) => finish(readProbeOutput(target, out, err, code, signal)));
  });
}

/** A report for a probe that could not say anything itself. */
export function failedProbe(target: ProbeTarget, reason: string): ProbeReport {
  return {
    target,
    ok: false,
    reason,
    backend: null,
    device: null,
    tfjsVersion: null,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    utilShimInstalled: null,
    ms: 0,
  };
}

/**
 * The report in a finished probe's output. tfjs may print banners on stdout: the report is the last
 * line that parses as one. Shared with the Electron prober (utility processes).
 */
export function readProbeOutput(target: ProbeTarget, out: string, err: string, code: number | null, signal: string | null): ProbeReport {
  const lines = out.split('\n').filter((l) => l.trim().startsWith('{'));
  for (const line of lines.reverse()) {
    try {
      const r = JSON.parse(line) as ProbeReport;
      if (r && r.target === target && typeof r.ok === 'boolean') return r;
    } catch {
      // not the report line
    }
  }
  const lastErr = err.trim().split('\n').filter(Boolean).pop() ?? '';
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  return failedProbe(target, `the probe ${how} without a report${lastErr ? `: ${lastErr}` : ''}`);
}

/** Probes every target (in parallel, one process each) and answers in preference order. */
export function probeBackends(targets: readonly ProbeTarget[] = PROBE_TARGETS, opts: ProbeOptions = {}): Promise<ProbeReport[]> {
  return Promise.all(targets.map((t) => probeBackend(t, opts)));
}

/**
 * The doctor's report from probe results given in preference order: the chosen backend is the first
 * that loads, as the trainer on 'auto' would choose. Shared by `vae-studio doctor` and the
 * system.doctor command (services/system.ts).
 */
export function summarizeProbes(backends: ProbeReport[]): DoctorReport {
  const first = backends.find((b) => b.ok);
  return {
    chosen: first ? { target: first.target, backend: first.backend ?? '', device: first.device ?? '', tfjsVersion: first.tfjsVersion ?? '' } : null,
    backends,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    utilShimInstalled: backends.find((b) => b.utilShimInstalled !== null)?.utilShimInstalled ?? null,
  };
}
