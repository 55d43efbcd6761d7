/**
 * Checkpoints: one folder per epoch holding everything needed to rebuild the model from the files
 * alone (the full training config travels with the weights) and to continue training exactly:
 *   checkpoint.json            format, epoch, step, config, input shape, the epoch's metrics, the
 *                              loop state (RNG streams, elapsed time, loop extras) and the optimiser
 *                              manifest
 *   encoder/model.json + weights.bin   standard tfjs Layers format (tf.loadLayersModel can read it)
 *   decoder/model.json + weights.bin
 *   optimizer.bin              the optimiser's state (tf Optimizer.getWeights: the iteration count,
 *                              Adam's first and second moments, RMSprop's accumulators...), in the
 *                              tfjs weights encoding described by checkpoint.json's `optimizer`
 *
 * Durability: a checkpoint is written into a temporary sibling folder, every file is fsynced, the
 * folder is fsynced, renamed into place and the parent folder fsynced, so a reader (or a crash or
 * power cut mid-write) sees either the whole checkpoint or none of it. Weights that are not finite
 * are refused before anything is renamed: a diverged model never replaces a good checkpoint.
 */
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { syncDir, writeFileDurable as writeDurable } from './fs-durable.ts';
import type { io, LayersModel, NamedTensorMap, Tensor } from '@tensorflow/tfjs';
import type { TrainConfig } from '../contract/config.ts';
import type { EpochPoint } from '../contract/types.ts';
import type { RngState } from './rng.ts';
import type { Tf } from './tf.ts';

export const CHECKPOINT_FORMAT = 'vae-studio-checkpoint';
/** 1: weights + config. 2: adds the optimiser state and the loop state (exact resume). */
export const CHECKPOINT_VERSION = 2;
export const OPTIMIZER_FILE = 'optimizer.bin';

/** What the training loop carries from one epoch to the next besides weights and optimiser. */
export interface LoopState {
  /** Training wall time before this checkpoint; a resumed run's step times continue from it. */
  elapsedMs: number;
  /** The loop's random streams by name (e.g. shuffle, noise), each where the next epoch starts. */
  rng: Record<string, RngState>;
  /** Other JSON state of the loop (early-stopping best and patience, schedule phase...). */
  extra: Record<string, unknown>;
}

export interface OptimizerStateMeta {
  /** tfjs class name (Adam, RMSProp, SGD, Momentum...), checked again at restore. */
  className: string;
  file: typeof OPTIMIZER_FILE;
  /** The named tensors in getWeights() order (the first is the iteration count 'iter'). */
  weights: io.WeightsManifestEntry[];
}

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  epoch: number;
  step: number;
  config: TrainConfig;
  input: { width: number; height: number; channels: number };
  /** width * height * channels: the encoder's input size and the decoder's output size. */
  dim: number;
  paramCount: number;
  metrics: EpochPoint | null;
  /** Absent in version-1 checkpoints (they can be evaluated, not resumed). */
  state?: LoopState | null;
  optimizer?: OptimizerStateMeta | null;
}

export interface WrittenCheckpoint {
  path: string;
  bytes: number;
}

/** The part of tf's Optimizer a checkpoint needs. */
export interface StatefulOptimizer {
  getWeights(): Promise<{ name: string; tensor: Tensor }[]>;
  setWeights(weights: { name: string; tensor: Tensor }[]): Promise<void>;
  getClassName(): string;
}

/** Thrown when the model or optimiser holds NaN or Inf: the previous checkpoint stays the latest. */
export class NonFiniteStateError extends Error {
  constructor(what: string) {
    super(`${what} holds NaN or infinite values; the checkpoint was not written`);
    this.name = 'NonFiniteStateError';
  }
}

/** Folder name of epoch `n`'s checkpoint inside a run's checkpoint folder. */
export function checkpointFolderName(epoch: number): string {
  return `epoch-${epoch}`;
}

/** Throws NonFiniteStateError when a float32 weight in `data` (laid out per `specs`) is NaN or Inf. */
export function assertFiniteWeights(data: ArrayBuffer, specs: readonly io.WeightsManifestEntry[], what: string): void {
  let offset = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = n * (spec.dtype === 'bool' ? 1 : 4);
    if (spec.dtype === 'float32' && spec.quantization === undefined) {
      const view = new Float32Array(data, offset, n);
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(view[i]!)) throw new NonFiniteStateError(`${what} (${spec.name})`);
      }
    }
    offset += bytes;
  }
}

