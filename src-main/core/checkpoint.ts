/**
 * Checkpoints: one folder per epoch holding everything needed to rebuild the model from the files
 * alone (the full training config travels with the weights):
 *   checkpoint.json            format, epoch, step, config, input shape, the epoch's metrics
 *   encoder/model.json + weights.bin   standard tfjs Layers format (tf.loadLayersModel can read it)
 *   decoder/model.json + weights.bin
 * A checkpoint is written into a temporary sibling folder and renamed into place, so a reader (or a
 * crash mid-write) never sees a half-written checkpoint.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { io, LayersModel } from '@tensorflow/tfjs';
import type { TrainConfig } from '../contract/config.ts';
import type { EpochPoint } from '../contract/types.ts';
import type { Tf } from './tf.ts';

export const CHECKPOINT_FORMAT = 'vae-studio-checkpoint';
export const CHECKPOINT_VERSION = 1;

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
}

export interface WrittenCheckpoint {
  path: string;
  bytes: number;
}

/** Folder name of epoch `n`'s checkpoint inside a run's checkpoint folder. */
export function checkpointFolderName(epoch: number): string {
  return `epoch-${epoch}`;
}

function saveHandler(tf: Tf, dir: string, written: { bytes: number }): io.IOHandler {
  return {
    save: async (artifacts: io.ModelArtifacts): Promise<io.SaveResult> => {
      await fs.mkdir(dir, { recursive: true });
      const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      const json = JSON.stringify(modelJson);
      await fs.writeFile(path.join(dir, 'model.json'), json);
      await fs.writeFile(path.join(dir, 'weights.bin'), new Uint8Array(weights));
      written.bytes += Buffer.byteLength(json) + weights.byteLength;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

function loadHandler(dir: string): io.IOHandler {
  return {
    load: async (): Promise<io.ModelArtifacts> => {
      const modelJson = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as io.ModelJSON;
      const manifest = modelJson.weightsManifest ?? [];
      const buffers: ArrayBuffer[] = [];
      const weightSpecs: io.WeightsManifestEntry[] = [];
      for (const group of manifest) {
        for (const p of group.paths) {
          const buf = await fs.readFile(path.join(dir, path.basename(p)));
          buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
        }
        weightSpecs.push(...group.weights);
      }
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        weightSpecs,
        weightData: buffers,
      };
    },
  };
}

/**
 * Writes a checkpoint into `<runDir>/epoch-<n>` atomically (temp folder + rename, replacing an
 * existing checkpoint of the same epoch) and returns its path and total size in bytes.
 */
export async function writeCheckpoint(
  tf: Tf,
  runDir: string,
  parts: { encoder: LayersModel; decoder: LayersModel; meta: Omit<CheckpointMeta, 'format' | 'version'> },
): Promise<WrittenCheckpoint> {
  await fs.mkdir(runDir, { recursive: true });
  const finalDir = path.join(runDir, checkpointFolderName(parts.meta.epoch));
  const tmpDir = path.join(runDir, `.${checkpointFolderName(parts.meta.epoch)}.tmp-${process.pid}-${Date.now()}`);
  const written = { bytes: 0 };
  try {
    await fs.mkdir(tmpDir, { recursive: true });
    await parts.encoder.save(saveHandler(tf, path.join(tmpDir, 'encoder'), written));
    await parts.decoder.save(saveHandler(tf, path.join(tmpDir, 'decoder'), written));
    const meta: CheckpointMeta = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, ...parts.meta };
    const metaJson = JSON.stringify(meta, null, 2);
    await fs.writeFile(path.join(tmpDir, 'checkpoint.json'), metaJson);
    written.bytes += Buffer.byteLength(metaJson);
    await fs.rm(finalDir, { recursive: true, force: true });
    await fs.rename(tmpDir, finalDir);
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
