/**
 * One VAE training step as an ONNX graph (graph.ts): the forward pass of vae.ts's encoder and
 * decoder, the loss of core/train.ts (likelihoods of losses.ts, KL, beta, free bits), its gradient,
 * clipping by global norm and the update of the configured tfjs optimiser (Adam, AdamW, RMSprop,
 * SGD with or without momentum) with the same float32 formulas, so that a run can move between
 * this engine and the tfjs step at any checkpoint.
 *
 * The parameters keep tfjs's layouts and order (encoder.trainableWeights, decoder.trainableWeights,
 * then log-sigma when learned): dense kernels [in, out], conv kernels [kh, kw, in, out], transposed
 * conv kernels [kh, kw, out, in]. The graph transposes the conv kernels to ONNX's layouts itself, so
 * weights and moments go in and out of the session exactly as tfjs holds them.
 *
 * Inputs: x [N, D], eps [N, L] and the scalars below; p{i} per parameter and its optimiser slots
 * s{k}_{i} (optimizer-state.ts: Adam's m and v, RMSprop's rms and momentum, SGD's momentum).
 * Outputs: p{i}_next, s{k}_{i}_next, and stats [4] = mean reconstruction NLL, mean KL, the
 * objective's KL term (free bits applied), the gradient's global norm before clipping.
 */
import type { ModelConfig, TrainConfig } from '../../contract/config.ts';
import { convAxis, convTransposeAxis } from '../export/onnx.ts';
import type { ImageShape } from '../vae.ts';
import { CONV_STRIDE, convGeometry } from '../vae.ts';
import { TrainGraph, type ConvSpec, type Val } from './graph.ts';
import { slotSpec } from './optimizer-state.ts';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const LEAKY_ALPHA = 0.2;
const CB_TAYLOR_BELOW = 0.25;

/** The scalar inputs of a step, fed every step (shape []). */
export const STEP_SCALARS = ['beta', 'invBatch', 'lr', 'keep', 'oneMinusAcc1', 'oneMinusAcc2'] as const;
export type StepScalar = (typeof STEP_SCALARS)[number];

export interface StepGraph {
  graph: ReturnType<TrainGraph['graph']>;
  /** Parameter shapes in tfjs's order (the p{i} inputs). */
  params: number[][];
  /** Optimiser slots per parameter (the s{k}_{i} inputs). */
  slots: number;
}

/**
 * Configs the step graph covers; the reason otherwise (the trainer then keeps the tfjs step).
 * Every option of the config schema is covered today; the check stays for options added later.
 */
export function stepGraphUnsupported(config: TrainConfig): string | null {
  const o = config.optimizer.name;
  if (!['adam', 'adamw', 'rmsprop', 'sgd'].includes(o)) return `the ${o} optimiser runs on the tfjs step (the native step does not implement it)`;
  return null;
}