function saveHandler(tf: Tf, dir: string, written: { bytes: number }, what: string): io.IOHandler {
  return {
    save: async (artifacts: io.ModelArtifacts): Promise<io.SaveResult> => {
      await fs.mkdir(dir, { recursive: true });
      const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      assertFiniteWeights(weights, artifacts.weightSpecs ?? [], what);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      written.bytes += await writeDurable(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      written.bytes += await writeDurable(path.join(dir, 'weights.bin'), new Uint8Array(weights));
      await syncDir(dir);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

async function readModelJson(dir: string): Promise<{ json: io.ModelJSON; weightSpecs: io.WeightsManifestEntry[]; weightData: ArrayBuffer[] }> {
  const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as io.ModelJSON;
  const weightData: ArrayBuffer[] = [];
  const weightSpecs: io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) {
      const buf = await fs.readFile(path.join(dir, path.basename(p)));
      weightData.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
    }
    weightSpecs.push(...group.weights);
  }
  return { json, weightSpecs, weightData };
}

function loadHandler(dir: string): io.IOHandler {
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      const { json, weightSpecs, weightData } = await readModelJson(dir);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs,
        weightData,
      };
    },
  };
}

/** Serialises the optimiser's state (getWeights) into one tfjs-encoded buffer and its manifest. */
async function encodeOptimizer(tf: Tf, optimizer: StatefulOptimizer): Promise<{ meta: OptimizerStateMeta; data: ArrayBuffer }> {
  const named = await optimizer.getWeights();
  try {
    const { data, specs } = await tf.io.encodeWeights(named);
    assertFiniteWeights(data, specs, 'the optimizer state');
    return { meta: { className: optimizer.getClassName(), file: OPTIMIZER_FILE, weights: specs }, data };
  } finally {
    // getWeights() returns the live state variables plus a fresh scalar for the iteration count
    // (tfjs Optimizer.saveIterations): only that scalar is ours to free.
    const iter = named[0];
    if (iter && iter.name === 'iter' && !iter.tensor.isDisposed) iter.tensor.dispose();
  }
}

/** Removes temporary folders that a crashed writer left in `runDir` (one trainer writes a run at a time). */
async function removeStaleTemps(runDir: string, keep: string): Promise<void> {
  const entries = await fs.readdir(runDir).catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((e) => /^\.epoch-\d+\.(tmp|old)-/.test(e) && path.join(runDir, e) !== keep)
      .map((e) => fs.rm(path.join(runDir, e), { recursive: true, force: true }).catch(() => undefined)),
  );
}

/**
 * Writes a checkpoint into `<runDir>/epoch-<n>` atomically and durably (temp folder, fsync, rename,
 * replacing an existing checkpoint of the same epoch) and returns its path and total size in bytes.
 * Refuses (NonFiniteStateError) weights or optimiser state holding NaN/Inf, leaving the previous
 * checkpoints untouched. `optimizer` and `state` make the checkpoint resumable.
 */
