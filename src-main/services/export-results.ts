/**
 * The results formats of an export (issue 7), written into the export's folder by export.ts's
 * export.run (which owns the temporary folder, the atomic rename and the models):
 *   'embeddings'  embeddings/embeddings.csv, embeddings.npy (float32 [N, d] encoder means of the
 *                 run's dataset in sample order, at most 100,000), labels.npy (int32, -1 = none)
 *                 and splits.npy (int8: 0 train, 1 validation, 2 test, -1 unused; the CSV's
 *                 `split` column names them);
 *   'grids'       grids/samples.png, reconstructions.png, traversals.png, interpolation.png;
 *   'metrics'     metrics/metrics-steps.csv (every recorded step), metrics-epochs.csv (every epoch,
 *                 KL per dimension as kl_0..) and evaluations.json when the run has evaluations;
 *   'report'      report.html, self-contained and offline (core/export/report.ts);
 *   'sampler'     sampler/index.html with TensorFlow.js and the decoder, usable offline.
 * Whatever needs tfjs (encoding, decoding) runs in a worker process (trainer/results-job.ts).
 */
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { StudioError, type DatasetInfo, type RunSummary } from '../contract/index.ts';
import { readCheckpointMeta } from '../core/checkpoint.ts';
import { csvRow, epochCsvColumns, epochCsvRow, STEP_CSV_COLUMNS, stepCsvRow } from '../core/export/csv.ts';
import { dimsByKl } from '../core/export/embeddings.ts';
import { GRID_FILES, type GridName } from '../core/export/grids.ts';
import { renderReport, type ReportImage } from '../core/export/report.ts';
import { samplerHtml, samplerModelScript, type SamplerMeta } from '../core/export/sampler.ts';
import type { Store } from '../store/index.ts';
import type { EmbeddingsJobResult, EmbeddingsPayload, GridsJobResult, GridsPayload } from '../trainer/results-job.ts';
import { LABELS_FILE } from './datasets.ts';
import { datasetSource, EVALUATIONS_FILE, listEvaluations, runFolder } from './run-ops.ts';
import type { TrainingSupervisor } from './training.ts';

