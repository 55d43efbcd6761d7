/**
 * Export commands (contract/export.ts).
 *
 * export.run writes the chosen formats of one checkpoint of a run into a temporary sibling folder of
 * the destination (`.<name>.tmp-<random>`), and renames it into place only when every file is
 * written and every verification passed; a failure, a failed verification or a cancel removes the
 * temporary folder (and any parent folder the export created), so nothing half-written is ever
 * left. The models ('tfjs', 'onnx') are written and verified by the 'export.models' job in a
 * worker process (trainer/export-job.ts); the results ('report', 'embeddings', 'grids', 'metrics',
 * 'sampler') by services/export-results.ts.
 *
 * export.importModel opens a model export folder (manifest.json + tfjs/encoder + tfjs/decoder) as a
 * new completed run with one checkpoint. A run must reference a dataset: the one whose fingerprint
 * matches the manifest's (builtins by name, imports by the sha256 of their pixels) when this studio
 * has it, else a placeholder dataset row (kind 'imported', 0 samples, no data, source
 * `model:<fingerprint>`) shared by every model trained on the same unknown dataset. The latent
 * explorer's decoding and the checkpoint list work on such a run; whatever needs the images
 * (evaluation, encoding the dataset) says that the dataset has no stored data.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CommandParsed, DatasetInfo, EpochPoint, RunSummary } from '../contract/index.ts';
import { StudioError, TrainConfigSchema } from '../contract/index.ts';
import { EXPORT_FORMATS, type exportCommands, type ExportFormat, type ExportResult } from '../contract/export.ts';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, checkpointFolderName, listCheckpoints, type CheckpointMeta } from '../core/checkpoint.ts';
import { MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, ModelManifestSchema, type ManifestContext, type ModelManifest } from '../core/export/manifest.ts';
import { layersToOnnxGraph } from '../core/export/onnx.ts';
import { assertStockTopology, MODEL_PARTS, ModelFilesError, readModelFiles, type LoadedModelFiles } from '../core/export/tfjs.ts';
import type { ExportModelsPayload, ExportModelsResult } from '../trainer/export-job.ts';
import { readDatasetMeta } from './datasets.ts';
import { resultShare, writeResultFormat, type ResultContext, type ResultFormat } from './export-results.ts';
import { runFolder } from './run-ops.ts';
import type { AreaService, ServiceContext } from './studio-api.ts';

export type ExportCommand = keyof typeof exportCommands;

/** The formats the 'export.models' job writes; the others are results. */
const MODEL_FORMATS: readonly ExportFormat[] = ['tfjs', 'onnx'];

