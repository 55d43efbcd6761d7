/**
 * How one training step's gradients are computed (core/train.ts delegates to a StepEngine), and the
 * data-parallel engine that spreads a step over worker threads of the trainer process.
 *
 * Why threads: tfjs-wasm runs one thread in Node. Its threaded build needs Emscripten's pthread
 * pool, which tfjs refuses in Node (the WASM_HAS_MULTITHREAD_SUPPORT flag is false whenever IS_NODE)
 * and which cannot start there anyway: forcing the flag on makes Emscripten spawn its workers from a
 * blob: URL, and Node's Worker rejects it (ERR_WORKER_PATH, "must be an absolute path or a relative
 * path starting with './'"; tfjs issue 3830). So each worker thread holds a whole single-threaded
 * wasm backend with a replica of the model (replica.ts) instead.
 *
 * A step over P participants (the main thread is participant 0, workers 1..P-1):
 *   1. the main thread reads the batch and draws the noise for all of it, exactly as the
 *      single-thread loop does, and posts each worker its shard of rows (objective.ts shardRanges);
 *   2. with free bits, a first round exchanges per-dimension KL sums to fix the batch's mask;
 *   3. each participant writes the gradient of its shard's share of the loss into its slot of a
 *      SharedArrayBuffer (the shard losses sum to the batch loss, so the gradients just add);
 *   4. once all have written, the update. Adam / AdamW (the default) are sharded (fused-adam.ts):
 *      each participant sums and updates only its slice of the parameters, in shared weight and
 *      moment vectors, and then every one copies the new weights into its model. Other optimisers:
 *      every participant (all workers, even those without rows this step) sums all slots in the
 *      same order and applies clipping, weight decay and its own tfjs optimiser.
 *      Either way the replicas stay bit-identical; the main thread's model is the one
 *      checkpointed, evaluated and exported (syncOptimizer puts the sharded moments back into its
 *      tfjs optimiser before a checkpoint).
 * The gradient buffer has two halves used on alternate steps, so a fast participant writing step
 * t+1 never overwrites a slot that a slow one is still summing for step t.
 * Reproducibility: a run is a deterministic function of (seed, config, backend, thread count);
 * resuming with the same thread count continues it exactly. One thread gives the single-thread
 * loop itself; more threads differ from it only by float32 rounding of the gradient sums.
 */
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import type { LayersModel, NamedTensorMap, Optimizer, Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import type { TrainConfig } from '../../contract/config.ts';
import type { Tf } from '../tf.ts';
import type { ImageShape } from '../vae.ts';
import { accumulatorOrder, ADAM_SLOTS, writeOptimizerState } from '../ort/optimizer-state.ts';
import { createAdamSimd } from './adam-simd.ts';
import { adamSlice, paramSlices, reduceSlice } from './fused-adam.ts';
import { flatLayout, freeBitsMask, type FlatLayout, gradientMap, loadFlatWeights, shardGradients, shardKlSums, shardRanges, sumSlots, writeGradients, type Forward } from './objective.ts';
import type { FromReplica, FusedShared, PlainTensor, ToReplica } from './protocol.ts';

/** One optimisation step on a batch; train.ts uses the single-thread engine unless a parallel one is made. */
export interface StepEngine {
  /**
   * Computes the gradient of the batch (x: n rows of the input, eps: n rows of noise) and applies
   * the update. Resolves [mean reconstruction NLL, mean total KL, the objective's KL term, gradient
   * global norm before clipping].
   */
  step(x: Float32Array, eps: Float32Array, n: number, beta: number, lr: number): Promise<ArrayLike<number>>;
  /** Threads taking part (1 for the single-thread engine). */
  readonly threads: number;
  /**
   * Brings the main thread's tfjs optimiser up to date (its moments and iteration count) before it
   * is read, e.g. for a checkpoint; the sharded Adam keeps them elsewhere between calls.
   */
  syncOptimizer?(): Promise<void>;
  /**
   * Brings the main thread's tfjs model up to date with the engine's weights, before the model is
   * evaluated, previewed or handed out (the native step keeps them outside tfjs between calls).
   */
  syncModel?(): void;
  /** Ends the worker threads; idempotent. */
  close(): Promise<void>;
}

/** How a worker thread that serves replicas of a given tfjs backend is started (registered by the trainer). */
export interface ReplicaWorkerSpec {
  /** The worker's entry module: a .js file, or a .ts file run through the tsx loader. */
  entry: string;
  /** The backend name the worker passes to its backend loader. */
  backend: string;
}

const registry = new Map<string, ReplicaWorkerSpec>();

/**
 * Declares how to start replica workers for the tfjs backend `backendName` (tf.getBackend()). The
 * trainer registers its wasm backend; backends without a registration (cpu, tensorflow, which
 * already uses every core) train on one thread.
 */
export function registerReplicaWorker(backendName: string, spec: ReplicaWorkerSpec): void {
  registry.set(backendName, spec);
}

export function replicaWorkerFor(backendName: string): ReplicaWorkerSpec | null {
  return registry.get(backendName) ?? null;
}

/** The environment variable that overrides the default thread count (a positive integer). */
export const THREADS_ENV = 'VAE_STUDIO_THREADS';

/**
 * Threads a run uses: config.threads when set, else $VAE_STUDIO_THREADS, else for a conv model one
 * per core the process may use (os.availableParallelism()) and for an MLP one. Measured on 2 quiet
 * cores (bench/speed.ts, batch 128): the conv VAE trains 1.25-1.8x faster on 2 threads, the MLP
 * 784-400-20 about 1.1x, within the noise: its step is short (~40 ms) and dominated by a few
 * large matMuls, so the fixed cost of a parallel step (waking the workers, summing 650k gradient
 * values, the update) eats most of the gain, while a conv step does ~4x more work per parameter.
 */
export function resolveThreads(
  config: Pick<TrainConfig, 'threads'> & { model?: Pick<TrainConfig['model'], 'kind'> },
  env: NodeJS.ProcessEnv = process.env,
): number {
  if (config.threads !== undefined) return config.threads;
  const fromEnv = env[THREADS_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`${THREADS_ENV} must be an integer from 1 to 64, got "${fromEnv}"`);
    return n;
  }
  return config.model?.kind === 'conv' ? availableCores() : 1;
}

