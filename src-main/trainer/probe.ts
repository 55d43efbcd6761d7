/**
 * A backend probe process: `probe.ts <target>` tries to load exactly one compute backend
 * (tensorflow-gpu, tensorflow-cpu, onnxruntime, wasm or cpu) with the trainer's own loaders (backend.ts), runs a
 * tiny computation on it, prints one JSON line (a ProbeReport) on stdout and exits 0. One process per
 * target, because tfjs backends (tfjs-node above all) cannot be loaded twice in one process, and a
 * native library that crashes on load takes only its probe down. Started by probes.ts.
 */
import { TrainConfigSchema } from '../contract/config.ts';
import { checkNativeStep } from '../core/ort/engine.ts';
import { installNodeUtilShim, loadExactBackend, type ProbeTarget } from './backend.ts';
import { isProbeTarget, PROBE_TARGETS, type ProbeReport } from './probes.ts';

async function probe(target: ProbeTarget): Promise<ProbeReport> {
  const t0 = performance.now();
  // Called first so the report says whether this Node needed the shim (it is idempotent).
  const utilShimInstalled = installNodeUtilShim();
  const report: ProbeReport = {
    target,
    ok: false,
    reason: null,
    backend: null,
    device: null,
    tfjsVersion: null,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    utilShimInstalled,
    ms: 0,
  };
  try {
    const { tf, info, ort } = await loadExactBackend(target);
    // Loading is not enough: check that it computes (an elementwise op, a reduction and a matMul).
    const check = tf.tidy(() => {
      const sum = tf.tensor1d([1, 2, 3]).square().sum();
      const prod = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6], [2, 1]));
      return tf.concat([sum.reshape([1]), prod.reshape([2])]);
    });
    const got = Array.from(await check.data());
    check.dispose();
    if (got[0] !== 14 || got[1] !== 17 || got[2] !== 39) throw new Error(`loaded, but computed wrong values: [${got.join(', ')}] instead of [14, 17, 39]`);
    // The native step engine: one step of a tiny model with a known loss.
    if (ort) await checkNativeStep(ort, TrainConfigSchema.parse({}));
    Object.assign(report, { ok: true, backend: info.backend, device: info.device, tfjsVersion: info.tfjsVersion });
  } catch (err) {
    report.reason = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? String(err);
  }
  report.ms = Math.round(performance.now() - t0);
  return report;
}

const target = process.argv[2] ?? '';
if (isProbeTarget(target)) {
  const report = await probe(target);
  process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
} else {
  process.stderr.write(`usage: probe <${PROBE_TARGETS.join('|')}>; got '${target}'\n`);
  process.exitCode = 2;
}