export function buildStepGraph(config: TrainConfig, shape: ImageShape): StepGraph {
  const why = stepGraphUnsupported(config);
  if (why) throw new Error(why);
  const g = new TrainGraph();
  const model = config.model;
  const D = shape.width * shape.height * shape.channels;
  const L = model.latentDim;
  const x = g.input('x', [-1, D]);
  const eps = g.input('eps', [-1, L]);
  const s = Object.fromEntries(STEP_SCALARS.map((k) => [k, g.input(k, [])])) as Record<StepScalar, Val>;

  const params: Val[] = [];
  const param = (shp: number[]): Val => {
    const v = g.input(`p${params.length}`, shp, true);
    params.push(v);
    return v;
  };
  // Parameters are created in tfjs's trainableWeights order: encoder, decoder, then log-sigma.
  const { mu, logvar } = encoderGraph(g, config.model, shape, x, param);
  const out = decoderGraph(g, config.model, shape, reparameterise(g, mu, logvar, eps), param);
  const logSigma = config.likelihood === 'gaussian' && config.gaussianSigmaMode === 'learned' ? param([]) : null;

  // ── the loss (train.ts localStep) ──
  const recon = reconstruction(g, config, x, out, logSigma, D);
  const reconMean = g.mul(g.reduceSum(recon, [0]), s.invBatch);
  // KL per dimension: 0.5 (exp(logvar) - 1 - logvar + mu^2) (losses.ts klPerDimension)
  const klDims = g.mul(g.add(g.sub(g.sub(g.exp(logvar), g.scalar(1)), logvar), g.square(mu)), g.scalar(0.5));
  const klDimMean = g.mul(g.reduceSum(klDims, [0]), s.invBatch);
  const klMean = g.reduceSum(klDimMean, [0]);
  const klObjective = config.freeBits > 0 ? g.reduceSum(g.maximum(klDimMean, config.freeBits), [0]) : klMean;
  const loss = g.add(reconMean, g.mul(klObjective, s.beta));
  const grads = g.gradients(loss, params);

  // ── clipping, decay and the update (train.ts applyUpdate, tfjs's optimisers) ──
  const sq = grads.map((gr) => g.node('ReduceSumSquare', [gr], [], [{ name: 'keepdims', kind: 'int', value: 0 }], false));
  const total = sq.length === 1 ? sq[0]! : g.node('Sum', sq, [], undefined, false);
  const norm = g.raw1('Sqrt', total);
  const clip = config.gradClipNorm;
  const scale = clip > 0 ? g.raw('Div', g.scalar(clip), g.raw('Max', norm, g.scalar(clip))) : null;
  const opt = config.optimizer;
  const slots = slotSpec(opt).suffixes.length;
  const f = (x: number) => g.scalar(x);
  params.forEach((p, i) => {
    const st = Array.from({ length: slots }, (_, k) => g.input(`s${k}_${i}`, p.shape));
    const gr = scale ? g.raw('Mul', grads[i]!, scale) : grads[i]!;
    let next: Val;
    let nextSlots: Val[];
    switch (opt.name) {
      case 'adam':
      case 'adamw': {
        // tfjs AdamOptimizer: m/(1 - beta1^t) over sqrt(v/(1 - beta2^t)) + epsilon.
        const m2 = g.raw('Add', g.raw('Mul', st[0]!, f(opt.beta1)), g.raw('Mul', gr, f(1 - opt.beta1)));
        const v2 = g.raw('Add', g.raw('Mul', st[1]!, f(opt.beta2)), g.raw('Mul', g.raw('Mul', gr, gr), f(1 - opt.beta2)));
        const mHat = g.raw('Div', m2, s.oneMinusAcc1);
        const vHat = g.raw('Div', v2, s.oneMinusAcc2);
        const delta = g.raw('Div', g.raw('Mul', mHat, s.lr), g.raw('Add', g.raw1('Sqrt', vHat), f(opt.epsilon)));
        // AdamW's decoupled decay scales the weights before the update; log-sigma is not decayed.
        const base = p === logSigma ? p : g.raw('Mul', p, s.keep);
        next = g.raw('Sub', base, delta);
        nextSlots = [m2, v2];
        break;
      }
      case 'rmsprop': {
        // tfjs RMSPropOptimizer (momentum 0, not centred): the update is kept as its 'momentum' slot.
        const ms = g.raw('Add', g.raw('Mul', st[0]!, f(opt.rho)), g.raw('Mul', g.raw('Mul', gr, gr), f(1 - opt.rho)));
        const mom = g.raw('Add', g.raw('Mul', st[1]!, f(0)), g.raw('Div', g.raw('Mul', gr, s.lr), g.raw1('Sqrt', g.raw('Add', ms, f(opt.epsilon)))));
        next = g.raw('Sub', p, mom);
        nextSlots = [ms, mom];
        break;
      }
      case 'sgd': {
        // tfjs MomentumOptimizer: acc = momentum acc + g, w += -lr acc; SGDOptimizer: w += -lr g.
        const negLr = g.raw1('Neg', s.lr);
        if (slots === 0) {
          next = g.raw('Add', g.raw('Mul', negLr, gr), p);
          nextSlots = [];
        } else {
          const acc = g.raw('Add', g.raw('Mul', st[0]!, f(opt.momentum)), gr);
          next = g.raw('Add', g.raw('Mul', negLr, acc), p);
          nextSlots = [acc];
        }
        break;
      }
    }
    g.output(next, `p${i}_next`);
    nextSlots.forEach((v, k) => g.output(v, `s${k}_${i}_next`));
  });
  const stats = g.node('Concat', [reconMean, klMean, klObjective, norm].map((t) => g.node('Reshape', [t, g.ints([1])], [1], undefined, false)), [4], [
    { name: 'axis', kind: 'int', value: 0 },
  ], false);
  g.output(stats, 'stats');
  return { graph: g.graph('vae_train_step'), params: params.map((p) => [...p.shape]), slots };
}