/** The cores this process may use (its CPU affinity), at most 64. */
export function availableCores(): number {
  return Math.max(1, Math.min(64, os.availableParallelism()));
}

export interface ParallelEngineOptions {
  tf: Tf;
  config: TrainConfig;
  shape: ImageShape;
  initSeed: number;
  threads: number;
  encoder: LayersModel;
  decoder: LayersModel;
  optimizer: Optimizer;
  logSigma: Variable | null;
  /** The trained variables in the loop's order (model variables, then log-sigma). */
  vars: Variable[];
  /** The main thread's forward pass (train.ts). */
  forward: Forward;
  /** Clipping, weight decay and the optimiser update of train.ts (applyUpdate); returns the pre-clip norm. */
  apply: (grads: NamedTensorMap, lr: number) => Scalar;
  /** Overrides the registry (tests). */
  worker?: ReplicaWorkerSpec;
}

/**
 * Starts threads - 1 replica workers and returns the engine, or null when the step should run on
 * one thread: threads <= 1, or no worker registered for the active backend.
 */
export async function createParallelEngine(o: ParallelEngineOptions): Promise<(StepEngine & { replicaWeights(): Promise<PlainTensor[][]> }) | null> {
  const spec = o.worker ?? replicaWorkerFor(o.tf.getBackend());
  if (o.threads <= 1 || !spec) return null;
  const { tf, config } = o;
  const dim = o.shape.width * o.shape.height * o.shape.channels;
  const latentDim = config.model.latentDim;
  const layout = flatLayout(o.vars);
  const total = layout.total;
  const maxParticipants = o.threads;
  const shared = new SharedArrayBuffer(2 * maxParticipants * total * 4);
  const halves: [Float32Array, Float32Array] = [new Float32Array(shared, 0, maxParticipants * total), new Float32Array(shared, maxParticipants * total * 4, maxParticipants * total)];
  const summed = new Float32Array(total);
  let parity = 0;

  const weights: PlainTensor[] = [];
  for (const w of [...o.encoder.weights, ...o.decoder.weights]) {
    const t = w.read();
    weights.push({ name: w.name, shape: [...t.shape], data: (await t.data()) as Float32Array });
  }
  if (o.logSigma) weights.push({ name: 'logSigma', shape: [], data: (await o.logSigma.data()) as Float32Array });
  const optimizerState: PlainTensor[] = [];
  const named = await o.optimizer.getWeights();
  for (const w of named) optimizerState.push({ name: w.name, shape: [...w.tensor.shape], data: Float32Array.from(await w.tensor.data()) });
  const fused = config.optimizer.name === 'adam' || config.optimizer.name === 'adamw' ? fusedState(o, layout, optimizerState, maxParticipants) : null;
  // The live state variables plus a fresh scalar for the iteration count (tfjs
  // Optimizer.saveIterations): only that scalar is ours to free (as in checkpoint.ts).
  const iter = named[0];
  if (iter && iter.name === 'iter' && !iter.tensor.isDisposed) iter.tensor.dispose();

  const workers: ReplicaThread[] = [];
  try {
    for (let slot = 1; slot < maxParticipants; slot++) workers.push(new ReplicaThread(spec));
    const init = (slot: number): ToReplica => ({
      type: 'init',
      config,
      shape: o.shape,
      initSeed: o.initSeed,
      slot,
      gradients: shared,
      weights,
      optimizer: optimizerState,
      fused: fused?.shared ?? null,
    });
    await Promise.all(workers.map((w, i) => w.request(init(i + 1), 'ready')));
  } catch (err) {
    await Promise.all(workers.map((w) => w.close()));
    throw err;
  }

  let closed = false;
  return {
    threads: maxParticipants,
    async step(x, eps, n, beta, lr) {
      if (closed) throw new Error('the parallel step engine is closed');
      const ranges = shardRanges(n, maxParticipants);
      const p = ranges.length;
      const rowsOf = (i: number) => {
        const [from, to] = ranges[i]!;
        return { x: x.slice(from * dim, to * dim), eps: eps.slice(from * latentDim, to * latentDim), rows: to - from };
      };
      const own = rowsOf(0);
      const helpers = workers.slice(0, p - 1);
      const freeBits = config.freeBits;
      let mask: Float32Array | null = null;
      let klObjective: number | null = null;
      let grads: Promise<Array<Extract<FromReplica, { type: 'grad' }>>>;
      if (freeBits > 0) {
        const kl = Promise.all(
          helpers.map((w, i) => {
            const r = rowsOf(i + 1);
            return w.request({ type: 'kl', x: r.x, eps: r.eps, rows: r.rows }, 'kl', [r.x.buffer as ArrayBuffer, r.eps.buffer as ArrayBuffer]);
          }),
        );
        const mine = shardKlSums(tf, o.encoder, own.x, own.rows, dim);
        const parts = [mine, ...(await kl).map((m) => m.sums)];
        ({ mask, klObjective } = freeBitsMask(parts, n, freeBits));
        const m = mask;
        grads = Promise.all(helpers.map((w, i) => w.request({ type: 'grad', rows: ranges[i + 1]![1] - ranges[i + 1]![0], nTotal: n, beta, mask: m }, 'grad')));
      } else {
        grads = Promise.all(
          helpers.map((w, i) => {
            const r = rowsOf(i + 1);
            return w.request({ type: 'grad', x: r.x, eps: r.eps, rows: r.rows, nTotal: n, beta, mask: null }, 'grad', [r.x.buffer as ArrayBuffer, r.eps.buffer as ArrayBuffer]);
          }),
        );
      }
      const half = halves[parity]!;
      const g = shardGradients(tf, o.forward, o.vars, { ...own, dim, latentDim }, n, beta, mask);
      writeGradients(g.grads, half.subarray(0, total), layout);
      const replies = await grads;
      let gradNorm: number;
      if (fused) {
        // Sharded Adam: each participant sums and updates its own slice, then all load the weights.
        const reduced = Promise.all(workers.map((w) => w.request({ type: 'reduce', participants: p }, 'reduce')));
        let sq = reduceSlice(half, total, p, fused.lo, fused.hi, summed);
        for (const r of await reduced) sq += r.sq;
        parity ^= 1;
        gradNorm = Math.sqrt(sq);
        const clip = config.gradClipNorm;
        const scale = clip > 0 ? clip / Math.max(gradNorm, clip) : 1;
        const updated = Promise.all(workers.map((w) => w.request({ type: 'update', scale, lr }, 'updated')));
        const s = fused.shared;
        adamSlice(fused.weights, fused.m, fused.v, summed, fused.lo, fused.hi, s.decayEnd, {
          lr,
          beta1: s.beta1,
          beta2: s.beta2,
          epsilon: s.epsilon,
          weightDecay: s.weightDecay,
          scale,
          iterations: fused.iterations,
        });
        fused.iterations++;
        await updated;
        for (const w of workers) w.post({ type: 'load' });
        loadFlatWeights(tf, fused.weights, o.vars, layout);
      } else {
        // Every worker applies the update, including those that had no rows this step.
        for (const w of workers) w.post({ type: 'apply', participants: p, lr });
        const flat = sumSlots(half, total, p, summed);
        parity ^= 1;
        const norm = o.apply(gradientMap(tf, flat, o.vars, layout), lr);
        gradNorm = (await norm.data())[0]!;
        norm.dispose();
      }
      let reconSum = g.reconSum;
      let klSum = g.klSum;
      for (const r of replies) {
        reconSum += r.reconSum;
        klSum += r.klSum;
      }
      const kl = klSum / n;
      return [reconSum / n, kl, klObjective ?? kl, gradNorm];
    },
    async syncOptimizer() {
      if (fused) await writeBackAdam(tf, o.optimizer, o.vars, layout, fused);
    },
    async replicaWeights() {
      return Promise.all(workers.map(async (w) => (await w.request({ type: 'weights' }, 'weights')).weights));
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

/** A worker thread and the replies it owes, answered in the order they were asked for. */
class ReplicaThread {
  private readonly worker: Worker;
  private readonly waiting: Array<{ type: FromReplica['type']; resolve: (m: FromReplica) => void; reject: (e: Error) => void }> = [];
  private failure: Error | null = null;

  constructor(spec: ReplicaWorkerSpec) {
    this.worker = startWorker(spec);
    // A replica never keeps the trainer alive on its own.
    this.worker.unref();
    this.worker.on('message', (m: FromReplica) => {
      if (m.type === 'error') return this.fail(new Error(`a training worker thread failed: ${m.message}`));
      const next = this.waiting.shift();
      if (!next) return this.fail(new Error(`a training worker thread sent an unexpected '${m.type}'`));
      if (next.type !== m.type) return this.fail(new Error(`a training worker thread answered '${m.type}' where '${next.type}' was due`));
      next.resolve(m);
    });
    this.worker.on('error', (err) => this.fail(new Error(`a training worker thread crashed: ${err.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`a training worker thread exited (code ${code})`)));
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  post(m: ToReplica, transfer: ArrayBuffer[] = []): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(m, transfer);
  }

  request<T extends FromReplica['type']>(m: ToReplica, reply: T, transfer: ArrayBuffer[] = []): Promise<Extract<FromReplica, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ type: reply, resolve: resolve as (m: FromReplica) => void, reject });
      this.worker.postMessage(m, transfer);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the training worker threads were closed');
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/**
 * A .ts entry runs under tsx (the sources, in tests and development): a Worker takes no loader
 * flags that work for it in Node 20, so a tiny ESM bootstrap imports the entry through tsx's API.
 */
function startWorker(spec: ReplicaWorkerSpec): Worker {
  const workerData = { backend: spec.backend };
  if (!spec.entry.endsWith('.ts')) return new Worker(spec.entry, { workerData });
  const entryUrl = spec.entry.startsWith('file:') ? spec.entry : pathToFileURL(spec.entry).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const code = `const { tsImport } = await import(${JSON.stringify(tsxApi)});\nawait tsImport(${JSON.stringify(entryUrl)}, ${JSON.stringify(entryUrl)});\n`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData });
}

/** The main thread's part of the sharded Adam: the shared state and its own slice (slice 0). */
interface FusedMain {
  shared: FusedShared;
  weights: Float32Array;
  m: Float32Array;
  v: Float32Array;
  lo: number;
  hi: number;
  iterations: number;
}

/**
 * Adam / AdamW for the single-thread step, fused like the sharded one: tfjs' AdamOptimizer update,
 * bit for bit (adam-simd.ts: one WebAssembly SIMD pass over a flat weight vector instead of about
 * 13 tensor operations per variable), and the global norm from one more pass over the gradients.
 * On 'wasm' that replaces ~170 of the ~350 kernel calls of an MLP 784-400-20 step, and the update
 * and norm take ~3.5 ms instead of ~8-10 (measured here: a step ~15% shorter). The moments live
 * here between steps; sync() puts them back into the tfjs optimiser (before a checkpoint), so
 * checkpoints and resume see plain tfjs state. Create it after any resume (it reads the
 * optimiser's restored state). Without WebAssembly SIMD it falls back to the scalar adamSlice.
 */
export interface LocalAdam {
  /**
   * Clipping by global norm, decoupled weight decay and the Adam update from `grads` (freed here),
   * exactly as applyUpdate + tfjs Adam define them; returns the gradient's global norm before
   * clipping (float64-accumulated).
   */
  apply(grads: NamedTensorMap, lr: number): number;
  /** Writes the moments and iteration count back into the tfjs optimiser. */
  sync(): Promise<void>;
}

/**
 * Whether the single-thread step uses LocalAdam: Adam or AdamW on the 'wasm' backend, where the
 * per-kernel cost dominates. Other backends keep tfjs' own optimiser (tfjs-node runs its ops
 * natively; 'cpu' is the reference the tests compare against).
 */
export function useLocalAdam(tf: Tf, config: Pick<TrainConfig, 'optimizer'>): boolean {
  return (config.optimizer.name === 'adam' || config.optimizer.name === 'adamw') && tf.getBackend() === 'wasm';
}

/**
 * The model's weights and the tfjs Adam optimiser's moments and iteration count as flat vectors in
 * the order of `vars` (a fused update's starting point; writeBackAdam is the way back).
 */
async function captureAdam(o: Pick<ParallelEngineOptions, 'config' | 'optimizer' | 'logSigma' | 'vars'>): Promise<{ layout: FlatLayout; fused: FusedMain }> {
  const layout = flatLayout(o.vars);
  const named = await o.optimizer.getWeights();
  const state: PlainTensor[] = [];
  for (const w of named) state.push({ name: w.name, shape: [...w.tensor.shape], data: Float32Array.from(await w.tensor.data()) });
  // As in createParallelEngine: only the fresh iteration scalar is ours to free.
  const iter = named[0];
  if (iter && iter.name === 'iter' && !iter.tensor.isDisposed) iter.tensor.dispose();
  return { layout, fused: fusedState(o, layout, state, 1) };
}

export async function createLocalAdam(o: Pick<ParallelEngineOptions, 'tf' | 'config' | 'optimizer' | 'logSigma' | 'vars'>): Promise<LocalAdam> {
  const { tf, vars, optimizer } = o;
  const { layout, fused: shared } = await captureAdam(o);
  const s = shared.shared;
  const clip = o.config.gradClipNorm;
  const simd = createAdamSimd(layout.total);
  if (!simd) return scalarLocalAdam(o, layout, shared);
  simd.w.set(shared.weights);
  simd.m.set(shared.m);
  simd.v.set(shared.v);
  // The moments as writeBackAdam reads them.
  const fused: FusedMain = { ...shared, weights: simd.w, m: simd.m, v: simd.v };
  // tfjs keeps beta^t as a float32 variable multiplied by beta every step; the same product here,
  // recomputed from the iteration count (so a resumed run continues exactly).
  const f32 = Math.fround;
  let acc1 = f32(s.beta1);
  let acc2 = f32(s.beta2);
  for (let t = 0; t < fused.iterations; t++) {
    acc1 = f32(acc1 * f32(s.beta1));
    acc2 = f32(acc2 * f32(s.beta2));
  }
  const keep = (lr: number) => f32(1 - lr * s.weightDecay);
  return {
    apply(grads, lr) {
      const heap = heapView(tf);
      vars.forEach((v, i) => {
        const t = grads[v.name];
        if (!t) throw new Error(`internal: no gradient for variable ${v.name}`);
        simd.g.set(heap ? heap(t) : (t.dataSync() as Float32Array), layout.offsets[i]!);
      });
      tf.dispose(Object.values(grads));
      const norm = Math.sqrt(simd.gradSumOfSquares());
      const scale = clip > 0 ? clip / Math.max(norm, clip) : 1;
      if (s.weightDecay > 0) {
        // AdamW's decay, as applyUpdate's v.mul(keep): the model's weights, not log-sigma.
        const k = keep(lr);
        const w = simd.w;
        for (let j = 0; j < s.decayEnd; j++) w[j] = w[j]! * k;
      }
      simd.step({ beta1: s.beta1, beta2: s.beta2, epsilon: s.epsilon, lr, scale, oneMinusAccBeta1: f32(1 - acc1), oneMinusAccBeta2: f32(1 - acc2) });
      acc1 = f32(acc1 * f32(s.beta1));
      acc2 = f32(acc2 * f32(s.beta2));
      fused.iterations++;
      loadFlatWeights(tf, simd.w, vars, layout);
      return norm;
    },
    sync: () => writeBackAdam(tf, optimizer, vars, layout, fused),
  };
}

/**
 * A float32 tensor's values read in place, without the copy dataSync makes, where the backend
 * allows it (tfjs-wasm: a view of its heap, valid until the next allocation); null elsewhere.
 */
function heapView(tf: Tf): ((t: Tensor) => Float32Array) | null {
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (t: Tensor) => Float32Array };
  if (tf.getBackend() !== 'wasm' || typeof backend.typedArrayFromHeap !== 'function') return null;
  return (t) => (t.dtype === 'float32' ? backend.typedArrayFromHeap!(t) : (t.dataSync() as Float32Array));
}

/**
 * sum_k g_k^2 in float64. A function of its own so that the accumulator stays a local (a loop
 * adding into a variable captured by a closure was measured ~4x slower).
 */
function sumOfSquares(g: Float32Array): number {
  let s = 0;
  for (let k = 0; k < g.length; k++) {
    const x = g[k]!;
    s += x * x;
  }
  return s;
}

/** LocalAdam without WebAssembly SIMD: the scalar update of the sharded Adam (fused-adam.ts adamSlice). */
function scalarLocalAdam(o: Pick<ParallelEngineOptions, 'tf' | 'config' | 'vars' | 'optimizer'>, layout: FlatLayout, shared: FusedMain): LocalAdam {
  const { tf, vars } = o;
  // Private copies: plain ArrayBuffers, which V8 reads and writes faster than shared ones
  // (measured: the update pass ~1.6x faster).
  const fused: FusedMain = { ...shared, weights: shared.weights.slice(), m: shared.m.slice(), v: shared.v.slice() };
  const s = fused.shared;
  const views = vars.map((_, i) => {
    const lo = layout.offsets[i]!;
    const hi = lo + layout.sizes[i]!;
    return { w: fused.weights.subarray(lo, hi), m: fused.m.subarray(lo, hi), v: fused.v.subarray(lo, hi), decayEnd: Math.max(0, Math.min(hi, s.decayEnd) - lo) };
  });
  return {
    apply(grads, lr) {
      // One read of each gradient for the norm, then the update straight from it (no flat copy).
      const values = vars.map((v) => {
        const t = grads[v.name];
        if (!t) throw new Error(`internal: no gradient for variable ${v.name}`);
        return t.dataSync() as Float32Array;
      });
      tf.dispose(Object.values(grads));
      let sq = 0;
      for (const g of values) sq += sumOfSquares(g);
      const norm = Math.sqrt(sq);
      const clip = o.config.gradClipNorm;
      const scale = clip > 0 ? clip / Math.max(norm, clip) : 1;
      const h = { lr, beta1: s.beta1, beta2: s.beta2, epsilon: s.epsilon, weightDecay: s.weightDecay, scale, iterations: fused.iterations };
      values.forEach((g, i) => {
        const x = views[i]!;
        adamSlice(x.w, x.m, x.v, g, 0, g.length, x.decayEnd, h);
      });
      fused.iterations++;
      loadFlatWeights(tf, fused.weights, vars, layout);
      return norm;
    },
    sync: () => writeBackAdam(tf, o.optimizer, vars, layout, fused),
  };
}

/** Moves the weights and the tfjs Adam's state (getWeights: iter, moments m..., moments v...) into shared vectors. */
function fusedState(
  o: Pick<ParallelEngineOptions, 'config' | 'optimizer' | 'logSigma' | 'vars'>,
  layout: ReturnType<typeof flatLayout>,
  state: readonly PlainTensor[],
  participants: number,
): FusedMain {
  const total = layout.total;
  const shared: FusedShared = {
    weights: new SharedArrayBuffer(total * 4),
    m: new SharedArrayBuffer(total * 4),
    v: new SharedArrayBuffer(total * 4),
    ...adamConstants(o.optimizer),
    weightDecay: o.config.optimizer.name === 'adamw' ? o.config.optimizer.weightDecay : 0,
    decayEnd: o.logSigma ? total - 1 : total,
    iterations: state[0]?.name === 'iter' ? state[0].data[0]! : 0,
    participants,
  };
  const weights = new Float32Array(shared.weights);
  o.vars.forEach((v, i) => weights.set(v.dataSync() as Float32Array, layout.offsets[i]!));
  const m = new Float32Array(shared.m);
  const v = new Float32Array(shared.v);
  const moments = state.slice(1);
  if (moments.length === 2 * o.vars.length) {
    accumulatorOrder(o.vars).forEach((i, k) => {
      m.set(moments[k]!.data, layout.offsets[i]!);
      v.set(moments[o.vars.length + k]!.data, layout.offsets[i]!);
    });
  } else if (moments.length !== 0) {
    throw new Error(`the optimiser holds ${moments.length} moment tensors for ${o.vars.length} variables`);
  }
  const [lo, hi] = paramSlices(total, participants)[0]!;
  return { shared, weights, m, v, lo, hi, iterations: shared.iterations };
}

/**
 * The variable index behind each of a tfjs optimiser's accumulators: it keeps them by position in
 * the key order of the gradient map, and a JS object lists integer-like keys first (an unnamed
 * tf.variable, like log-sigma, is named by a number), so that order can differ from `vars`.
 */

/** tfjs AdamOptimizer's fields (not in its typings). */
interface AdamInternals {
  beta1: number;
  beta2: number;
  epsilon: number;
}

function adamConstants(optimizer: Optimizer): { beta1: number; beta2: number; epsilon: number } {
  const a = optimizer as unknown as AdamInternals;
  return { beta1: a.beta1, beta2: a.beta2, epsilon: a.epsilon };
}

/** Puts the sharded Adam's moments and iteration count back into the tfjs optimiser (for checkpoints). */
async function writeBackAdam(tf: Tf, optimizer: Optimizer, vars: readonly Variable[], layout: ReturnType<typeof flatLayout>, f: FusedMain): Promise<void> {
  // Copies, not views: the tfjs 'cpu' backend keeps the arrays it is given, and f's change every step.
  const perVariable = (flat: Float32Array) => vars.map((_, i) => flat.slice(layout.offsets[i]!, layout.offsets[i]! + layout.sizes[i]!));
  await writeOptimizerState(tf, optimizer, ADAM_SLOTS, vars, { iterations: f.iterations, slots: [perVariable(f.m), perVariable(f.v)] });
}
