/**
 * The native step engine: each training step is one run of an ONNX Runtime session over the step
 * graph of vae-step.ts (forward, loss, gradient, clipping, the optimiser's update), on ONNX
 * Runtime's CPU kernels with `threads` intra-op threads. The weights and optimiser slots live here,
 * as the session's outputs fed back as the next step's inputs; the tfjs model stays the run's model
 * of record: syncModel() copies the weights into it before it is evaluated, previewed or exported,
 * and syncOptimizer() the slots and iteration count into its tfjs optimiser before a checkpoint. So
 * checkpoints are the studio's usual tfjs files, and a run can resume on any engine.
 *
 * The noise and the data of a step come from core/train.ts exactly as for the tfjs step (the same
 * seeded streams), so both engines compute the same function and differ by float32 rounding only.
 * onnxruntime-node is a native addon: the trainer loads it (trainer/backend.ts) and passes it in.
 */
import type * as OrtModule from 'onnxruntime-node';
import type { Optimizer, Variable } from '@tensorflow/tfjs';
import type { TrainConfig } from '../../contract/config.ts';
import { encodeModel } from '../export/onnx-proto.ts';
import type { StepEngine } from '../parallel/engine.ts';
import type { Tf } from '../tf.ts';
import type { ImageShape } from '../vae.ts';
import { captureOptimizerState, slotSpec, writeOptimizerState } from './optimizer-state.ts';
import { buildStepGraph } from './vae-step.ts';

/** What the engine needs of onnxruntime-node. */
export type OrtRuntime = Pick<typeof OrtModule, 'InferenceSession' | 'Tensor'>;

export interface OrtEngineOptions {
  ort: OrtRuntime;
  tf: Tf;
  config: TrainConfig;
  shape: ImageShape;
  /** ONNX Runtime's intra-op threads. */
  threads: number;
  optimizer: Optimizer;
  logSigma: Variable | null;
  /** The trainable variables in the step graph's parameter order (encoder, decoder, log-sigma). */
  vars: Variable[];
}

export interface OrtStepEngine extends StepEngine {
  /** Copies the current weights into the tfjs variables. */
  syncModel(): void;
}

/** Serialised step graph of a config (also what a test feeds a session of its own). */
export function stepModelBytes(config: TrainConfig, shape: ImageShape): { bytes: Uint8Array; params: number[][]; slots: number } {
  const { graph, params, slots } = buildStepGraph(config, shape);
  const bytes = encodeModel({ irVersion: 7, opsetVersion: 13, producerName: 'vae-studio', producerVersion: 'step', graph });
  return { bytes, params, slots };
}

