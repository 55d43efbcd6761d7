/**
 * What the worker jobs that run a checkpoint over its run's dataset share (latent-job.ts,
 * results-job.ts): the dataset opened for batch reads, with its labels; the check that its images
 * are the size the checkpoint's model takes; and the checkpoint's encoder and decoder loaded on
 * the backend its config asks for.
 */
import fs from 'node:fs';
import type { LayersModel } from '@tensorflow/tfjs';
import { loadCheckpoint, readCheckpointMeta, type CheckpointMeta } from '../core/checkpoint.ts';
import { memorySource, openFileSource, type DataSource } from '../core/data-source.ts';
import { loadBuiltin } from '../core/sample-data.ts';
import type { Tf } from '../core/tf.ts';
import type { BackendInfo } from '../contract/types.ts';
import { selectBackend } from './backend.ts';
import type { JobContext } from './jobs.ts';
import type { DatasetSource } from './protocol.ts';

export interface JobData {
  /** The images, read per batch (a file stays on disk; a built-in is generated in memory). */
  data: DataSource;
  /** One label id per sample, or null when the dataset has none (or its labels file does not match). */
  labels: Uint8Array | null;
  /** Samples before the official test split (all of them when there is none). */
  trainCount: number;
}

/** Opens a run's dataset; `labelsFile` is an imported dataset's labels.u8 (one byte per sample) or null. */
export function openJobData(source: DatasetSource, labelsFile: string | null): JobData {
  if (source.kind === 'builtin') {
    const b = loadBuiltin(source.name);
    return { data: memorySource(b), labels: b.labels.length === b.count ? b.labels : null, trainCount: b.count };
  }
  const data = openFileSource(source.path, source);
  let labels: Uint8Array | null = null;
  if (labelsFile) {
    try {
      const buf = fs.readFileSync(labelsFile);
      if (buf.byteLength === source.count) labels = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch {
      // No labels file: an unlabelled dataset.
    }
  }
  return { data, labels, trainCount: source.trainCount ?? source.count };
}

export interface JobModel extends JobData {
  tf: Tf;
  info: BackendInfo;
  meta: CheckpointMeta;
  encoder: LayersModel;
  decoder: LayersModel;
  /** Frees the models and closes the dataset. */
  dispose(): void;
}

/**
 * The checkpoint's models and its run's dataset, after checking that the dataset's images are the
 * size the model takes. Reports the backend to `ctx`. Nothing stays open when it throws.
 */
export async function openCheckpointWithData(checkpoint: string, source: DatasetSource, labelsFile: string | null, ctx: JobContext): Promise<JobModel> {
  const meta = await readCheckpointMeta(checkpoint);
  const { tf, info } = await selectBackend(meta.config.backend);
  ctx.backend(info);
  const opened = openJobData(source, labelsFile);
  try {
    const { data } = opened;
    const want = meta.input;
    if (data.width !== want.width || data.height !== want.height || data.channels !== want.channels) {
      throw new Error(
        `the dataset's images are ${data.width}x${data.height}x${data.channels}, the checkpoint's model takes ` +
          `${want.width}x${want.height}x${want.channels}`,
      );
    }
    const { encoder, decoder } = await loadCheckpoint(tf, checkpoint);
    return {
      ...opened,
      tf,
      info,
      meta,
      encoder,
      decoder,
      dispose() {
        encoder.dispose();
        decoder.dispose();
        opened.data.close?.();
      },
    };
  } catch (e) {
    opened.data.close?.();
    throw e;
  }
}
