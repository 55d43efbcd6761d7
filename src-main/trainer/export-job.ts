/**
 * The 'export.models' job (trainer process): writes a checkpoint's encoder and decoder as
 * TensorFlow.js and / or ONNX files into the folder main chose, proves them with the real runtimes,
 * and writes manifest.json. tfjs and onnxruntime-node (a native addon, loaded only here) stay out of
 * main.
 *
 * Verification: fixed inputs (8 images x uniform in [0, 1] and 8 latent points z ~ N(0, I), seeded)
 * go through the checkpoint's own models in tfjs (the studio's outputs) and through
 *   (a) the written tfjs files, loaded by tf.loadLayersModel through an IO handler that reads them
 *       from disk (what file:// does in tfjs-node), and
 *   (b) the written .onnx files in an onnxruntime-node InferenceSession;
 * each model's max |runtime - studio| over all its outputs is reported against the tolerance. The
 * job reports every check; main decides (a failure is an error and nothing is kept).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { io, LayersModel, Tensor } from '@tensorflow/tfjs';
import type { ExportVerification } from '../contract/export.ts';
import { loadCheckpoint, readCheckpointMeta } from '../core/checkpoint.ts';
import { buildManifest, decoderOutputName, EXPORT_PATHS, MANIFEST_FILE, type ManifestContext } from '../core/export/manifest.ts';
import { layersToOnnx } from '../core/export/onnx.ts';
import { copyTfjsModel, MODEL_PARTS, readModelFiles, type ModelPart } from '../core/export/tfjs.ts';
import { Rng } from '../core/rng.ts';
import type { Tf } from '../core/tf.ts';
import { loadOnnxruntimeModule, selectBackend } from './backend.ts';
import type { Job } from './jobs.ts';

export interface ExportModelsPayload {
  /** The checkpoint folder (epoch-N). */
  checkpoint: string;
  /** The (temporary) export folder; created by main. */
  outDir: string;
  formats: ('tfjs' | 'onnx')[];
  manifest: ManifestContext;
  /** Max abs difference a runtime may show against the studio (default 1e-4). */
  tolerance?: number;
}

export interface ExportModelsResult {
  files: { path: string; bytes: number }[];
  verifications: ExportVerification[];
  versions: { tfjs: string; tfjsBackend: string; onnxruntime: string | null };
}

/** Images and latent points of the verification. */
export const VERIFY_BATCH = 8;
export const VERIFY_SEED = 20240607;
export const DEFAULT_TOLERANCE = 1e-4;

/** The fixed verification inputs: x uniform in [0, 1] ([8, dim]) and z ~ N(0, I) ([8, latentDim]). */
export function verificationInputs(dim: number, latentDim: number): { x: Float32Array; z: Float32Array } {
  const rng = new Rng(VERIFY_SEED);
  const x = new Float32Array(VERIFY_BATCH * dim);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
  const z = rng.fillNormal(new Float32Array(VERIFY_BATCH * latentDim));
  return { x, z };
}

/** An IO handler that loads a model.json + weights written on disk (tfjs's file:// needs tfjs-node). */
// Deliberately not core/checkpoint.ts's reader: the check must read the written files the way any
// tfjs user would (model.json, then every weights path it names), not through the studio's own code.
export function fileModelHandler(dir: string): io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as io.ModelJSON;
      const buffers: Buffer[] = [];
      const weightSpecs: io.WeightsManifestEntry[] = [];
      for (const group of json.weightsManifest) {
        for (const p of group.paths) buffers.push(await fs.readFile(path.join(dir, path.basename(p))));
        weightSpecs.push(...group.weights);
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
      };
    },
  };
}

/**
 * Max |a - b| over every value of every output. A shape mismatch or a NaN on either side counts as
 * Number.MAX_VALUE (a failed check that still survives JSON, where Infinity would become null).
 */
function maxAbsDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  if (a.length !== b.length) return Number.MAX_VALUE;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.length !== y.length) return Number.MAX_VALUE;
    for (let j = 0; j < x.length; j++) {
      const d = Math.abs(x[j]! - y[j]!);
      if (!Number.isFinite(d)) return Number.MAX_VALUE;
      if (d > max) max = d;
    }
  }
  return max;
}

/** Runs a layers model on one input and reads every output (in the model's output order). */
async function runLayers(tf: Tf, model: LayersModel, input: Float32Array, width: number): Promise<Float32Array[]> {
  const x = tf.tensor2d(input, [input.length / width, width]);
  try {
    const out = model.predict(x) as Tensor | Tensor[];
    const outs = Array.isArray(out) ? out : [out];
    try {
      return await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array));
    } finally {
      for (const t of outs) t.dispose();
    }
  } finally {
    x.dispose();
  }
}