/** z = mu + exp(logvar / 2) * eps (Kingma & Welling 2014, section 2.4). */
function reparameterise(g: TrainGraph, mu: Val, logvar: Val, eps: Val): Val {
  return g.add(mu, g.mul(g.exp(g.mul(logvar, g.scalar(0.5))), eps));
}

/** Makes one parameter of the given shape (a graph input to train, a constant to evaluate). */
export type ParamSource = (shape: number[]) => Val;

function layerKit(g: TrainGraph, model: ModelConfig, param: ParamSource) {
  const act = (h: Val): Val => {
    switch (model.activation) {
      case 'relu':
        return g.relu(h);
      case 'tanh':
        return g.tanh(h);
      case 'elu':
        return g.elu(h);
      case 'leakyRelu':
        return g.leakyRelu(h, LEAKY_ALPHA);
    }
  };
  const dense = (h: Val, units: number, linear = false): Val => {
    const w = param([h.shape[1]!, units]);
    const b = param([units]);
    const y = g.dense(h, w, b);
    return linear ? y : act(y);
  };
  return { act, dense };
}

/** vae.ts's encoder on x [N, D]: its parameters drawn from `param` in trainableWeights order. */
export function encoderGraph(g: TrainGraph, model: ModelConfig, shape: ImageShape, x: Val, param: ParamSource): { mu: Val; logvar: Val } {
  const { act, dense } = layerKit(g, model, param);
  const L = model.latentDim;
  let h = x;
  if (model.kind === 'mlp') {
    for (const units of model.hidden) h = dense(h, units);
  } else {
    const k = model.kernelSize;
    const { height: H, width: W, channels: C } = shape;
    h = g.transpose(g.reshape(x, [-1, H, W, C]), [0, 3, 1, 2]);
    let [hh, ww, cc] = [H, W, C];
    for (const filters of model.channels) {
      const kern = param([k, k, cc, filters]);
      const b = param([filters]);
      const ah = convAxis(hh, k, CONV_STRIDE, 'same');
      const aw = convAxis(ww, k, CONV_STRIDE, 'same');
      const spec: ConvSpec = { strides: [CONV_STRIDE, CONV_STRIDE], pads: [ah.begin, aw.begin, ah.end, aw.end] };
      h = act(g.conv(h, g.transpose(kern, [3, 2, 0, 1]), b, spec));
      [hh, ww, cc] = [ah.out, aw.out, filters];
    }
    h = g.reshape(g.transpose(h, [0, 2, 3, 1]), [-1, hh * ww * cc]);
    if (model.denseUnits > 0) h = dense(h, model.denseUnits);
  }
  const mu = dense(h, L, true);
  const logvar = dense(h, L, true);
  return { mu, logvar };
}

