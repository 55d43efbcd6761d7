/**
 * Chooses the compute backend for one trainer process, in the order of preference measured for
 * this project (ENGINEERING.md section 6): tensorflow (tfjs-node-gpu, then tfjs-node) >
 * onnxruntime (the native training step, core/ort: ONNX Runtime's CPU kernels for the steps, tfjs
 * wasm for everything else) > wasm > cpu.
 * The native packages are optional dependencies that are often absent (their install downloads
 * libtensorflow), so each candidate is tried at run time and the reason it did not load is kept
 * in BackendInfo.skipped. An explicit choice starts the order at that backend: asking for
 * 'tensorflow' on a machine without it still trains (on wasm), and says why.
 */
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainConfig } from '../contract/config.ts';
import type { BackendInfo } from '../contract/types.ts';
import { availableCores, registerReplicaWorker, resolveThreads } from '../core/parallel/engine.ts';
import type { Tf } from '../core/tf.ts';
import { installWasmKernels } from './wasm-kernels.ts';
import type { OrtRuntime } from '../core/ort/engine.ts';
import { stepGraphUnsupported } from '../core/ort/vae-step.ts';
import type * as WasmBackend from '@tensorflow/tfjs-backend-wasm';

/** What a run may ask for: 'auto' picks the best backend that loads. */
export type BackendChoice = TrainConfig['backend'];

/**
 * tfjs is loaded with require, never bundled: tfjs-node, the wasm backend and the layers API must
 * all share the one @tensorflow/tfjs-core instance (its engine and kernel registry) in node_modules.
 */
const require = createRequire(import.meta.url);

const ORDER = ['tensorflow', 'onnxruntime', 'wasm', 'cpu'] as const;
type BackendName = (typeof ORDER)[number];

export interface SelectedBackend {
  tf: Tf;
  info: BackendInfo;
  /** onnxruntime-node, when the backend is 'onnxruntime': the training steps run in it (core/ort/engine.ts). */
  ort?: OrtRuntime;
  /** ONNX Runtime's intra-op threads for the native step. */
  threads?: number;
}

function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND') {
    const first = String(e.message ?? '').split('\n')[0] ?? '';
    return `not installed (${first})`;
  }
  return String(e?.message ?? err).split('\n')[0] ?? String(err);
}

/**
 * tfjs-node 4.22 calls util.isNullOrUndefined and util.isArray, which Node 23+ removed (Electron
 * 40+ embeds Node 24). Put them back before it loads; they are pure functions, harmless to add.
 * Returns whether anything was added (false on Node <= 22, where both still exist).
 */
export function installNodeUtilShim(): boolean {
  const util = require('node:util') as Record<string, unknown>;
  let installed = false;
  if (typeof util['isNullOrUndefined'] !== 'function') {
    util['isNullOrUndefined'] = (v: unknown) => v === null || v === undefined;
    installed = true;
  }
  if (typeof util['isArray'] !== 'function') {
    util['isArray'] = Array.isArray;
    installed = true;
  }
  return installed;
}

function cpuName(): string {
  const model = os.cpus()[0]?.model?.trim();
  return model && model !== 'unknown' ? model : os.arch();
}

function gpuName(): string | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });
    const name = out.split('\n')[0]?.trim();
    return name ? name : null;
  } catch {
    return null;
  }
}

/** The native TensorFlow packages, GPU build first (ENGINEERING.md section 6). */
export const TENSORFLOW_PACKAGES = [
  ['@tensorflow/tfjs-node-gpu', true],
  ['@tensorflow/tfjs-node', false],
] as const;