export const job: Job = async (raw, ctx) => {
  const p = raw as ExportModelsPayload;
  // VAE_STUDIO_EXPORT_TOLERANCE overrides the tolerance (tests use a negative one to see a check fail).
  const envTolerance = Number(process.env.VAE_STUDIO_EXPORT_TOLERANCE);
  const tolerance = process.env.VAE_STUDIO_EXPORT_TOLERANCE && Number.isFinite(envTolerance) ? envTolerance : (p.tolerance ?? DEFAULT_TOLERANCE);
  const wantTfjs = p.formats.includes('tfjs');
  const wantOnnx = p.formats.includes('onnx');
  const meta = await readCheckpointMeta(p.checkpoint);
  const files: ExportModelsResult['files'] = [];
  const steps = (wantTfjs ? 2 : 0) + (wantOnnx ? 2 : 0) + 1;
  let done = 0;

  if (wantTfjs) {
    for (const part of MODEL_PARTS) {
      ctx.progress('tfjs', done, steps);
      files.push(...(await copyTfjsModel(p.checkpoint, part, path.join(p.outDir, EXPORT_PATHS.tfjs[part]))));
      done++;
    }
  }
  const outputNames: Record<ModelPart, string[]> = { encoder: ['mu', 'logvar'], decoder: [decoderOutputName(meta.config.likelihood)] };
  if (wantOnnx) {
    for (const part of MODEL_PARTS) {
      ctx.progress('onnx', done, steps);
      const bytes = layersToOnnx(await readModelFiles(path.join(p.checkpoint, part)), {
        graphName: part,
        outputNames: outputNames[part],
        producerVersion: p.manifest.appVersion,
        docString: `VAE Studio ${part} of run ${p.manifest.run.id}, epoch ${meta.epoch}`,
        metadata: { run: p.manifest.run.id, epoch: String(meta.epoch), likelihood: meta.config.likelihood },
      });
      const file = path.join(p.outDir, EXPORT_PATHS.onnx[part]);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, bytes);
      files.push({ path: file, bytes: bytes.byteLength });
      done++;
    }
  }

  ctx.progress('verify', done, steps);
  const { tf, info } = await selectBackend(meta.config.backend);
  ctx.backend(info);
  const ort = wantOnnx ? loadOnnxruntimeModule() : null;
  const verifications: ExportVerification[] = [];
  const inputs = verificationInputs(meta.dim, meta.config.model.latentDim);
  const studio = await loadCheckpoint(tf, p.checkpoint);
  try {
    for (const part of MODEL_PARTS) {
      const [input, width] = part === 'encoder' ? [inputs.x, meta.dim] : [inputs.z, meta.config.model.latentDim];
      const expected = await runLayers(tf, studio[part], input, width);
      const check = (format: 'tfjs' | 'onnx', runtime: string, got: Float32Array[]) => {
        const d = maxAbsDiff(got, expected);
        verifications.push({ format, runtime, model: part, maxAbsDiff: d, tolerance, passed: d <= tolerance });
      };
      if (wantTfjs) {
        const loaded = await tf.loadLayersModel(fileModelHandler(path.join(p.outDir, EXPORT_PATHS.tfjs[part])));
        try {
          check('tfjs', `@tensorflow/tfjs ${tf.version.tfjs} (${info.backend})`, await runLayers(tf, loaded, input, width));
        } finally {
          loaded.dispose();
        }
      }
      if (ort) {
        const session = await ort.ort.InferenceSession.create(path.join(p.outDir, EXPORT_PATHS.onnx[part]));
        try {
          const feeds = { [session.inputNames[0]!]: new ort.ort.Tensor('float32', input, [VERIFY_BATCH, width]) };
          const res = await session.run(feeds);
          check('onnx', `onnxruntime-node ${ort.version}`, outputNames[part].map((n) => res[n]!.data as Float32Array));
        } finally {
          await session.release();
        }
      }
    }
  } finally {
    studio.encoder.dispose();
    studio.decoder.dispose();
  }
  done++;

  ctx.progress('manifest', done, steps);
  const versions = { tfjs: tf.version.tfjs, tfjsBackend: info.backend, onnxruntime: ort?.version ?? null };
  const manifest = buildManifest(meta, p.manifest, { tfjs: wantTfjs, onnx: wantOnnx, versions, verifications });
  const manifestFile = path.join(p.outDir, MANIFEST_FILE);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  await fs.writeFile(manifestFile, text);
  files.push({ path: manifestFile, bytes: Buffer.byteLength(text) });
  ctx.progress('manifest', steps, steps);
  const result: ExportModelsResult = { files, verifications, versions };
  return result;
};