/** vae.ts's decoder on z [N, L] -> [N, D] (logits or means): parameters in trainableWeights order. */
export function decoderGraph(g: TrainGraph, model: ModelConfig, shape: ImageShape, z: Val, param: ParamSource): Val {
  const { act, dense } = layerKit(g, model, param);
  const D = shape.width * shape.height * shape.channels;
  let d = z;
  if (model.kind === 'mlp') {
    for (const units of [...model.hidden].reverse()) d = dense(d, units);
    return dense(d, D, true);
  }
  const geo = convGeometry(model, shape);
  const k = model.kernelSize;
  const C = shape.channels;
  const [hL, wL] = geo.encoderSizes[geo.encoderSizes.length - 1]!;
  const cL = model.channels[model.channels.length - 1]!;
  if (model.denseUnits > 0) d = dense(d, model.denseUnits);
  d = dense(d, hL * wL * cL);
  d = g.transpose(g.reshape(d, [-1, hL, wL, cL]), [0, 3, 1, 2]);
  let [dh, dw, dc] = [hL, wL, cL];
  for (let i = model.channels.length - 1; i >= 0; i--) {
    const last = i === 0;
    const filters = last ? C : model.channels[i - 1]!;
    const kern = param([k, k, filters, dc]);
    const b = param([filters]);
    const ah = convTransposeAxis(dh, k, CONV_STRIDE, 'same');
    const aw = convTransposeAxis(dw, k, CONV_STRIDE, 'same');
    const spec: ConvSpec = { strides: [CONV_STRIDE, CONV_STRIDE], pads: [ah.begin, aw.begin, ah.end, aw.end] };
    d = g.convTranspose(d, g.transpose(kern, [3, 2, 0, 1]), b, spec, [ah.outputPadding, aw.outputPadding]);
    if (!last) d = act(d);
    [dh, dw, dc] = [ah.out, aw.out, filters];
  }
  const [[top, bottom], [left, right]] = geo.crop;
  if (top + bottom + left + right > 0) d = g.slice(d, [2, 3], [top, left], [dh - bottom, dw - right]);
  return g.reshape(g.transpose(d, [0, 2, 3, 1]), [-1, D]);
}

/** -log p(x | decoder output) per row, [N] (losses.ts reconstructionNll). */
export function reconstruction(g: TrainGraph, config: TrainConfig, x: Val, out: Val, logSigma: Val | null, D: number): Val {
  switch (config.likelihood) {
    case 'bernoulli':
      return g.reduceSum(g.sub(g.softplus(out), g.mul(x, out)), [1]);
    case 'continuousBernoulli': {
      const a = g.abs(out);
      const big = g.maximum(a, CB_TAYLOR_BELOW);
      const exact = g.sub(g.log(big), g.log(g.tanh(g.mul(big, g.scalar(0.5)))));
      const y = g.mul(a, g.scalar(0.5));
      const y2 = g.square(y);
      const series = g.add(g.mul(g.add(g.mul(g.sub(g.mul(y2, g.scalar(62 / 2835)), g.scalar(7 / 90)), y2), g.scalar(1 / 3)), y2), g.scalar(Math.LN2));
      const logC = g.where(g.raw('GreaterOrEqual', a, g.scalar(CB_TAYLOR_BELOW)), exact, series);
      return g.reduceSum(g.sub(g.sub(g.softplus(out), g.mul(x, out)), logC), [1]);
    }
    case 'gaussian': {
      const sse = g.reduceSum(g.square(g.sub(x, out)), [1]);
      if (logSigma) {
        const inv = g.mul(g.exp(g.mul(logSigma, g.scalar(-2))), g.scalar(0.5));
        return g.add(g.mul(sse, inv), g.mul(g.add(logSigma, g.scalar(HALF_LOG_2PI)), g.scalar(D)));
      }
      const sigma = config.gaussianSigma;
      return g.add(g.mul(sse, g.scalar(0.5 / (sigma * sigma))), g.scalar(D * (Math.log(sigma) + HALF_LOG_2PI)));
    }
  }
}