export const RESULT_FORMATS = ['report', 'embeddings', 'grids', 'metrics', 'sampler'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

/** What writing one results format needs (export.ts builds it once per export). */
export interface ResultContext {
  store: Store;
  supervisor: TrainingSupervisor;
  dataDir: string;
  run: RunSummary;
  checkpoint: { epoch: number; step: number; path: string };
  /** The export's folder (absolute); every path returned is relative to it. */
  outDir: string;
  onProgress(phase: string, done: number, total: number): void;
  signal: AbortSignal;
  /** The version of the studio writing the export (shown in the report); the run's when absent. */
  studioVersion?: string;
  /**
   * What the formats of one export share (resultShare()): the same object for each format's call.
   * Without it each format computes what it needs on its own.
   */
  share?: ResultShare;
}

/**
 * The work one export's formats share: with both 'grids' and 'report' chosen, the grids job runs
 * once, writing grids/ and the report's latent map together, and the report reads its images from
 * grids/ instead of computing them again in a scratch folder.
 */
export interface ResultShare {
  /** Both 'grids' and 'report' are written by this export. */
  readonly gridsAndReport: boolean;
  /** The one grids job, once started. */
  grids?: Promise<GridsJobResult>;
}

/** The share of an export writing `formats` (pass it as ResultContext.share to each format). */
export function resultShare(formats: readonly string[]): ResultShare {
  return { gridsAndReport: formats.includes('grids') && formats.includes('report') };
}

/** The encoder means exported: the run's dataset in sample order, at most this many. */
export const MAX_EMBEDDINGS = 100_000;
/** The prior samples of samples.png are drawn with this seed, so an export is reproducible. */
export const GRID_SEED = 20240607;
/** Validation encodings on the report's latent map. */
export const LATENT_MAP_POINTS = 2000;
/** Step points on the report's charts (bucket means, see MetricsRepo.steps). */
const REPORT_STEP_POINTS = 1500;

/**
 * Writes one results format of the checkpoint into `ctx.outDir` and returns the files written
 * (paths relative to outDir, with '/' separators) with their sizes. Throws StudioError: CANCELLED
 * when ctx.signal aborts, NOT_FOUND when the run's dataset is gone, INVALID_INPUT for an unknown
 * format. It leaves files behind on failure: the caller writes into a temporary folder it removes.
 */
export async function writeResultFormat(format: ResultFormat, ctx: ResultContext): Promise<{ path: string; bytes: number }[]> {
  checkAborted(ctx);
  await fs.mkdir(ctx.outDir, { recursive: true });
  switch (format) {
    case 'embeddings':
      return writeEmbeddings(ctx);
    case 'grids':
      return writeGrids(ctx);
    case 'metrics':
      return writeMetrics(ctx);
    case 'report':
      return writeReport(ctx);
    case 'sampler':
      return writeSampler(ctx);
    default:
      throw new StudioError('INVALID_INPUT', `unknown results format "${String(format)}"; one of ${RESULT_FORMATS.join(', ')}`, 'formats');
  }
}

function checkAborted(ctx: ResultContext): void {
  if (ctx.signal.aborted) throw new StudioError('CANCELLED', 'the export was cancelled');
}

async function listed(outDir: string, rel: string[]): Promise<{ path: string; bytes: number }[]> {
  return Promise.all(rel.map(async (p) => ({ path: p.split(path.sep).join('/'), bytes: (await fs.stat(path.join(outDir, p))).size })));
}

function runDataset(ctx: ResultContext): DatasetInfo {
  const d = ctx.store.datasets.get(ctx.run.datasetId);
  if (!d) throw new StudioError('NOT_FOUND', `the run's dataset "${ctx.run.datasetName}" no longer exists; its images are needed for this format`);
  return d;
}

/** The checkpoint and dataset part of a job's payload. */
function modelPayload(ctx: ResultContext): { checkpoint: string; dataset: ReturnType<typeof datasetSource>; labelsPath: string | null; info: DatasetInfo } {
  const info = runDataset(ctx);
  const dataset = datasetSource(ctx.store, info);
  const labelsPath = dataset.kind === 'file' ? path.join(path.dirname(dataset.path), LABELS_FILE) : null;
  return { checkpoint: ctx.checkpoint.path, dataset, labelsPath, info };
}

async function writeEmbeddings(ctx: ResultContext): Promise<{ path: string; bytes: number }[]> {
  const { info, ...model } = modelPayload(ctx);
  const dir = path.join(ctx.outDir, 'embeddings');
  const payload: EmbeddingsPayload = { ...model, labelNames: info.labels, maxSamples: MAX_EMBEDDINGS, outDir: dir };
  const r = await ctx.supervisor.runJob<EmbeddingsJobResult>('export.embeddings', payload, {
    onProgress: (phase, done, total) => ctx.onProgress(phase, done, total),
    signal: ctx.signal,
  });
  return listed(ctx.outDir, r.files.map((f) => path.join('embeddings', f)));
}

async function runGrids(ctx: ResultContext, dir: string, latentMapPoints: number): Promise<GridsJobResult> {
  const { info: _info, ...model } = modelPayload(ctx);
  const payload: GridsPayload = { ...model, outDir: dir, seed: GRID_SEED, latentMapPoints };
  return ctx.supervisor.runJob<GridsJobResult>('export.grids', payload, {
    onProgress: (phase, done, total) => ctx.onProgress(phase, done, total),
    signal: ctx.signal,
  });
}

/** The grids folder of an export. */
const GRIDS_DIR = 'grids';

/** The grids job of an export writing both grids and the report: started by the first, reused by the second. */
function sharedGrids(ctx: ResultContext, share: ResultShare): Promise<GridsJobResult> {
  share.grids ??= runGrids(ctx, path.join(ctx.outDir, GRIDS_DIR), LATENT_MAP_POINTS);
  return share.grids;
}

async function writeGrids(ctx: ResultContext): Promise<{ path: string; bytes: number }[]> {
  const r = ctx.share?.gridsAndReport ? await sharedGrids(ctx, ctx.share) : await runGrids(ctx, path.join(ctx.outDir, GRIDS_DIR), 0);
  return listed(ctx.outDir, r.files.map((f) => path.join(GRIDS_DIR, f)));
}

async function writeMetrics(ctx: ResultContext): Promise<{ path: string; bytes: number }[]> {
  const { store, run } = ctx;
  const dir = path.join(ctx.outDir, 'metrics');
  await fs.mkdir(dir, { recursive: true });
  const written = ['metrics-steps.csv', 'metrics-epochs.csv'];
  ctx.onProgress('metrics', 0, 2);
  // Every stored step: steps() returns the rows unchanged when maxPoints is at least their number.
  const { points } = store.metrics.steps(run.id, Number.MAX_SAFE_INTEGER);
  const fh = await fs.open(path.join(dir, written[0]!), 'w');
  try {
    await fh.write(csvRow(STEP_CSV_COLUMNS));
    const CHUNK = 10_000;
    for (let i = 0; i < points.length; i += CHUNK) {
      await fh.write(points.slice(i, i + CHUNK).map((p) => csvRow(stepCsvRow(p))).join(''));
    }
  } finally {
    await fh.close();
  }
  ctx.onProgress('metrics', 1, 2);
  const epochs = store.metrics.epochs(run.id);
  const d = Math.max(run.config.model.latentDim, ...epochs.map((e) => e.klPerDim?.length ?? 0));
  await fs.writeFile(path.join(dir, written[1]!), csvRow(epochCsvColumns(d)) + epochs.map((e) => csvRow(epochCsvRow(e, d))).join(''));
  if (listEvaluations(ctx.dataDir, run.id).length > 0) {
    await fs.copyFile(path.join(runFolder(ctx.dataDir, run.id), EVALUATIONS_FILE), path.join(dir, EVALUATIONS_FILE));
    written.push(EVALUATIONS_FILE);
  }
  ctx.onProgress('metrics', 2, 2);
  return listed(ctx.outDir, written.map((f) => path.join('metrics', f)));
}

/** Width and height of a PNG from its IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function writeReport(ctx: ResultContext): Promise<{ path: string; bytes: number }[]> {
  const { store, run } = ctx;
  // The report's images are the grids (with them come the latent map and the traversal order):
  // those of the export's grids/ when it writes them too, else computed in a scratch folder, so the
  // report never depends on which other formats were chosen.
  const share = ctx.share?.gridsAndReport ? ctx.share : null;
  const scratch = share ? null : await fs.mkdtemp(path.join(os.tmpdir(), 'vae-studio-report-'));
  const gridsDir = scratch ?? path.join(ctx.outDir, GRIDS_DIR);
  try {
    const g = share ? await sharedGrids(ctx, share) : await runGrids(ctx, gridsDir, LATENT_MAP_POINTS);
    checkAborted(ctx);
    const images: Partial<Record<GridName, ReportImage>> = {};
    for (const file of GRID_FILES) {
      const png = await fs.readFile(path.join(gridsDir, file));
      images[file.replace(/\.png$/, '') as GridName] = { dataUri: `data:image/png;base64,${png.toString('base64')}`, ...pngSize(png) };
    }
    const d = store.datasets.get(run.datasetId) ?? null;
    const html = renderReport({
      run,
      checkpoint: { epoch: ctx.checkpoint.epoch, step: ctx.checkpoint.step },
      dataset: d && { name: d.name, count: d.count, width: d.width, height: d.height, channels: d.channels },
      steps: store.metrics.steps(run.id, REPORT_STEP_POINTS).points,
      epochs: store.metrics.epochs(run.id),
      evaluations: listEvaluations(ctx.dataDir, run.id),
      images,
      traversalDims: g.traversalDims,
      latentMap: g.latentMap && { ...g.latentMap, labelNames: d?.labels ?? null },
      generatedAt: Date.now(),
      ...(ctx.studioVersion ? { studioVersion: ctx.studioVersion } : {}),
    });
    await fs.writeFile(path.join(ctx.outDir, 'report.html'), html);
  } finally {
    if (scratch) await fs.rm(scratch, { recursive: true, force: true });
  }
  return listed(ctx.outDir, ['report.html']);
}

/** The browser build of TensorFlow.js the studio ships with. */
function tfjsBrowserBuild(): string {
  return createRequire(import.meta.url).resolve('@tensorflow/tfjs/dist/tf.min.js');
}

async function writeSampler(ctx: ResultContext): Promise<{ path: string; bytes: number }[]> {
  const meta = await readCheckpointMeta(ctx.checkpoint.path);
  const dir = path.join(ctx.outDir, 'sampler');
  const decoderDir = path.join(dir, 'decoder');
  await fs.mkdir(decoderDir, { recursive: true });
  ctx.onProgress('sampler', 0, 1);
  const src = path.join(ctx.checkpoint.path, 'decoder');
  const modelJson = JSON.parse(await fs.readFile(path.join(src, 'model.json'), 'utf8')) as {
    modelTopology: unknown;
    weightsManifest?: { paths: string[]; weights: unknown[] }[];
  };
  const weightFiles = (modelJson.weightsManifest ?? []).flatMap((g) => g.paths.map((p) => path.basename(p)));
  const weights = Buffer.concat(await Promise.all(weightFiles.map((f) => fs.readFile(path.join(src, f)))));
  const written = ['index.html', 'tf.min.js', 'model.js', 'decoder/model.json', ...weightFiles.map((f) => `decoder/${f}`)];
  await fs.copyFile(path.join(src, 'model.json'), path.join(decoderDir, 'model.json'));
  for (const f of weightFiles) await fs.copyFile(path.join(src, f), path.join(decoderDir, f));
  const d = meta.config.model.latentDim;
  const kl = meta.metrics?.klPerDim && meta.metrics.klPerDim.length === d ? meta.metrics.klPerDim : null;
  const samplerMeta: SamplerMeta = {
    runName: ctx.run.name,
    runId: ctx.run.id,
    epoch: meta.epoch,
    latentDim: d,
    width: meta.input.width,
    height: meta.input.height,
    channels: meta.input.channels,
    likelihood: meta.config.likelihood,
    order: kl ? dimsByKl(kl) : Array.from({ length: d }, (_, j) => j),
    klPerDim: kl,
  };
  await fs.copyFile(tfjsBrowserBuild(), path.join(dir, 'tf.min.js'));
  await fs.writeFile(path.join(dir, 'model.js'), samplerModelScript(modelJson, weights, samplerMeta));
  await fs.writeFile(path.join(dir, 'index.html'), samplerHtml(samplerMeta));
  ctx.onProgress('sampler', 1, 1);
  return listed(ctx.outDir, written.map((f) => path.join('sampler', f)));
}
