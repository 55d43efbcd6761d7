/**
 * One backend's measurement, in a process of its own: tfjs backends cannot be unloaded or reset
 * cleanly inside one process (and tfjs-node may load only once), and the peak RSS we report must be
 * that backend's alone. Started by speed.ts with child_process.fork; answers one Measurement over
 * the IPC channel and exits. Progress goes to stderr.
 *
 * It measures one model (speed-shared.ts WORKLOADS) with the studio's own training loop
 * (core/train.ts) on the built-in digits, so every step
 * includes what a real step does: gathering the uint8 batch into float32, drawing the noise, the
 * forward and backward passes, the Adam update and reading the loss back.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { TrainConfig } from '../src-main/contract/config.ts';
import { TrainConfigSchema } from '../src-main/contract/config.ts';
import type { StepPoint } from '../src-main/contract/types.ts';
import { loadBuiltin } from '../src-main/core/sample-data.ts';
import type { Tf } from '../src-main/core/tf.ts';
import { train, type TrainOptions } from '../src-main/core/train.ts';
import type * as WasmBackend from '@tensorflow/tfjs-backend-wasm';
import { median, WORKLOADS, type ChildRequest, type Measurement, type Variant } from './speed-shared.ts';

const require = createRequire(import.meta.url);

type Loaded = { tf: Tf; device: string; native?: TrainOptions['native'] } | { skip: string };

const log = (variant: Variant, msg: string) => process.stderr.write(`[bench] ${variant}: ${msg}\n`);

/**
 * The wasm backend exactly as the package ships it: the same loading steps as the trainer's
 * backend.ts, minus installWasmKernels. This module never imports trainer/wasm-kernels.ts, so
 * the package's own BatchMatMul / _FusedMatMul stay registered.
 */
async function loadWasmAsShipped(): Promise<Loaded> {
  const tf = require('@tensorflow/tfjs') as Tf;
  tf.env().set('PROD', true);
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof WasmBackend;
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(dist);
  if (!(await tf.setBackend('wasm'))) return { skip: 'the wasm backend did not initialise' };
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { tf, device: `CPU (1 thread, WebAssembly${simd ? ' SIMD' : ''}, ${os.cpus()[0]?.model?.trim() ?? os.arch()})` };
}

/** The other rows go through the trainer's own selection, so they measure what the app runs. */
async function loadViaTrainer(variant: 'cpu' | 'wasm' | 'onnxruntime' | 'tensorflow', config: TrainConfig): Promise<Loaded> {
  const { selectBackend } = await import('../src-main/trainer/backend.ts');
  const { tf, info, ort, threads } = await selectBackend(variant, config);
  if (info.backend !== variant) {
    // selectBackend falls back down the preference order; a fallback is not this row's backend.
    const why = info.skipped.find((s) => s.backend === variant)?.reason ?? `selectBackend gave '${info.backend}'`;
    return { skip: why };
  }
  return { tf, device: info.device, ...(ort && threads ? { native: { ort, threads } } : {}) };
}

