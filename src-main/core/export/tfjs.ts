/**
 * The TensorFlow.js export of a checkpoint: its encoder/ and decoder/ folders (model.json in the
 * tfjs Layers format + weights.bin) copied as they are, after checking that every layer is one a
 * stock @tensorflow/tfjs registers, so tf.loadLayersModel loads them in Node and in a browser
 * without any code of the studio. Also reads those folders back (topology + float32 weights by
 * name) for the ONNX builder, without tfjs.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

/** Layer classes the studio's models use, all of them built into tfjs-layers. */
export const STOCK_LAYER_CLASSES = ['InputLayer', 'Dense', 'LeakyReLU', 'Reshape', 'Flatten', 'Conv2D', 'Conv2DTranspose', 'Cropping2D'] as const;
/** Activations of Dense / Conv layers that both stock tfjs and the ONNX export handle. */
export const STOCK_ACTIVATIONS = ['linear', 'relu', 'tanh', 'elu', 'sigmoid', 'softplus'] as const;

export const MODEL_PARTS = ['encoder', 'decoder'] as const;
export type ModelPart = (typeof MODEL_PARTS)[number];

/** One layer of a tfjs Layers model.json topology (Keras JSON: snake_case config keys). */
export interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  /** [[[inboundLayer, nodeIndex, tensorIndex, kwargs], ...]] — one call of the layer. */
  inbound_nodes: [string, number, number, unknown][][];
}

export interface ModelTopology {
  class_name: string;
  config: {
    name: string;
    layers: LayerJson[];
    input_layers: [string, number, number][];
    output_layers: [string, number, number][];
  };
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

export interface ModelJsonFile {
  modelTopology: ModelTopology;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

/** A model folder read back: its topology and every weight as float32 values by name. */
export interface LoadedModelFiles {
  json: ModelJsonFile;
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  /** The files of the folder (model.json first), relative to it. */
  files: string[];
}

/** A problem with a model folder; `file` is the file at fault. */
export class ModelFilesError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'ModelFilesError';
  }
}

/**
 * Reads `<dir>/model.json` and its weight files. Only unquantised float32 weights are supported
 * (what the studio writes); the total size of the weight files must match the manifest exactly.
 */
export async function readModelFiles(dir: string): Promise<LoadedModelFiles> {
  const jsonFile = path.join(dir, 'model.json');
  let json: ModelJsonFile;
  try {
    json = JSON.parse(await fs.readFile(jsonFile, 'utf8')) as ModelJsonFile;
  } catch (e) {
    throw new ModelFilesError(`cannot read ${jsonFile}: ${(e as Error).message}`, jsonFile);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelFilesError(`${jsonFile} is not a tfjs Layers model (no modelTopology or weightsManifest)`, jsonFile);
  }
  const files = ['model.json'];
  const chunks: Buffer[] = [];
  const specs: WeightSpec[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      // Weight paths are relative to model.json; never follow one out of the folder.
      const name = path.basename(p);
      const file = path.join(dir, name);
      try {
        chunks.push(await fs.readFile(file));
      } catch (e) {
        throw new ModelFilesError(`missing weights ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
      }
      files.push(name);
    }
    specs.push(...group.weights);
  }
  const data = Buffer.concat(chunks);
  let offset = 0;
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const s of specs) {
    if (s.dtype !== 'float32' || s.quantization !== undefined) {
      throw new ModelFilesError(`${jsonFile}: weight ${s.name} is ${s.quantization ? 'quantised' : s.dtype}; only float32 weights are supported`, jsonFile);
    }
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (offset + n * 4 > data.length) {
      throw new ModelFilesError(`${dir}: the weight files hold ${data.length} bytes, fewer than model.json describes`, jsonFile);
    }
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = data.readFloatLE(offset + i * 4);
    weights.set(s.name, { shape: s.shape, data: values });
    offset += n * 4;
  }
  if (offset !== data.length) {
    throw new ModelFilesError(`${dir}: the weight files hold ${data.length} bytes, model.json describes ${offset}`, jsonFile);
  }
  return { json, weights, files };
}

/** Throws when the topology uses a layer class or activation outside what stock tfjs (and the ONNX export) handle. */
export function assertStockTopology(topology: ModelTopology, what: string): void {
  const layers = topology?.config?.layers;
  if (!Array.isArray(layers)) throw new Error(`${what}: the topology has no layers`);
  for (const l of layers) {
    if (!(STOCK_LAYER_CLASSES as readonly string[]).includes(l.class_name)) {
      throw new Error(`${what}: layer ${l.name} is a ${l.class_name}, which the export does not support (supported: ${STOCK_LAYER_CLASSES.join(', ')})`);
    }
    const act = l.config['activation'];
    if (act !== undefined && !(STOCK_ACTIVATIONS as readonly string[]).includes(String(act))) {
      throw new Error(`${what}: layer ${l.name} uses the activation ${String(act)}, which the export does not support`);
    }
  }
}

/** The [batch, ...] shape of the model's single input, from its InputLayer. */
export function inputShape(topology: ModelTopology): (number | null)[] {
  const [name] = topology.config.input_layers[0] ?? [];
  const layer = topology.config.layers.find((l) => l.name === name);
  const shape = layer?.config['batch_input_shape'];
  if (!Array.isArray(shape)) throw new Error(`the model's input layer ${String(name)} has no batch_input_shape`);
  return shape as (number | null)[];
}

/**
 * Copies a checkpoint's `<part>/` folder (model.json + weights) to `dest`, after checking that it
 * reads and uses only stock layers. Returns the files written with their sizes.
 */
export async function copyTfjsModel(checkpointDir: string, part: ModelPart, dest: string): Promise<{ path: string; bytes: number }[]> {
  const src = path.join(checkpointDir, part);
  const loaded = await readModelFiles(src);
  assertStockTopology(loaded.json.modelTopology, `the ${part}`);
  await fs.mkdir(dest, { recursive: true });
  const out: { path: string; bytes: number }[] = [];
  for (const f of loaded.files) {
    const to = path.join(dest, f);
    await fs.copyFile(path.join(src, f), to);
    out.push({ path: to, bytes: (await fs.stat(to)).size });
  }
  return out;
}