export async function createOrtEngine(o: OrtEngineOptions): Promise<OrtStepEngine> {
  const { ort, tf, config, vars, optimizer } = o;
  const { bytes, params, slots } = stepModelBytes(config, o.shape);
  if (params.length !== vars.length) throw new Error(`internal: the step graph has ${params.length} parameters, the model ${vars.length}`);
  params.forEach((shp, i) => {
    const want = vars[i]!.shape;
    if (shp.length !== want.length || shp.some((d, k) => d !== want[k])) {
      throw new Error(`internal: step graph parameter ${i} is [${shp.join(', ')}], variable ${vars[i]!.name} is [${want.join(', ')}]`);
    }
  });
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });

  let w: Float32Array[] = vars.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  const slotsOf = slotSpec(config.optimizer);
  const state = await captureOptimizerState(optimizer, slotsOf, vars);
  let slot: Float32Array[][] = state.slots;
  // tfjs's Adam keeps beta^t as a float32 variable multiplied by beta every step; the same product
  // here, recomputed from the iteration count so that a resumed run continues exactly.
  const f32 = Math.fround;
  const opt = config.optimizer;
  const [b1, b2] = opt.name === 'adam' || opt.name === 'adamw' ? [f32(opt.beta1), f32(opt.beta2)] : [0, 0];
  let acc1 = b1;
  let acc2 = b2;
  for (let t = 0; t < state.iterations; t++) {
    acc1 = f32(acc1 * b1);
    acc2 = f32(acc2 * b2);
  }
  const weightDecay = opt.name === 'adamw' ? opt.weightDecay : 0;
  const D = o.shape.width * o.shape.height * o.shape.channels;
  const L = config.model.latentDim;
  const scalar = (x: number) => new ort.Tensor('float32', Float32Array.of(x), []);
  let closed = false;

  return {
    threads: o.threads,
    async step(xData, epsData, n, beta, lr) {
      const feeds: Record<string, OrtModule.Tensor> = {
        x: new ort.Tensor('float32', xData.length === n * D ? xData : xData.subarray(0, n * D), [n, D]),
        eps: new ort.Tensor('float32', epsData.length === n * L ? epsData : epsData.subarray(0, n * L), [n, L]),
        beta: scalar(beta),
        invBatch: scalar(1 / n),
        lr: scalar(lr),
        keep: scalar(weightDecay > 0 ? f32(1 - lr * weightDecay) : 1),
        oneMinusAcc1: scalar(f32(1 - acc1)),
        oneMinusAcc2: scalar(f32(1 - acc2)),
      };
      params.forEach((shp, i) => {
        feeds[`p${i}`] = new ort.Tensor('float32', w[i]!, shp);
        for (let k = 0; k < slots; k++) feeds[`s${k}_${i}`] = new ort.Tensor('float32', slot[k]![i]!, shp);
      });
      const out = await session.run(feeds);
      const read = (name: string) => {
        const t = out[name];
        if (!t) throw new Error(`internal: the step graph returned no '${name}'`);
        return t.data as Float32Array;
      };
      w = params.map((_, i) => read(`p${i}_next`));
      slot = slot.map((_, k) => params.map((__, i) => read(`s${k}_${i}_next`)));
      acc1 = f32(acc1 * b1);
      acc2 = f32(acc2 * b2);
      state.iterations++;
      return read('stats');
    },
    syncModel() {
      vars.forEach((variable, i) => {
        const t = tf.tensor(w[i]!.slice(), [...variable.shape], 'float32');
        variable.assign(t);
        t.dispose();
      });
    },
    async syncOptimizer() {
      await writeOptimizerState(tf, optimizer, slotsOf, vars, { iterations: state.iterations, slots: slot });
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}

/**
 * Proves that ONNX Runtime computes the step, for `vae-studio doctor`: a tiny MLP VAE with every
 * weight zero has mu = logvar = 0 (KL 0) and Bernoulli logits 0, so its reconstruction NLL is
 * D ln 2 per sample whatever the data. Throws when the session fails or the values are wrong.
 */
export async function checkNativeStep(ort: OrtRuntime, config: TrainConfig): Promise<void> {
  const D = 6;
  const small: TrainConfig = { ...config, model: { ...config.model, kind: 'mlp', hidden: [3], latentDim: 2 }, likelihood: 'bernoulli', freeBits: 0, gradClipNorm: 0 };
  const { bytes, params, slots } = stepModelBytes(small, { width: D, height: 1, channels: 1 });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const t = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
    const feeds: Record<string, OrtModule.Tensor> = {
      x: t(Float32Array.of(0, 1, 0.5, 1, 0, 0.25, 1, 1, 0, 0, 0.75, 1), [2, D]),
      eps: t(Float32Array.of(0.3, -1.2, 2, 0.1), [2, 2]),
      beta: t(Float32Array.of(1), []),
      invBatch: t(Float32Array.of(0.5), []),
      lr: t(Float32Array.of(1e-3), []),
      keep: t(Float32Array.of(1), []),
      oneMinusAcc1: t(Float32Array.of(0.1), []),
      oneMinusAcc2: t(Float32Array.of(0.001), []),
    };
    params.forEach((shp, i) => {
      const n = shp.reduce((a, b) => a * b, 1);
      feeds[`p${i}`] = t(new Float32Array(n), shp);
      for (let k = 0; k < slots; k++) feeds[`s${k}_${i}`] = t(new Float32Array(n), shp);
    });
    const out = await session.run(feeds);
    const stats = out['stats']?.data as Float32Array | undefined;
    const want = D * Math.LN2;
    if (!stats || Math.abs(stats[0]! - want) > 1e-4 || Math.abs(stats[1]!) > 1e-6) {
      throw new Error(`the native step computed wrong values: reconstruction ${stats?.[0]}, KL ${stats?.[1]} instead of ${want.toFixed(6)}, 0`);
    }
  } finally {
    await session.release();
  }
}
