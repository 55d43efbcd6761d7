/**
 * Translates a tfjs Layers model (model.json topology + float32 weights, tfjs.ts readModelFiles)
 * into an ONNX graph (opset 13) that computes the same function, for the layers the studio's MLP
 * and conv VAEs use (vae.ts):
 *
 *   Dense              Gemm(x, W [in, out], b), then its activation
 *   activations        Relu, Tanh, Elu (alpha 1), Sigmoid, Softplus; LeakyReLU -> LeakyRelu(alpha)
 *   Reshape to [H,W,C] Reshape [-1, H, W, C] (tfjs is channels-last) -> Transpose to NCHW, the
 *                      layout ONNX's Conv works in
 *   Conv2D             Conv, kernel [kh, kw, in, out] -> [out, in, kh, kw]; 'same' padding written
 *                      out explicitly as tfjs computes it (TensorFlow's rule: total = max((out - 1)
 *                      * stride + k - in, 0), the smaller half at the top / left)
 *   Conv2DTranspose    ConvTranspose, kernel [kh, kw, out, in] -> [in, out, kh, kw]; tfjs computes
 *                      it as the gradient of the forward convolution with the same padding, which
 *                      is ONNX's ConvTranspose with those pads (+ output_padding when needed)
 *   Cropping2D         Slice on the H and W axes
 *   Flatten            Transpose back to NHWC, then Flatten: the flat order stays tfjs's H, W, C
 *
 * Inputs and outputs are rank 2 with a symbolic batch dimension 'batch'.
 */
import type { OnnxGraph, OnnxInitializer, OnnxModel, OnnxNode } from './onnx-proto.ts';
import { encodeModel } from './onnx-proto.ts';
import type { LayerJson, LoadedModelFiles } from './tfjs.ts';

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

/** A tensor of the graph being built: its ONNX value name and its logical tfjs shape (no batch). */
interface Value {
  name: string;
  /** 'flat': [batch, n]; 'nchw': a tfjs [batch, H, W, C] tensor kept as [batch, C, H, W]. */
  layout: 'flat' | 'nchw';
  /** [n] for flat, [H, W, C] for nchw. */
  shape: number[];
}

export interface OnnxExportOptions {
  graphName: string;
  /** Names of the graph outputs, in the order of the model's output layers. */
  outputNames: readonly string[];
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/** Permutes a dense row-major tensor of shape `shape` by `perm` (out axis i = in axis perm[i]). */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): { data: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = strides(shape);
  const outStrides = strides(outShape);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let rem = o;
    let src = 0;
    for (let i = 0; i < outShape.length; i++) {
      idx[i] = Math.floor(rem / outStrides[i]!);
      rem -= idx[i]! * outStrides[i]!;
      src += idx[i]! * inStrides[perm[i]!]!;
    }
    out[o] = data[src]!;
  }
  return { data: out, shape: outShape };
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Padding of one spatial axis of a stride-s convolution of an `inSize` input, as tfjs computes it. */
export function convAxis(inSize: number, k: number, s: number, padding: string): { out: number; begin: number; end: number } {
  if (padding === 'same') {
    const out = Math.ceil(inSize / s);
    const total = Math.max((out - 1) * s + k - inSize, 0);
    return { out, begin: Math.floor(total / 2), end: total - Math.floor(total / 2) };
  }
  if (padding === 'valid') return { out: Math.ceil((inSize - k + 1) / s), begin: 0, end: 0 };
  throw new Error(`padding "${padding}" is not supported`);
}

/**
 * One spatial axis of tfjs's transposed convolution: the output size (deconvLength) and the pads of
 * the forward convolution it is the gradient of, plus the output_padding ONNX then needs.
 */