/** Loads one native package and makes its 'tensorflow' backend active; throws why it could not. */
async function loadTensorflowPackage(pkg: string, gpu: boolean): Promise<SelectedBackend> {
  const tf = require(pkg) as Tf;
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its 'tensorflow' backend did not initialise`);
  await tf.ready();
  const threads = os.cpus().length;
  const cpu = `CPU (${threads} threads, ${cpuName()})`;
  // tfjs-node-gpu silently runs on the CPU when CUDA finds no device; say so rather than claim a GPU.
  const gpuDevice = gpu ? gpuName() : null;
  const device = gpu ? (gpuDevice ? `GPU (${gpuDevice})` : `${cpu}; tfjs-node-gpu found no GPU`) : cpu;
  return { tf, info: { backend: 'tensorflow', device, tfjsVersion: tf.version.tfjs, skipped: [] } };
}

async function loadTensorflow(skipped: BackendInfo['skipped']): Promise<SelectedBackend | null> {
  installNodeUtilShim();
  const reasons: string[] = [];
  for (const [pkg, gpu] of TENSORFLOW_PACKAGES) {
    try {
      const chosen = await loadTensorflowPackage(pkg, gpu);
      chosen.info.skipped = skipped;
      return chosen;
    } catch (err) {
      reasons.push(`${pkg}: ${reasonOf(err)}`);
    }
  }
  skipped.push({ backend: 'tensorflow', reason: reasons.join('; ') });
  return null;
}

async function loadWasm(tf: Tf, skipped: BackendInfo['skipped']): Promise<SelectedBackend | null> {
  try {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof WasmBackend;
    // The .wasm binaries ship in the package's dist folder; point the loader at them on disk.
    const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
    wasm.setWasmPaths(dist);
    // Faster matMuls and the convolution gradients the package lacks (wasm-kernels.ts).
    installWasmKernels(tf);
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
    await tf.ready();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    // tfjs-wasm disables its threads in Node (core/parallel/engine.ts says why): the studio trains
    // data-parallel instead, one wasm instance and model replica per worker thread.
    const worker = stepWorkerEntry();
    if (worker) registerReplicaWorker('wasm', { entry: worker, backend: 'wasm' });
    const cores = availableCores();
    const how = worker && cores > 1 ? `1 thread per model replica, data-parallel on up to ${cores} threads` : '1 thread';
    const device = `CPU (${how}, WebAssembly${simd ? ' SIMD' : ''}, ${cpuName()})`;
    return { tf, info: { backend: 'wasm', device, tfjsVersion: tf.version.tfjs, skipped } };
  } catch (err) {
    skipped.push({ backend: 'wasm', reason: reasonOf(err) });
    return null;
  }
}

/**
 * The training worker thread's entry (step-worker.ts), found like the trainer's own entry (fork.ts):
 * the .ts source beside this module under tsx, else step-worker.js beside the bundle or one folder
 * up (the bundle's chunks). Null when it is not there: training then runs on one thread.
 */
export function stepWorkerEntry(moduleUrl: string = import.meta.url): string | null {
  const here = fileURLToPath(moduleUrl);
  const dir = path.dirname(here);
  if (here.endsWith('.ts')) return path.join(dir, 'step-worker.ts');
  const names = ['step-worker.js', 'step-worker.mjs'];
  const candidates = [...names.map((n) => path.join(dir, n)), ...names.map((n) => path.join(dir, '..', n))];
  return candidates.find((file) => fs.existsSync(file)) ?? null;
}

/**
 * onnxruntime-node (a native addon: loaded with require, never bundled) and its version, for the
 * native step, native evaluation and the export checks. Throws why it did not load.
 */
export function loadOnnxruntimeModule(): { ort: OrtRuntime; version: string } {
  const mod = require('onnxruntime-node') as OrtRuntime & { default?: OrtRuntime };
  const ort = mod.default ?? mod;
  if (typeof ort.InferenceSession?.create !== 'function') throw new Error('onnxruntime-node loaded without an InferenceSession');
  let version = 'unknown version';
  try {
    version = (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    /* keep 'unknown version' */
  }
  return { ort, version };
}

/**
 * The native training step: onnxruntime-node (a regular dependency whose binaries ship in its npm
 * package, so it installs offline) runs each step's graph on its CPU kernels, while `evaluation`
 * (the wasm backend, else cpu) computes everything else in tfjs. Skipped with the reason when the
 * addon does not load, or when `config` asks for something the step graph does not implement.
 */
async function loadOnnxruntime(evaluation: SelectedBackend, skipped: BackendInfo['skipped'], config: TrainConfig | undefined): Promise<SelectedBackend | null> {
  const why = config ? stepGraphUnsupported(config) : null;
  if (why) {
    skipped.push({ backend: 'onnxruntime', reason: why });
    return null;
  }
  try {
    const { ort, version } = loadOnnxruntimeModule();
    const threads = config ? resolveNativeThreads(config) : availableCores();
    const evalOn = evaluation.info.backend === 'wasm' ? 'WebAssembly' : 'JavaScript';
    const device = `CPU (${threads} thread${threads === 1 ? '' : 's'}, ONNX Runtime ${version} native kernels, ${cpuName()}; evaluation on tfjs ${evalOn})`;
    return { tf: evaluation.tf, info: { backend: 'onnxruntime', device, tfjsVersion: evaluation.info.tfjsVersion, skipped }, ort, threads };
  } catch (err) {
    skipped.push({ backend: 'onnxruntime', reason: reasonOf(err) });
    return null;
  }
}

/**
 * ONNX Runtime's threads for a run: config.threads, else $VAE_STUDIO_THREADS, else one per core
 * this process may use. Unlike the data-parallel wasm step, its threads split each matrix product
 * and convolution, which pays off for the MLP too (bench/speed.ts).
 */
export function resolveNativeThreads(config: Pick<TrainConfig, 'threads'>, env: NodeJS.ProcessEnv = process.env): number {
  return resolveThreads({ threads: config.threads, model: { kind: 'conv' } }, env);
}

async function loadCpu(tf: Tf, skipped: BackendInfo['skipped']): Promise<SelectedBackend> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  await tf.ready();
  return { tf, info: { backend: 'cpu', device: `CPU (1 thread, JavaScript, ${cpuName()})`, tfjsVersion: tf.version.tfjs, skipped } };
}

/**
 * Loads the best available backend at or below `choice` in the preference order and makes it
 * the active tfjs backend. Only 'cpu' cannot fail (it is pure JS); failures above it are recorded.
 * 'onnxruntime' is a training engine: it is considered only when `training` (the run's config)
 * is given; evaluation jobs start at the tfjs backend below it.
 */
export async function selectBackend(choice: BackendChoice, training?: TrainConfig): Promise<SelectedBackend> {
  const start: BackendName = choice === 'auto' ? 'tensorflow' : choice;
  const candidates = ORDER.slice(ORDER.indexOf(start));
  const skipped: BackendInfo['skipped'] = [];

  if (candidates.includes('tensorflow')) {
    const chosen = await loadTensorflow(skipped);
    if (chosen) {
      quiet(chosen.tf);
      return chosen;
    }
  }
  // The tfjs union package: layers, ops and the cpu backend; wasm registers into the same engine.
  const tf = require('@tensorflow/tfjs') as Tf;
  quiet(tf);
  const wanted = candidates.includes('wasm') || candidates.includes('onnxruntime');
  const evalSkipped: BackendInfo['skipped'] = [];
  const evaluation = (wanted ? await loadWasm(tf, evalSkipped) : null) ?? (await loadCpu(tf, []));
  if (training && candidates.includes('onnxruntime')) {
    const chosen = await loadOnnxruntime(evaluation, skipped, training);
    if (chosen) return chosen;
  }
  if (candidates.includes('wasm') && evaluation.info.backend === 'wasm') return { tf, info: { ...evaluation.info, skipped } };
  skipped.push(...evalSkipped);
  return loadCpu(tf, skipped);
}

/** Production mode silences tfjs console hints (e.g. "install the node backend") in the trainer's output. */
function quiet(tf: Tf): void {
  tf.env().set('PROD', true);
}

/** One exact backend for diagnostics (`vae-studio doctor`): no fallback to the next one. */
export type { ProbeTarget } from '../contract/system.ts';
import type { ProbeTarget } from '../contract/system.ts';

/**
 * Loads exactly `target` and makes it active, or rejects with the reason it did not load (the same
 * wording as BackendInfo.skipped). Run it in a fresh process per target: tfjs backends, tfjs-node
 * above all, do not load twice in one process.
 */
export async function loadExactBackend(target: ProbeTarget): Promise<SelectedBackend> {
  if (target === 'tensorflow-gpu' || target === 'tensorflow-cpu') {
    installNodeUtilShim();
    const [pkg, gpu] = TENSORFLOW_PACKAGES[target === 'tensorflow-gpu' ? 0 : 1];
    try {
      const chosen = await loadTensorflowPackage(pkg, gpu);
      quiet(chosen.tf);
      return chosen;
    } catch (err) {
      throw new Error(`${pkg}: ${reasonOf(err)}`, { cause: err });
    }
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  quiet(tf);
  const skipped: BackendInfo['skipped'] = [];
  if (target === 'cpu') return loadCpu(tf, skipped);
  if (target === 'onnxruntime') {
    const evaluation = (await loadWasm(tf, [])) ?? (await loadCpu(tf, []));
    const chosen = await loadOnnxruntime(evaluation, skipped, undefined);
    if (!chosen) throw new Error(skipped[0]?.reason ?? 'onnxruntime-node did not load');
    return chosen;
  }
  const chosen = await loadWasm(tf, skipped);
  if (!chosen) throw new Error(skipped[0]?.reason ?? 'the wasm backend did not load');
  return chosen;
}