async function measure(req: ChildRequest): Promise<Measurement> {
  const { variant, plan } = req;
  const WORKLOAD = WORKLOADS[req.model];
  // The digits are 28x28 x 1 already (784 inputs): no resizing needed. Only whole batches are
  // used so that every timed step processes exactly batchSize samples.
  const digits = loadBuiltin(WORKLOAD.dataset);
  const dim = digits.width * digits.height * digits.channels;
  if (dim !== WORKLOAD.inputDim) throw new Error(`the built-in digits have ${dim} inputs, the workload expects ${WORKLOAD.inputDim}`);
  const whole = Math.floor(digits.count / WORKLOAD.batchSize) * WORKLOAD.batchSize;
  const config: TrainConfig = TrainConfigSchema.parse({
    model: WORKLOAD.model,
    likelihood: WORKLOAD.likelihood,
    optimizer: { name: WORKLOAD.optimizer, learningRate: WORKLOAD.learningRate },
    batchSize: WORKLOAD.batchSize,
    epochs: 10000, // ended by shouldStop long before
    seed: WORKLOAD.seed,
    validationFraction: 0, // no validation pass between epochs: only training steps are timed
    maxSamples: whole,
    backend: variant === 'wasm-shipped' || variant === 'wasm-threads' ? 'wasm' : variant === 'onnxruntime-1' ? 'onnxruntime' : variant,
    // Every row trains on one thread but the data-parallel one (core/parallel) and the native step's N-thread row.
    threads: variant === 'wasm-threads' || variant === 'onnxruntime' ? req.threads : 1,
  });

  const loaded = variant === 'wasm-shipped' ? await loadWasmAsShipped() : await loadViaTrainer(variant === 'wasm-threads' ? 'wasm' : variant === 'onnxruntime-1' ? 'onnxruntime' : variant, config);
  if ('skip' in loaded) return { status: 'skipped', reason: loaded.skip };
  const { tf } = loaded;
  // The backend describes what it could do; the row says what it ran.
  const threads = variant === 'wasm-threads' ? `${req.threads} threads, data-parallel` : '1 thread';
  const device = variant.startsWith('onnxruntime') ? loaded.device : loaded.device.replace(/^CPU \(1 thread per model replica, data-parallel on up to \d+ threads/, `CPU (${threads}`);
  log(variant, `backend ready for ${req.model}: ${device}`);

  const points: StepPoint[] = [];
  let polls = 0;
  let timedStart = 0;
  let cpuStart = process.cpuUsage();
  let coresUsed = Number.NaN;
  const startedAt = performance.now();
  // shouldStop is polled once before every step, so the n-th poll precedes step n.
  const shouldStop = (): boolean => {
    polls++;
    const timed = polls - plan.warmupSteps - 1; // timed steps completed before this poll
    if (timed === 0) {
      timedStart = performance.now();
      cpuStart = process.cpuUsage();
      log(variant, `warm-up done (${plan.warmupSteps} steps, ${((timedStart - startedAt) / 1000).toFixed(1)} s)`);
    }
    const now = performance.now();
    const stop = timed >= plan.maxSteps || (timed >= plan.minSteps && now - timedStart >= plan.budgetMs);
    if (stop) {
      const cpu = process.cpuUsage(cpuStart);
      coresUsed = (cpu.user + cpu.system) / 1000 / (now - timedStart);
    }
    return stop;
  };

  const status = await train({ tf, ...(loaded.native ? { native: loaded.native } : {}), config, data: digits, shouldStop, onSteps: (p) => points.push(...p), checkpointDir: null });
  if (status !== 'stopped') throw new Error(`training ended (${status}) before the measurement did`);
  const leakedTensors = tf.memory().numTensors;

  // StepPoint.timeMs is taken after each step's loss was read back; consecutive differences are
  // the full wall-clock time of one loop iteration.
  const stepMs: number[] = [];
  for (let i = plan.warmupSteps; i < points.length; i++) stepMs.push(Math.round((points[i]!.timeMs - points[i - 1]!.timeMs) * 1000) / 1000);
  if (stepMs.length === 0) throw new Error('no step was timed');
  const medianMs = median(stepMs);
  const warm = points[plan.warmupSteps - 1];
  log(variant, `${stepMs.length} steps timed, median ${medianMs.toFixed(1)} ms, ${coresUsed.toFixed(2)} cores used`);
  return {
    status: 'ok',
    device,
    version: tf.version.tfjs,
    warmupSteps: plan.warmupSteps,
    stepMs,
    medianMs,
    samplesPerSec: (WORKLOAD.batchSize * 1000) / medianMs,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    negElboAfterWarmup: warm ? warm.negElbo : Number.NaN,
    coresUsed,
    leakedTensors,
  };
}

function send(m: Measurement): Promise<void> {
  return new Promise((resolve) => {
    if (typeof process.send !== 'function') {
      process.stdout.write(JSON.stringify(m) + '\n');
      resolve();
      return;
    }
    process.send(m, undefined, {}, () => resolve());
  });
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? 'null') as ChildRequest | null;
  if (!req) throw new Error('usage: speed-child.ts <request JSON> (started by bench/speed.ts)');
  let result: Measurement;
  try {
    result = await measure(req);
  } catch (err) {
    result = { status: 'failed', reason: err instanceof Error ? err.message : String(err) };
  }
  await send(result);
  // tfjs (and the wasm module) may keep the event loop alive; the answer is out, so leave.
  process.exit(0);
}

void main();