export function convTransposeAxis(inSize: number, k: number, s: number, padding: string): { out: number; begin: number; end: number; outputPadding: number } {
  let out: number;
  if (padding === 'same') out = inSize * s;
  else if (padding === 'valid') out = inSize * s + Math.max(k - s, 0);
  else throw new Error(`padding "${padding}" is not supported`);
  const fwd = convAxis(out, k, s, padding);
  const outputPadding = out - ((inSize - 1) * s + k - fwd.begin - fwd.end);
  if (outputPadding < 0 || outputPadding >= s) throw new Error(`a transposed convolution of ${inSize} by kernel ${k}, stride ${s} has no ONNX equivalent`);
  return { out, begin: fwd.begin, end: fwd.end, outputPadding };
}

const pair = (v: unknown, what: string): [number, number] => {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((x) => Number.isInteger(x))) throw new Error(`${what} must be two integers, got ${JSON.stringify(v)}`);
  return a as [number, number];
};

/** Builds the ONNX graph of a tfjs Layers model. Throws on a layer or setting it cannot translate. */
export function layersToOnnxGraph(model: LoadedModelFiles, opts: Pick<OnnxExportOptions, 'graphName' | 'outputNames' | 'docString'>): OnnxGraph {
  const topo = model.json.modelTopology.config;
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [];
  const inputs: OnnxGraph['inputs'][number][] = [];
  const values = new Map<string, Value>();
  // The graph's output names are reserved first, so that no layer (say one named 'mu') takes them.
  const used = new Set<string>(opts.outputNames);
  if (used.size !== opts.outputNames.length) throw new Error(`output names must differ: ${opts.outputNames.join(', ')}`);
  const unique = (base: string): string => {
    let n = base;
    for (let i = 2; used.has(n); i++) n = `${base}_${i}`;
    used.add(n);
    return n;
  };
  const node = (opType: string, ins: string[], base: string, attributes?: OnnxNode['attributes']): string => {
    const out = unique(base);
    nodes.push({ opType, name: out, inputs: ins, outputs: [out], ...(attributes ? { attributes } : {}) });
    return out;
  };
  const weight = (layer: LayerJson, which: 'kernel' | 'bias') => {
    const w = model.weights.get(`${layer.name}/${which}`);
    if (!w) throw new Error(`layer ${layer.name}: no weight ${layer.name}/${which} in the model's weights`);
    return w;
  };
  const floatInit = (name: string, dims: number[], data: Float32Array): string => {
    const n = unique(name);
    initializers.push({ name: n, type: 'float', dims, data });
    return n;
  };
  const intInit = (name: string, data: number[]): string => {
    const n = unique(name);
    initializers.push({ name: n, type: 'int64', dims: [data.length], data });
    return n;
  };
  const activation = (layer: LayerJson, input: string): string => {
    const act = String(layer.config['activation'] ?? 'linear');
    const base = `${layer.name}_${act}`;
    switch (act) {
      case 'linear':
        return input;
      case 'relu':
        return node('Relu', [input], base);
      case 'tanh':
        return node('Tanh', [input], base);
      case 'sigmoid':
        return node('Sigmoid', [input], base);
      case 'softplus':
        return node('Softplus', [input], base);
      case 'elu':
        return node('Elu', [input], base, [{ name: 'alpha', kind: 'float', value: 1 }]);
      default:
        throw new Error(`layer ${layer.name}: activation "${act}" is not supported`);
    }
  };
  const toNchw = (v: Value, layer: string): Value => {
    if (v.layout !== 'nchw') throw new Error(`layer ${layer} needs an image input, got a flat one`);
    return v;
  };

  for (const layer of topo.layers) {
    const inbound = layer.inbound_nodes;
    if (inbound.length > 1) throw new Error(`layer ${layer.name} is called ${inbound.length} times; shared layers are not supported`);
    const srcs = (inbound[0] ?? []).map(([name]) => {
      const v = values.get(name);
      if (!v) throw new Error(`layer ${layer.name}: its input ${name} comes later in the topology`);
      return v;
    });
    if (layer.class_name !== 'InputLayer' && srcs.length !== 1) throw new Error(`layer ${layer.name} has ${srcs.length} inputs; only one is supported`);
    const src = srcs[0]!;
    const cfg = layer.config;
    let out: Value;
    switch (layer.class_name) {
      case 'InputLayer': {
        const shape = cfg['batch_input_shape'] as (number | null)[];
        if (!Array.isArray(shape) || shape.length !== 2 || typeof shape[1] !== 'number') {
          throw new Error(`input ${layer.name}: only flat [batch, n] inputs are supported, got ${JSON.stringify(shape)}`);
        }
        if (used.has(layer.name)) throw new Error(`input ${layer.name}: the name is also an output name`);
        used.add(layer.name);
        inputs.push({ name: layer.name, dims: ['batch', shape[1]] });
        out = { name: layer.name, layout: 'flat', shape: [shape[1]] };
        break;
      }
      case 'Dense': {
        if (src.layout !== 'flat') throw new Error(`layer ${layer.name}: a Dense layer on an image is not supported`);
        const k = weight(layer, 'kernel');
        const ins = [src.name, floatInit(`${layer.name}.kernel`, k.shape, k.data)];
        if (cfg['use_bias'] !== false) {
          const b = weight(layer, 'bias');
          ins.push(floatInit(`${layer.name}.bias`, b.shape, b.data));
        }
        const y = node('Gemm', ins, layer.name);
        out = { name: activation(layer, y), layout: 'flat', shape: [k.shape[1]!] };
        break;
      }
      case 'LeakyReLU': {
        const alpha = Number(cfg['alpha'] ?? 0.3);
        out = { ...src, name: node('LeakyRelu', [src.name], layer.name, [{ name: 'alpha', kind: 'float', value: alpha }]) };
        break;
      }
      case 'Reshape': {
        const target = cfg['target_shape'] as number[];
        if (src.layout !== 'flat') throw new Error(`layer ${layer.name}: reshaping an image is not supported`);
        if (target.length === 1) {
          out = { name: node('Reshape', [src.name, intInit(`${layer.name}.shape`, [-1, target[0]!])], layer.name), layout: 'flat', shape: [target[0]!] };
        } else if (target.length === 3) {
          const nhwc = node('Reshape', [src.name, intInit(`${layer.name}.shape`, [-1, ...target])], `${layer.name}_nhwc`);
          const nchw = node('Transpose', [nhwc], layer.name, [{ name: 'perm', kind: 'ints', value: [0, 3, 1, 2] }]);
          out = { name: nchw, layout: 'nchw', shape: [...target] };
        } else throw new Error(`layer ${layer.name}: a reshape to ${JSON.stringify(target)} is not supported`);
        break;
      }
      case 'Flatten': {
        if (src.layout === 'flat') {
          out = src;
          break;
        }
        const nhwc = node('Transpose', [src.name], `${layer.name}_nhwc`, [{ name: 'perm', kind: 'ints', value: [0, 2, 3, 1] }]);
        out = { name: node('Flatten', [nhwc], layer.name, [{ name: 'axis', kind: 'int', value: 1 }]), layout: 'flat', shape: [src.shape.reduce((a, b) => a * b, 1)] };
        break;
      }
      case 'Conv2D':
      case 'Conv2DTranspose': {
        const v = toNchw(src, layer.name);
        if ((cfg['data_format'] ?? 'channels_last') !== 'channels_last') throw new Error(`layer ${layer.name}: only channels_last is supported`);
        const dil = pair(cfg['dilation_rate'] ?? 1, `layer ${layer.name} dilation_rate`);
        if (dil[0] !== 1 || dil[1] !== 1) throw new Error(`layer ${layer.name}: dilated convolutions are not supported`);
        const [kh, kw] = pair(cfg['kernel_size'], `layer ${layer.name} kernel_size`);
        const [sh, sw] = pair(cfg['strides'] ?? 1, `layer ${layer.name} strides`);
        const padding = String(cfg['padding'] ?? 'valid');
        const k = weight(layer, 'kernel');
        // tfjs kernels: Conv2D [kh, kw, in, out]; Conv2DTranspose [kh, kw, out, in]. ONNX: Conv
        // [out, in, kh, kw]; ConvTranspose [in, out, kh, kw]. The same permutation serves both.
        const wt = permute(k.data, k.shape, [3, 2, 0, 1]);
        const ins = [v.name, floatInit(`${layer.name}.kernel`, wt.shape, wt.data)];
        if (cfg['use_bias'] !== false) {
          const b = weight(layer, 'bias');
          ins.push(floatInit(`${layer.name}.bias`, b.shape, b.data));
        }
        const [H, W] = v.shape as [number, number, number];
        const filters = Number(cfg['filters']);
        const common = [
          { name: 'kernel_shape', kind: 'ints', value: [kh, kw] },
          { name: 'strides', kind: 'ints', value: [sh, sw] },
          { name: 'dilations', kind: 'ints', value: [1, 1] },
        ] as const;
        let y: string;
        let outH: number;
        let outW: number;
        if (layer.class_name === 'Conv2D') {
          const ah = convAxis(H, kh, sh, padding);
          const aw = convAxis(W, kw, sw, padding);
          y = node('Conv', ins, layer.name, [...common, { name: 'pads', kind: 'ints', value: [ah.begin, aw.begin, ah.end, aw.end] }]);
          [outH, outW] = [ah.out, aw.out];
        } else {
          const ah = convTransposeAxis(H, kh, sh, padding);
          const aw = convTransposeAxis(W, kw, sw, padding);
          y = node('ConvTranspose', ins, layer.name, [
            ...common,
            { name: 'pads', kind: 'ints', value: [ah.begin, aw.begin, ah.end, aw.end] },
            { name: 'output_padding', kind: 'ints', value: [ah.outputPadding, aw.outputPadding] },
          ]);
          [outH, outW] = [ah.out, aw.out];
        }
        out = { name: activation(layer, y), layout: 'nchw', shape: [outH, outW, filters] };
        break;
      }
      case 'Cropping2D': {
        const v = toNchw(src, layer.name);
        if ((cfg['data_format'] ?? 'channels_last') !== 'channels_last') throw new Error(`layer ${layer.name}: only channels_last is supported`);
        const c = cfg['cropping'] as [[number, number], [number, number]];
        const [[top, bottom], [left, right]] = c;
        const [H, W, C] = v.shape as [number, number, number];
        const y = node(
          'Slice',
          [v.name, intInit(`${layer.name}.starts`, [top, left]), intInit(`${layer.name}.ends`, [H - bottom, W - right]), intInit(`${layer.name}.axes`, [2, 3])],
          layer.name,
        );
        out = { name: y, layout: 'nchw', shape: [H - top - bottom, W - left - right, C] };
        break;
      }
      default:
        throw new Error(`layer ${layer.name}: ${layer.class_name} layers are not supported by the ONNX export`);
    }
    values.set(layer.name, out);
  }

  if (topo.output_layers.length !== opts.outputNames.length) {
    throw new Error(`the model has ${topo.output_layers.length} outputs, ${opts.outputNames.length} names were given`);
  }
  const outputs = topo.output_layers.map(([name], i) => {
    const v = values.get(name)!;
    if (v.layout !== 'flat') throw new Error(`output ${name} is an image; only flat outputs are supported`);
    const outName = opts.outputNames[i]!;
    nodes.push({ opType: 'Identity', name: outName, inputs: [v.name], outputs: [outName] });
    return { name: outName, dims: ['batch', v.shape[0]!] as (number | string)[] };
  });
  return { name: opts.graphName, nodes, initializers, inputs, outputs, ...(opts.docString ? { docString: opts.docString } : {}) };
}

/** The .onnx bytes of a tfjs Layers model (see layersToOnnxGraph). */
export function layersToOnnx(model: LoadedModelFiles, opts: OnnxExportOptions): Uint8Array {
  const m: OnnxModel = {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'VAE Studio',
    producerVersion: opts.producerVersion,
    graph: layersToOnnxGraph(model, opts),
    ...(opts.metadata ? { metadata: opts.metadata } : {}),
    ...(opts.docString ? { docString: opts.docString } : {}),
  };
  return encodeModel(m);
}