/** `20240607-101112`: the local-time stamp of a default export folder's name. */
function stamp(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

function newJobId(): string {
  return `export-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Same shape as studio.ts newRunId (kept here: studio.ts imports this module). */
function newRunId(now = Date.now()): string {
  const t = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `run-${t}-${randomBytes(3).toString('hex')}`;
}

/** How a dataset is identified across studios: `builtin:<name>` or `sha256:<hex of data.u8>`. */
export function datasetFingerprint(dataDir: string, d: DatasetInfo): string | null {
  if (d.kind === 'builtin') return d.source;
  if (d.source.startsWith('model:')) return d.source.slice('model:'.length) || null;
  const sha = readDatasetMeta(dataDir, d.id)?.sha256;
  return sha ? `sha256:${sha}` : null;
}

const osReason = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}: ${err.message.replace(/^[A-Z]+: /, '')}` : String(err.message ?? e);
};

/**
 * `p` with symlinks resolved: the real path of its nearest existing ancestor, then the rest of `p`
 * as written (the folders an export would create).
 */
async function realPathOf(p: string): Promise<string> {
  const rest: string[] = [];
  for (let cur = p; ; ) {
    try {
      return path.join(await fs.realpath(cur), ...rest);
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return p;
      rest.unshift(path.basename(cur));
      cur = parent;
    }
  }
}

/** Whether `child` is `parent` or lies below it (both absolute and resolved). */
function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

/**
 * Refuses an export folder inside the studio's data folder (its database, datasets and run
 * checkpoints, which the studio deletes and rewrites on its own), followed through symlinks;
 * below `<dataDir>/exports/`, where the default folders go, is allowed.
 */
export async function assertExportOutside(dataDir: string, out: string): Promise<void> {
  const [realOut, realData, realExports] = await Promise.all([realPathOf(out), realPathOf(path.resolve(dataDir)), realPathOf(path.join(path.resolve(dataDir), 'exports'))]);
  if (!isWithin(realOut, realData) || (isWithin(realOut, realExports) && realOut !== realExports)) return;
  throw new StudioError(
    'INVALID_INPUT',
    `${out} is inside the studio's data folder ${dataDir}, which the studio manages (runs, datasets, history); choose a folder outside it, or leave the folder out for a new one under ${path.join(dataDir, 'exports')}`,
    'out',
  );
}

/** Removes `dir`, then the empty folders from `parent` up to `created` (the first folder the export created, if any). */
async function cleanUp(dir: string | null, created: string | undefined, parent: string): Promise<void> {
  if (dir) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  if (!created) return;
  for (let d = parent; d.startsWith(created); d = path.dirname(d)) {
    try {
      await fs.rmdir(d);
    } catch {
      return;
    }
    if (d === created) return;
  }
}

export function createExportService(ctx: ServiceContext): AreaService<ExportCommand> {
  const { store, supervisor, dataDir, emit } = ctx;
  const jobs = new Map<string, AbortController>();
  /** Every export.run in progress, settled (close waits for them to remove their temporary folders). */
  const running = new Set<Promise<unknown>>();
  let closing = false;

  async function runExport(input: CommandParsed<'export.run'>): Promise<ExportResult> {
    const t0 = performance.now();
    const run = store.runs.get(input.runId);
    if (!run) throw new StudioError('NOT_FOUND', `no run with id "${input.runId}"`, 'runId');
    const cps = await listCheckpoints(runFolder(dataDir, run.id));
    if (cps.length === 0) {
      throw new StudioError('NOT_FOUND', `run ${run.id} has no checkpoint yet (one is written at the end of every epoch)`, input.checkpointEpoch === undefined ? 'runId' : 'checkpointEpoch');
    }
    const cp = input.checkpointEpoch === undefined ? cps[cps.length - 1]! : cps.find((c) => c.epoch === input.checkpointEpoch);
    if (!cp) {
      throw new StudioError('NOT_FOUND', `run ${run.id} has no checkpoint of epoch ${input.checkpointEpoch}; it has ${cps.map((c) => c.epoch).join(', ')}`, 'checkpointEpoch');
    }
    const formats = EXPORT_FORMATS.filter((f) => input.formats.includes(f));
    const dataset = store.datasets.get(run.datasetId);

    // The destination: absolute, not an existing file or non-empty folder.
    let out: string;
    if (input.out !== undefined) {
      if (!path.isAbsolute(input.out)) throw new StudioError('INVALID_INPUT', `the export folder must be an absolute path, got "${input.out}"`, 'out');
      out = path.resolve(input.out);
      await assertExportOutside(dataDir, out);
    } else {
      out = path.join(dataDir, 'exports', `${run.id}-epoch-${cp.epoch}-${stamp(new Date())}`);
    }
    let outExisted = false;
    try {
      const st = await fs.stat(out);
      if (!st.isDirectory()) throw new StudioError('CONFLICT', `${out} exists and is not a folder`, 'out');
      const entries = await fs.readdir(out);
      if (entries.length > 0) throw new StudioError('CONFLICT', `${out} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}); choose a new or empty folder`, 'out');
      outExisted = true;
    } catch (e) {
      if (e instanceof StudioError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new StudioError('INVALID_INPUT', `cannot use ${out} as the export folder: ${osReason(e)}`, 'out');
    }
    const jobId = input.jobId ?? newJobId();
    if (jobs.has(jobId)) throw new StudioError('CONFLICT', `an export with job id ${jobId} is already running`, 'jobId');
    // Taken before the next await, so that a second request with this id sees it.
    const ac = new AbortController();
    jobs.set(jobId, ac);
    // The studio closed while this export was getting ready: it ends as cancelled.
    if (closing) ac.abort();

    const parent = path.dirname(out);
    const staging = path.join(parent, `.${path.basename(out)}.tmp-${randomBytes(4).toString('hex')}`);
    let created: string | undefined;
    try {
      created = await fs.mkdir(parent, { recursive: true });
      await fs.mkdir(staging);
    } catch (e) {
      jobs.delete(jobId);
      await cleanUp(null, created, parent);
      throw new StudioError('INVALID_INPUT', `cannot write into ${parent}: ${osReason(e)}`, 'out');
    }

    let renamed = false;
    const progress = (phase: string, done: number, total: number) => emit('export.progress', { jobId, runId: run.id, phase, done, total });
    try {
      const files: ExportResult['files'] = [];
      let verifications: ExportResult['verifications'] = [];
      const modelFormats = formats.filter((f): f is 'tfjs' | 'onnx' => MODEL_FORMATS.includes(f));
      if (modelFormats.length > 0) {
        const manifest: ManifestContext = {
          run: { id: run.id, name: run.name, createdAt: run.createdAt, status: run.status },
          dataset: {
            id: run.datasetId,
            name: dataset?.name ?? run.datasetName,
            kind: dataset?.kind ?? 'unknown',
            fingerprint: dataset ? datasetFingerprint(dataDir, dataset) : null,
            count: dataset?.count ?? 0,
            labels: dataset?.labels ?? null,
          },
          appVersion: ctx.appVersion,
        };
        const payload: ExportModelsPayload = { checkpoint: cp.path, outDir: staging, formats: modelFormats, manifest };
        const r = await supervisor.runJob<ExportModelsResult>('export.models', payload, { onProgress: progress, signal: ac.signal });
        files.push(...r.files);
        verifications = r.verifications;
        const failed = verifications.filter((v) => !v.passed);
        if (failed.length > 0) {
          throw new StudioError(
            'EXPORT_VERIFY_FAILED',
            `the exported ${failed.map((v) => `${v.format} ${v.model} (max |difference| ${v.maxAbsDiff.toExponential(2)} > ${v.tolerance})`).join(', ')} did not reproduce the studio's outputs; nothing was written`,
          );
        }
      }
      // One share for the results formats, so that work two of them need is done once.
      const share = resultShare(formats);
      for (const format of formats.filter((f) => !MODEL_FORMATS.includes(f))) {
        if (ac.signal.aborted) break;
        const rc: ResultContext = {
          store,
          supervisor,
          dataDir,
          run,
          checkpoint: { epoch: cp.epoch, step: cp.step, path: cp.path },
          outDir: staging,
          onProgress: (phase, done, total) => progress(`${format}:${phase}`, done, total),
          signal: ac.signal,
          studioVersion: ctx.appVersion,
          share,
        };
        files.push(...(await writeResultFormat(format as ResultFormat, rc)));
      }
      if (ac.signal.aborted) throw new StudioError('CANCELLED', `export ${jobId} was cancelled; nothing was written`);
      progress('finish', 1, 1);
      try {
        if (outExisted) await fs.rmdir(out);
        await fs.rename(staging, out);
      } catch (e) {
        // Something else wrote to `out` meanwhile (another export, the user).
        throw new StudioError('CONFLICT', `cannot move the export into ${out}: ${osReason(e)}`, 'out');
      }
      renamed = true;
      return {
        runId: run.id,
        epoch: cp.epoch,
        out,
        formats,
        // Paths as they are now: inside `out` instead of the temporary folder they were written in.
        files: files.map((f) => ({ path: path.join(out, path.relative(staging, path.resolve(staging, f.path))), bytes: f.bytes })),
        verifications,
        durationMs: performance.now() - t0,
      };
    } catch (e) {
      if (!renamed) await cleanUp(staging, created, parent);
      if (ac.signal.aborted && !(e instanceof StudioError && e.code === 'CANCELLED')) {
        throw new StudioError('CANCELLED', `export ${jobId} was cancelled; nothing was written`);
      }
      throw e;
    } finally {
      jobs.delete(jobId);
    }
  }

  return {
    handlers: {
      'export.run': (input) => {
        const p = runExport(input);
        const settled = p.catch(() => undefined);
        running.add(settled);
        void settled.then(() => running.delete(settled));
        return p;
      },
      'export.cancel': ({ jobId }) => {
        const ac = jobs.get(jobId);
        if (!ac) return { jobId, cancelled: false };
        ac.abort();
        return { jobId, cancelled: true };
      },
      'export.importModel': (input) => importModel(ctx, input),
    },
    async close() {
      closing = true;
      for (const ac of jobs.values()) ac.abort();
      // A cancelled export removes its temporary folder before it settles: wait, so that nothing
      // is left in the user's folder when the studio (and then the process) ends.
      await Promise.all(running);
    },
  };
}

const badImport = (message: string) => new StudioError('INVALID_INPUT', message, 'path');

/** Reads and checks an export folder's manifest and tfjs models; throws INVALID_INPUT (field path) with the reason. */
async function readModelExport(folder: string): Promise<{ manifest: ModelManifest; models: Record<'encoder' | 'decoder', { dir: string; files: LoadedModelFiles }> }> {
  let st;
  try {
    st = await fs.stat(folder);
  } catch (e) {
    throw new StudioError('NOT_FOUND', `cannot open ${folder}: ${osReason(e)}`, 'path');
  }
  if (!st.isDirectory()) throw badImport(`${folder} is not a folder; choose the folder of a model export (it holds ${MANIFEST_FILE})`);
  const manifestPath = path.join(folder, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(manifestPath, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw badImport(`${folder} has no ${MANIFEST_FILE}: it is not a VAE Studio model export`);
    throw badImport(`${manifestPath} cannot be read: ${osReason(e)}`);
  }
  const head = raw as { format?: unknown; version?: unknown } | null;
  if (!head || typeof head !== 'object' || head.format !== MANIFEST_FORMAT) {
    throw badImport(`${manifestPath} is not a VAE Studio model manifest (format ${JSON.stringify(head?.format ?? null)}, expected "${MANIFEST_FORMAT}")`);
  }
  if (typeof head.version !== 'number' || head.version > MANIFEST_VERSION) {
    throw badImport(`${manifestPath} is version ${String(head.version)}; this studio reads model manifests up to version ${MANIFEST_VERSION} (update VAE Studio)`);
  }
  const parsed = ModelManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw badImport(`${manifestPath}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const config = TrainConfigSchema.safeParse(parsed.data.config);
  if (!config.success) {
    const i = config.error.issues[0]!;
    throw badImport(`${manifestPath}: config.${i.path.join('.')}: ${i.message}`);
  }
  const manifest = { ...parsed.data, config: config.data } as ModelManifest;
  const { input, models } = manifest;
  if (input.dim !== input.width * input.height * input.channels) {
    throw badImport(`${manifestPath}: input.dim ${input.dim} is not width x height x channels = ${input.width * input.height * input.channels}`);
  }
  if (models.latentDim !== config.data.model.latentDim) {
    throw badImport(`${manifestPath}: models.latentDim ${models.latentDim} differs from config.model.latentDim ${config.data.model.latentDim}`);
  }
  const out = {} as Record<'encoder' | 'decoder', { dir: string; files: LoadedModelFiles }>;
  for (const part of MODEL_PARTS) {
    const rel = models[part].tfjs;
    if (!rel) throw badImport(`${folder} holds no TensorFlow.js ${part} (export the model with the tfjs format to open it in the studio)`);
    const dir = path.resolve(folder, path.dirname(rel));
    if (path.relative(folder, dir).startsWith('..')) throw badImport(`${manifestPath}: the ${part} path ${rel} leaves the export folder`);
    let files: LoadedModelFiles;
    try {
      files = await readModelFiles(dir);
      assertStockTopology(files.json.modelTopology, `the ${part}`);
    } catch (e) {
      throw badImport(e instanceof ModelFilesError ? e.message : `${dir}: ${(e as Error).message}`);
    }
    // The graph translation checks the layers and infers the output sizes.
    let graph;
    try {
      graph = layersToOnnxGraph(files, { graphName: part, outputNames: part === 'encoder' ? ['mu', 'logvar'] : ['out'] });
    } catch (e) {
      throw badImport(`the ${part} in ${dir} cannot be read: ${(e as Error).message}`);
    }
    const [inDim, outDims] = part === 'encoder' ? [input.dim, [models.latentDim, models.latentDim]] : [models.latentDim, [input.dim]];
    const gotIn = graph.inputs[0]?.dims[1];
    const gotOut = graph.outputs.map((o) => o.dims[1]);
    if (gotIn !== inDim || gotOut.join(',') !== outDims.join(',')) {
      throw badImport(
        `the ${part} in ${dir} maps ${String(gotIn)} values to [${gotOut.join(', ')}]; the manifest says ${inDim} to [${outDims.join(', ')}]`,
      );
    }
    out[part] = { dir, files };
  }
  return { manifest, models: out };
}

/**
 * The dataset an imported model's run points at: this studio's dataset with the manifest's
 * fingerprint and image size, or a placeholder (see the file comment).
 */
function datasetForImport(ctx: ServiceContext, m: ModelManifest): { id: string; placeholder: Parameters<ServiceContext['store']['datasets']['upsert']>[0] | null } {
  const fp = m.dataset.fingerprint;
  const { width, height, channels } = m.input;
  if (fp) {
    const match = ctx.store.datasets
      .list()
      .find((d) => d.width === width && d.height === height && d.channels === channels && datasetFingerprint(ctx.dataDir, d) === fp);
    if (match) return { id: match.id, placeholder: null };
  }
  const key = `${fp ?? `unknown:${m.dataset.name}`}|${width}x${height}x${channels}`;
  const id = `ds-model-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
  return {
    id,
    placeholder: {
      id,
      name: `${m.dataset.name} (not in this studio)`,
      kind: 'imported',
      source: `model:${fp ?? ''}`,
      count: 0,
      width,
      height,
      channels,
      labels: m.dataset.labels,
      dataPath: null,
      fingerprint: fp,
    },
  };
}

/** export.importModel: the export folder as a new completed run with one checkpoint (see the file comment). */
export async function importModel(ctx: ServiceContext, input: CommandParsed<'export.importModel'>): Promise<RunSummary> {
  const folder = path.resolve(input.path);
  const { manifest, models } = await readModelExport(folder);
  const { config } = manifest;
  const runId = newRunId();
  const runDir = runFolder(ctx.dataDir, runId);
  const epoch = manifest.checkpoint.epoch;
  const finalDir = path.join(runDir, checkpointFolderName(epoch));
  const tmpDir = path.join(runDir, `.${checkpointFolderName(epoch)}.tmp-import`);
  const sigma = manifest.likelihood.gaussianSigma;
  // The epoch's metrics, when they look like the studio's (they are shown, never trusted for maths).
  const m0 = manifest.metrics as Partial<EpochPoint> | null;
  const looksLikeEpoch = !!m0 && typeof m0 === 'object' && ['epoch', 'step', 'loss', 'recon', 'kl', 'negElbo', 'bitsPerDim', 'durationMs'].every((k) => typeof m0[k as keyof EpochPoint] === 'number');
  const metrics: EpochPoint | null = looksLikeEpoch
    ? { ...(m0 as EpochPoint), valNegElbo: m0.valNegElbo ?? null, valRecon: m0.valRecon ?? null, valKl: m0.valKl ?? null, epoch, ...(config.likelihood === 'gaussian' && sigma !== null ? { sigma } : {}) }
    : null;
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    epoch,
    step: manifest.checkpoint.step,
    config,
    input: { width: manifest.input.width, height: manifest.input.height, channels: manifest.input.channels },
    dim: manifest.input.dim,
    paramCount: manifest.models.paramCount,
    metrics,
    // No optimiser state: the run can be explored and evaluated, not resumed. A learned sigma
    // travels as the loop state's logSigma, where evaluation reads it.
    state: config.likelihood === 'gaussian' && config.gaussianSigmaMode === 'learned' && sigma !== null ? { elapsedMs: 0, rng: {}, extra: { logSigma: Math.log(sigma) } } : null,
    optimizer: null,
  };
  let bytes = 0;
  let placeholderCreated: string | null = null;
  try {
    await fs.mkdir(tmpDir, { recursive: true });
    for (const part of MODEL_PARTS) {
      const dest = path.join(tmpDir, part);
      await fs.mkdir(dest);
      for (const f of models[part].files.files) {
        await fs.copyFile(path.join(models[part].dir, f), path.join(dest, f));
        bytes += (await fs.stat(path.join(dest, f))).size;
      }
    }
    const text = JSON.stringify(meta, null, 2);
    await fs.writeFile(path.join(tmpDir, 'checkpoint.json'), text);
    bytes += Buffer.byteLength(text);
    await fs.rename(tmpDir, finalDir);
    const { id: datasetId, placeholder } = datasetForImport(ctx, manifest);
    const now = Date.now();
    ctx.store.transaction(() => {
      if (placeholder && !ctx.store.datasets.get(placeholder.id)) {
        ctx.store.datasets.upsert(placeholder);
        placeholderCreated = placeholder.id;
      }
      ctx.store.runs.create({ id: runId, name: input.name?.trim() || `${manifest.run.name} (imported)`, datasetId, config, appVersion: ctx.appVersion, ownerPid: process.pid });
      ctx.store.runs.update(runId, {
        status: 'completed',
        startedAt: now,
        finishedAt: now,
        ownerPid: null,
        notes: `Imported from ${folder} (run ${manifest.run.id}, epoch ${epoch}, exported ${manifest.createdAt}).`,
      });
      if (metrics) ctx.store.metrics.appendEpoch(runId, metrics);
      ctx.store.checkpoints.add({ runId, epoch, step: manifest.checkpoint.step, path: finalDir, bytes, createdAt: now });
    });
  } catch (e) {
    await fs.rm(runDir, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  if (placeholderCreated) ctx.emit('datasets.changed', { datasetId: placeholderCreated });
  ctx.emit('runs.changed', { runId });
  return ctx.store.runs.get(runId)!;
}
