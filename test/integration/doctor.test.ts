import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { doctor, type DoctorReport } from '../../src-main/cli/doctor.ts';
import { probeBackend } from '../../src-main/trainer/probes.ts';

/** A stream that keeps what is written to it. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** Whether a package can be resolved from the project (the native tfjs packages are optional). */
function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

test('doctor --json: each backend probed in its own process; onnxruntime, wasm and cpu load, absent native packages are named', async () => {
  const out = capture();
  const err = capture();
  const code = await doctor({ out: out.stream, err: err.stream }, true);
  assert.equal(code, 0, err.text());
  const report = JSON.parse(out.text()) as DoctorReport;
  assert.deepEqual(
    report.backends.map((b) => b.target),
    ['tensorflow-gpu', 'tensorflow-cpu', 'onnxruntime', 'wasm', 'cpu'],
  );
  const by = Object.fromEntries(report.backends.map((b) => [b.target, b]));
  for (const t of ['onnxruntime', 'wasm', 'cpu'] as const) {
    assert.equal(by[t]!.ok, true, `${t}: ${by[t]!.reason}`);
    assert.equal(by[t]!.reason, null);
    assert.equal(by[t]!.backend, t);
    assert.match(by[t]!.device!, /CPU/);
    assert.match(by[t]!.tfjsVersion!, /^\d+\.\d+\.\d+/);
  }
  // onnxruntime trains on ONNX Runtime's native kernels (its version from the installed package) and evaluates in tfjs.
  const ortVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  assert.ok(by['onnxruntime']!.device!.includes(`ONNX Runtime ${ortVersion}`), by['onnxruntime']!.device!);
  assert.match(by['onnxruntime']!.device!, /\d+ threads?, /);
  assert.match(by['onnxruntime']!.device!, /evaluation on tfjs (WebAssembly|JavaScript)/);
  assert.doesNotMatch(by['wasm']!.device!, /ONNX Runtime/);
  for (const [t, pkg] of [
    ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'],
    ['tensorflow-cpu', '@tensorflow/tfjs-node'],
  ] as const) {
    if (installed(pkg)) continue; // where it is installed it may load; here (offline) it never is
    assert.equal(by[t]!.ok, false);
    assert.equal(by[t]!.backend, null);
    assert.ok(by[t]!.reason!.includes(pkg), `${t}'s reason names ${pkg}: ${by[t]!.reason}`);
    assert.match(by[t]!.reason!, /not installed/);
  }
  // The chosen backend is the first that loads in preference order: without tensorflow, onnxruntime.
  const first = report.backends.find((b) => b.ok)!;
  assert.equal(report.chosen?.target, first.target);
  assert.equal(report.chosen?.device, first.device);
  if (!installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu')) {
    assert.deepEqual(report.chosen, {
      target: 'onnxruntime',
      backend: 'onnxruntime',
      device: by['onnxruntime']!.device,
      tfjsVersion: by['onnxruntime']!.tfjsVersion,
    });
  }
  assert.equal(report.node, process.version);
  assert.equal(report.platform, process.platform);
  // Node 20 still has util.isArray and util.isNullOrUndefined; Node 23+ lacks them.
  const major = Number(process.versions.node.split('.')[0]);
  assert.equal(report.utilShimInstalled, major >= 23);
});

test('doctor prints a table naming every backend and the chosen one', async () => {
  const out = capture();
  const err = capture();
  const code = await doctor({ out: out.stream, err: err.stream }, false);
  assert.equal(code, 0, err.text());
  const text = out.text();
  const lines = text.split('\n');
  const labels = ['tensorflow GPU', 'tensorflow CPU', 'onnxruntime', 'wasm', 'cpu'];
  // One row per backend, in preference order, right under the header.
  assert.deepEqual(
    lines.slice(1, 1 + labels.length).map((l) => labels.find((label) => l.startsWith(`${label} `)) ?? l),
    labels,
    text,
  );
  assert.match(text, /^onnxruntime\s+yes\s+CPU \(.*ONNX Runtime \d+\.\d+\.\d+/m);
  assert.match(text, /^wasm\s+yes\s+CPU/m);
  assert.match(text, /^cpu\s+yes\s+CPU/m);
  if (!installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu')) {
    assert.match(text, /^tensorflow GPU\s+no\s+@tensorflow\/tfjs-node-gpu: not installed/m);
    assert.match(text, /^tensorflow CPU\s+no\s+@tensorflow\/tfjs-node: not installed/m);
    assert.match(text, /^chosen\s+onnxruntime: CPU \(.*ONNX Runtime/m);
  } else {
    assert.match(text, /^chosen\s+\S/m);
  }
  assert.match(text, new RegExp(`^node\\s+${process.version.replace(/\./g, '\\.')} on ${process.platform}`, 'm'));
  assert.throws(() => JSON.parse(text));
});

test('a probe that crashes or hangs is reported as not loading, with the reason', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vae-probe-'));
  try {
    const crash = path.join(dir, 'crash.mjs');
    fs.writeFileSync(crash, "process.stderr.write('native library failed\\n'); process.exit(3);\n");
    const hang = path.join(dir, 'hang.mjs');
    fs.writeFileSync(hang, 'setInterval(() => {}, 1000);\n');
    const crashed = await probeBackend('tensorflow-cpu', { entry: crash, execArgv: [] });
    assert.equal(crashed.ok, false);
    assert.match(crashed.reason!, /exited with code 3 without a report: native library failed/);
    const hung = await probeBackend('wasm', { entry: hang, execArgv: [], timeoutMs: 500 });
    assert.equal(hung.ok, false);
    assert.match(hung.reason!, /did not answer within 0.5 s/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
