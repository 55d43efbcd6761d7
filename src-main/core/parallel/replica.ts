/**
 * One replica of the model in a worker thread of the trainer process (data-parallel training,
 * engine.ts). It holds its own copy of the encoder, decoder, log-sigma and optimiser, made equal to
 * the main thread's by the 'init' message; per step it computes the gradient of its shard of the
 * batch (objective.ts), writes it into its slot of the shared gradient buffer, and, once every
 * participant has written, sums all slots and applies the same update as the main thread. The
 * replicas stay bit-identical to the main thread's model without any weights crossing threads
 * after 'init': the same float32 operations on the same bytes, in the same order, on the same backend.
 */
import type { MessagePort } from 'node:worker_threads';
import type { LayersModel, Optimizer, Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import type { LikelihoodSpec } from '../losses.ts';
import type { Tf } from '../tf.ts';
import { applyUpdate, disposeOptimizer, makeOptimizer, setLearningRate } from '../train.ts';
import { buildVae } from '../vae.ts';
import { adamSlice, paramSlices, reduceSlice } from './fused-adam.ts';
import { flatLayout, gradientMap, loadFlatWeights, makeForward, shardGradients, shardKlSums, sumSlots, writeGradients, type FlatLayout, type Forward } from './objective.ts';
import type { FromReplica, FusedShared, PlainTensor, ToReplica } from './protocol.ts';

/** A replica's part of the sharded Adam (fused-adam.ts). */
interface FusedPart {
  shared: FusedShared;
  weights: Float32Array;
  m: Float32Array;
  v: Float32Array;
  lo: number;
  hi: number;
  iterations: number;
}

interface Replica {
  encoder: LayersModel;
  decoder: LayersModel;
  optimizer: Optimizer;
  logSigma: Variable | null;
  vars: Variable[];
  modelVars: Variable[];
  forward: Forward;
  layout: FlatLayout;
  /** Both parity halves of the shared gradient buffer, each participants * total values. */
  gradients: [Float32Array, Float32Array];
  slot: number;
  dim: number;
  latentDim: number;
  clipNorm: number;
  weightDecay: number;
  appliedLr: number;
  parity: number;
  /** The rows of the last 'kl' message, reused by the following 'grad'. */
  rows: { x: Float32Array; eps: Float32Array } | null;
  summed: Float32Array;
  fused: FusedPart | null;
}

/** Serves the main thread's messages on `port` until the thread ends. Messages are handled one at a time, in order. */
export function serveReplica(tf: Tf, port: MessagePort): void {
  let replica: Replica | null = null;
  let queue: Promise<void> = Promise.resolve();
  const send = (m: FromReplica, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  port.on('message', (msg: ToReplica) => {
    queue = queue
      .then(async () => {
        if (msg.type === 'init') {
          replica = await init(tf, msg);
          send({ type: 'ready' });
          return;
        }
        if (!replica) throw new Error(`'${msg.type}' before 'init'`);
        handle(tf, replica, msg, send);
      })
      .catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  });
}

async function init(tf: Tf, msg: Extract<ToReplica, { type: 'init' }>): Promise<Replica> {
  const { config } = msg;
  const vae = buildVae(tf, config.model, msg.shape, msg.initSeed);
  const { encoder, decoder } = vae;
  const optimizer = makeOptimizer(tf, config);
  const modelVars = [...encoder.trainableWeights, ...decoder.trainableWeights].map((w) => w.read() as Variable);
  const gaussian = config.likelihood === 'gaussian';
  const logSigma = gaussian && config.gaussianSigmaMode === 'learned' ? tf.variable(tf.scalar(Math.log(config.gaussianSigma)), true) : null;
  const vars = logSigma ? [...modelVars, logSigma] : modelVars;
  const spec: LikelihoodSpec = { likelihood: config.likelihood, sigma: logSigma ? (logSigma as Scalar) : config.gaussianSigma };

  // The main thread's current state: weights (a resumed run's included) and optimiser moments.
  const nEnc = encoder.weights.length;
  const nDec = decoder.weights.length;
  const toTensors = (list: readonly PlainTensor[]): Tensor[] => list.map((w) => tf.tensor(w.data, w.shape, 'float32'));
  const enc = toTensors(msg.weights.slice(0, nEnc));
  const dec = toTensors(msg.weights.slice(nEnc, nEnc + nDec));
  encoder.setWeights(enc);
  decoder.setWeights(dec);
  tf.dispose([...enc, ...dec]);
  const sigmaWeight = msg.weights[nEnc + nDec];
  if (logSigma && sigmaWeight) tf.tidy(() => logSigma.assign(tf.scalar(sigmaWeight.data[0]!)));
  if (msg.optimizer.length > 0 && !msg.fused) {
    const state = msg.optimizer.map((w) => ({ name: w.name, tensor: tf.tensor(w.data, w.shape, 'float32') }));
    await optimizer.setWeights(state);
    tf.dispose(state.map((s) => s.tensor));
  }

  const layout = flatLayout(vars);
  const half = msg.gradients.byteLength / 2;
  return {
    encoder,
    decoder,
    optimizer,
    logSigma,
    vars,
    modelVars,
    forward: makeForward(encoder, decoder, spec),
    layout,
    gradients: [new Float32Array(msg.gradients, 0, half / 4), new Float32Array(msg.gradients, half, half / 4)],
    slot: msg.slot,
    dim: msg.shape.width * msg.shape.height * msg.shape.channels,
    latentDim: config.model.latentDim,
    clipNorm: config.gradClipNorm,
    weightDecay: config.optimizer.name === 'adamw' ? config.optimizer.weightDecay : 0,
    appliedLr: Number.NaN,
    parity: 0,
    rows: null,
    summed: new Float32Array(layout.total),
    fused: msg.fused ? fusedPart(msg.fused, msg.slot, layout.total) : null,
  };
}

function fusedPart(shared: FusedShared, slot: number, total: number): FusedPart {
  const [lo, hi] = paramSlices(total, shared.participants)[slot]!;
  return {
    shared,
    weights: new Float32Array(shared.weights),
    m: new Float32Array(shared.m),
    v: new Float32Array(shared.v),
    lo,
    hi,
    iterations: shared.iterations,
  };
}

function handle(tf: Tf, r: Replica, msg: Exclude<ToReplica, { type: 'init' }>, send: (m: FromReplica, transfer?: ArrayBuffer[]) => void): void {
  switch (msg.type) {
    case 'kl': {
      r.rows = { x: msg.x, eps: msg.eps };
      const sums = shardKlSums(tf, r.encoder, msg.x, msg.rows, r.dim);
      send({ type: 'kl', sums }, [sums.buffer as ArrayBuffer]);
      return;
    }
    case 'grad': {
      const rows = msg.x && msg.eps ? { x: msg.x, eps: msg.eps } : r.rows;
      if (!rows) throw new Error("'grad' without rows");
      r.rows = null;
      const g = shardGradients(tf, r.forward, r.vars, { ...rows, rows: msg.rows, dim: r.dim, latentDim: r.latentDim }, msg.nTotal, msg.beta, msg.mask);
      const total = r.layout.total;
      writeGradients(g.grads, r.gradients[r.parity]!.subarray(r.slot * total, (r.slot + 1) * total), r.layout);
      send({ type: 'grad', reconSum: g.reconSum, klSum: g.klSum });
      return;
    }
    case 'apply': {
      const flat = sumSlots(r.gradients[r.parity]!, r.layout.total, msg.participants, r.summed);
      r.parity ^= 1;
      if (msg.lr !== r.appliedLr) {
        setLearningRate(r.optimizer, msg.lr);
        r.appliedLr = msg.lr;
      }
      const norm = applyUpdate(tf, r.optimizer, gradientMap(tf, flat, r.vars, r.layout), {
        lr: msg.lr,
        clipNorm: r.clipNorm,
        weightDecay: r.weightDecay,
        decayed: r.modelVars,
      });
      norm.dispose();
      return;
    }
    case 'reduce': {
      const f = fusedOf(r);
      const sq = reduceSlice(r.gradients[r.parity]!, r.layout.total, msg.participants, f.lo, f.hi, r.summed);
      r.parity ^= 1;
      send({ type: 'reduce', sq });
      return;
    }
    case 'update': {
      const f = fusedOf(r);
      const s = f.shared;
      adamSlice(f.weights, f.m, f.v, r.summed, f.lo, f.hi, s.decayEnd, {
        lr: msg.lr,
        beta1: s.beta1,
        beta2: s.beta2,
        epsilon: s.epsilon,
        weightDecay: s.weightDecay,
        scale: msg.scale,
        iterations: f.iterations,
      });
      f.iterations++;
      send({ type: 'updated' });
      return;
    }
    case 'load': {
      loadFlatWeights(tf, fusedOf(r).weights, r.vars, r.layout);
      return;
    }
    case 'weights': {
      send({ type: 'weights', weights: replicaWeights(r) });
      return;
    }
  }
}

function fusedOf(r: Replica): FusedPart {
  if (!r.fused) throw new Error('a sharded-Adam message to a replica without sharded Adam');
  return r.fused;
}

/** Encoder, decoder and log-sigma values, in the order of the 'init' message. */
function replicaWeights(r: Replica): PlainTensor[] {
  const out: PlainTensor[] = [];
  for (const w of [...r.encoder.weights, ...r.decoder.weights]) {
    const t = w.read();
    out.push({ name: w.name, shape: [...t.shape], data: t.dataSync() as Float32Array });
  }
  if (r.logSigma) out.push({ name: 'logSigma', shape: [], data: r.logSigma.dataSync() as Float32Array });
  return out;
}

/** Frees a replica's tensors (the thread's end frees them too; tests call this to count leaks). */
export function disposeReplica(r: Replica): void {
  disposeOptimizer(r.optimizer);
  r.logSigma?.dispose();
  r.encoder.dispose();
  r.decoder.dispose();
}
