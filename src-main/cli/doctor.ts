/**
 * `vae-studio doctor`: which compute backends load on this machine and why not, the one training
 * would choose, its device and tfjs version, and the Node facts that matter to the native backend.
 * Each backend is probed in a process of its own (trainer/probes.ts), as the trainer would load it.
 */
import type { DoctorReport, ProbeTarget } from '../contract/system.ts';
import { probeBackends, PROBE_TARGETS, summarizeProbes } from '../trainer/probes.ts';

export type { DoctorReport } from '../contract/system.ts';

export interface DoctorIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

const LABELS: Record<ProbeTarget, string> = {
  'tensorflow-gpu': 'tensorflow GPU',
  'tensorflow-cpu': 'tensorflow CPU',
  onnxruntime: 'onnxruntime',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** Builds the report from probe results given in preference order. */
export const summarize = summarizeProbes;

function formatTable(r: DoctorReport): string {
  const rows = r.backends.map((b) => [LABELS[b.target], b.ok ? 'yes' : 'no', b.ok ? `${b.device} (tfjs ${b.tfjsVersion}, ${b.ms} ms)` : (b.reason ?? '')]);
  const header = ['backend', 'loads', 'device / why not'];
  const w0 = Math.max(header[0]!.length, ...rows.map((x) => x[0]!.length));
  const w1 = Math.max(header[1]!.length, ...rows.map((x) => x[1]!.length));
  const line = (c: string[]) => `${c[0]!.padEnd(w0)}  ${c[1]!.padEnd(w1)}  ${c[2]}`.trimEnd();
  const shim =
    r.utilShimInstalled === null
      ? 'unknown'
      : r.utilShimInstalled
        ? 'installed (this Node lacks util.isArray / util.isNullOrUndefined, which tfjs-node calls)'
        : 'not needed (this Node still has util.isArray / util.isNullOrUndefined)';
  const chosen = r.chosen ? `${LABELS[r.chosen.target]}: ${r.chosen.device}, tfjs ${r.chosen.tfjsVersion}` : 'none: no backend loads';
  return [
    line(header),
    ...rows.map(line),
    '',
    `chosen      ${chosen}`,
    `node        ${r.node} on ${r.platform} ${r.arch}`,
    `util shim   ${shim}`,
    '',
  ].join('\n');
}

/** Prints the report (a table, or one JSON object with `json`); 0 when at least one backend loads. */
export async function doctor(io: DoctorIo, json: boolean): Promise<number> {
  const report = summarize(await probeBackends(PROBE_TARGETS));
  io.out.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatTable(report));
  if (!report.chosen) {
    io.err.write('vae-studio: no compute backend loads here; reinstall the app (the onnxruntime, wasm and cpu backends ship with it)\n');
    return 1;
  }
  return 0;
}
