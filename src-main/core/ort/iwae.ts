/**
 * The heavy part of the importance-weighted bound (core/iwae.ts) on ONNX Runtime: decoding the k
 * samples of every image and scoring them. One graph per evaluation, the decoder's trained weights
 * baked in as constants:
 *
 *   log w = log p(x|z) + log p(z) - log q(z|x) = 0.5 (|eps|^2 - |z|^2 + sum_j logvar_j) - nll(x | decoder(z))
 *
 * with the likelihood terms of the training graph (vae-step.ts reconstruction), a Gaussian's sigma
 * fixed at the checkpoint's value. Inputs z, eps [R, L], lvSum [R] and x [R, D] (each image row
 * repeated for its samples); output logW [R]. The encoder, the noise and the running logsumexp stay
 * in iwae.ts, so both paths draw the same samples and differ by float32 rounding only.
 */
import type * as OrtModule from 'onnxruntime-node';
import type { LayersModel } from '@tensorflow/tfjs';
import type { ModelConfig, TrainConfig } from '../../contract/config.ts';
import { encodeModel } from '../export/onnx-proto.ts';
import type { NativeLogWeights } from '../iwae.ts';
import type { ImageShape } from '../vae.ts';
import type { OrtRuntime } from './engine.ts';
import { TrainGraph } from './graph.ts';
import { decoderGraph, reconstruction } from './vae-step.ts';

export interface LogWeightModel {
  model: ModelConfig;
  shape: ImageShape;
  likelihood: TrainConfig['likelihood'];
  /** The Gaussian's sigma (ignored by the Bernoulli likelihoods). */
  gaussianSigma: number;
  /** The decoder's weights in its trainableWeights order, with their shapes. */
  weights: ReadonlyArray<{ data: Float32Array; shape: number[] }>;
}

export function logWeightModelBytes(m: LogWeightModel): Uint8Array {
  const g = new TrainGraph();
  const D = m.shape.width * m.shape.height * m.shape.channels;
  const L = m.model.latentDim;
  const z = g.input('z', [-1, L]);
  const eps = g.input('eps', [-1, L]);
  const lvSum = g.input('lvSum', [-1]);
  const x = g.input('x', [-1, D]);
  let next = 0;
  const out = decoderGraph(g, m.model, m.shape, z, (shape) => {
    const w = m.weights[next++];
    if (!w) throw new Error(`the decoder has ${m.weights.length} weights; its config needs more`);
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`decoder weight ${next - 1} is [${w.shape.join(', ')}], the config needs [${shape.join(', ')}]`);
    }
    return g.constant(w.data, shape);
  });
  if (next !== m.weights.length) throw new Error(`the decoder has ${m.weights.length} weights; its config uses ${next}`);
  const spec = { likelihood: m.likelihood, gaussianSigma: m.gaussianSigma, gaussianSigmaMode: 'fixed' } as TrainConfig;
  const nll = reconstruction(g, spec, x, out, null, D);
  // Opset 13's ReduceSumSquare takes its axes as an attribute.
  const sq = (v: typeof z) => g.node('ReduceSumSquare', [v], [-1], [{ name: 'axes', kind: 'ints', value: [1] }, { name: 'keepdims', kind: 'int', value: 0 }], false);
  const prior = g.raw('Mul', g.raw('Add', g.raw('Sub', sq(eps), sq(z)), lvSum), g.scalar(0.5));
  g.output(g.raw('Sub', prior, nll), 'logW');
  return encodeModel({ irVersion: 7, opsetVersion: 13, producerName: 'vae-studio', producerVersion: 'iwae', graph: g.graph('vae_log_weights') });
}

/** The decoder's weights as logWeightModelBytes wants them. */
export function decoderWeights(decoder: LayersModel): LogWeightModel['weights'] {
  return decoder.trainableWeights.map((w) => ({ data: Float32Array.from(w.read().dataSync() as Float32Array), shape: [...w.shape] as number[] }));
}

/** A session scoring samples for iwaeNll; close() it when the evaluation is done. */
export async function createNativeLogWeights(ort: OrtRuntime, m: LogWeightModel, threads: number): Promise<NativeLogWeights & { close(): Promise<void> }> {
  const session = await ort.InferenceSession.create(logWeightModelBytes(m), { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const L = m.model.latentDim;
  const D = m.shape.width * m.shape.height * m.shape.channels;
  return {
    async logWeights(z, eps, lvSum, x, rows) {
      const t = (data: Float32Array, dims: number[]): OrtModule.Tensor => new ort.Tensor('float32', data, dims);
      const out = await session.run({ z: t(z, [rows, L]), eps: t(eps, [rows, L]), lvSum: t(lvSum, [rows]), x: t(x, [rows, D]) });
      const w = out['logW'];
      if (!w) throw new Error('internal: the log-weight graph returned no logW');
      return w.data as Float32Array;
    },
    close: () => session.release(),
  };
}