export async function writeCheckpoint(
  tf: Tf,
  runDir: string,
  parts: {
    encoder: LayersModel;
    decoder: LayersModel;
    optimizer?: StatefulOptimizer | null;
    state?: LoopState | null;
    meta: Omit<CheckpointMeta, 'format' | 'version' | 'state' | 'optimizer'>;
  },
): Promise<WrittenCheckpoint> {
  await fs.mkdir(runDir, { recursive: true });
  const name = checkpointFolderName(parts.meta.epoch);
  const finalDir = path.join(runDir, name);
  const stamp = `${process.pid}-${Date.now()}`;
  const tmpDir = path.join(runDir, `.${name}.tmp-${stamp}`);
  const oldDir = path.join(runDir, `.${name}.old-${stamp}`);
  await removeStaleTemps(runDir, tmpDir);
  const written = { bytes: 0 };
  try {
    await fs.mkdir(tmpDir, { recursive: true });
    await parts.encoder.save(saveHandler(tf, path.join(tmpDir, 'encoder'), written, 'the encoder'));
    await parts.decoder.save(saveHandler(tf, path.join(tmpDir, 'decoder'), written, 'the decoder'));
    let optimizer: OptimizerStateMeta | null = null;
    if (parts.optimizer) {
      const enc = await encodeOptimizer(tf, parts.optimizer);
      optimizer = enc.meta;
      written.bytes += await writeDurable(path.join(tmpDir, OPTIMIZER_FILE), new Uint8Array(enc.data));
    }
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      ...parts.meta,
      state: parts.state ?? null,
      optimizer,
    };
    written.bytes += await writeDurable(path.join(tmpDir, 'checkpoint.json'), JSON.stringify(meta, null, 2));
    await syncDir(tmpDir);
    // Replace an existing folder of the same epoch without a moment where neither exists.
    const hadOld = fsSync.existsSync(finalDir);
    if (hadOld) await fs.rename(finalDir, oldDir);
    await fs.rename(tmpDir, finalDir);
    await syncDir(runDir);
    if (hadOld) await fs.rm(oldDir, { recursive: true, force: true });
  } catch (err) {
    await fs.rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  return { path: finalDir, bytes: written.bytes };
}

/** Reads only the metadata of a checkpoint folder. */
export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
  const meta = JSON.parse(await fs.readFile(path.join(dir, 'checkpoint.json'), 'utf8')) as CheckpointMeta;
  if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`${dir} is not a VAE Studio checkpoint`);
  if (meta.version > CHECKPOINT_VERSION) throw new Error(`${dir} was written by a newer VAE Studio (format ${meta.version})`);
  return meta;
}

/**
 * The complete checkpoints in a run's folder (those whose checkpoint.json reads), in epoch order.
 * Temporary folders of an interrupted write are never listed.
 */
export async function listCheckpoints(runDir: string): Promise<{ epoch: number; step: number; path: string }[]> {
  const entries = await fs.readdir(runDir).catch(() => [] as string[]);
  const found: { epoch: number; step: number; path: string }[] = [];
  for (const e of entries) {
    const m = /^epoch-(\d+)$/.exec(e);
    if (!m) continue;
    const dir = path.join(runDir, e);
    try {
      const meta = await readCheckpointMeta(dir);
      found.push({ epoch: meta.epoch, step: meta.step, path: dir });
    } catch {
      // unreadable: not a usable checkpoint
    }
  }
  return found.sort((a, b) => a.epoch - b.epoch);
}

/** Loads a checkpoint folder: its metadata and the rebuilt encoder and decoder (the caller disposes them). */
export async function loadCheckpoint(
  tf: Tf,
  dir: string,
): Promise<{ meta: CheckpointMeta; encoder: LayersModel; decoder: LayersModel }> {
  const meta = await readCheckpointMeta(dir);
  const encoder = await tf.loadLayersModel(loadHandler(path.join(dir, 'encoder')));
  const decoder = await tf.loadLayersModel(loadHandler(path.join(dir, 'decoder')));
  return { meta, encoder, decoder };
}

/**
 * The weights of a checkpoint's encoder or decoder as tensors in the model's getWeights() order
 * (the order a Layers model saves them in), ready for model.setWeights(). The caller disposes them.
 */
export async function readModelWeights(tf: Tf, dir: string, part: 'encoder' | 'decoder'): Promise<Tensor[]> {
  const { weightSpecs, weightData } = await readModelJson(path.join(dir, part));
  const map = tf.io.decodeWeights(weightData, weightSpecs);
  return weightSpecs.map((s) => map[s.name]!);
}

/** The optimiser state of a checkpoint, in getWeights() order; null for a checkpoint without one. */
export async function readOptimizerState(
  tf: Tf,
  dir: string,
  meta: CheckpointMeta,
): Promise<{ className: string; weights: { name: string; tensor: Tensor }[] } | null> {
  if (!meta.optimizer) return null;
  const buf = await fs.readFile(path.join(dir, meta.optimizer.file));
  const data = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const map: NamedTensorMap = tf.io.decodeWeights(data, meta.optimizer.weights);
  return { className: meta.optimizer.className, weights: meta.optimizer.weights.map((s) => ({ name: s.name, tensor: map[s.name]! })) };
}
