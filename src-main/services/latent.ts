/**
 * Latent explorer commands (contract/latent.ts). Encoding a split through a checkpoint's encoder
 * and the UMAP / t-SNE views run in worker processes (trainer/latent-job.ts); their results are
 * cached in the run's folder (core/latent/cache.ts: per checkpoint epoch, split and maxSamples;
 * deleting the run deletes them). Main reads the cached arrays, projects on native dimensions,
 * reads the PCA view (computed with the encoding), inverts 2-D positions to latent vectors and
 * serves the decoder's weights so the renderer decodes with tfjs itself.
 *
 * Concurrent requests for the same encoding or projection share one job; each request may carry
 * a jobId, and latent.cancel(jobId) ends that request with CANCELLED (the job is killed once no
 * request waits for it any more).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetInfo, RunSummary } from '../contract/index.ts';
import { StudioError } from '../contract/index.ts';
import type { DecoderWeights, LatentEncoding, LatentMap, LatentSplit, Projection, latentCommands } from '../contract/latent.ts';
import { listCheckpoints, readCheckpointMeta } from '../core/checkpoint.ts';
import { LATENT_DIR, checkpointSource, encodingDir, readF32, readI32, readProjection, toBase64, type EncodingSource } from '../core/latent/cache.ts';
import { attributeVector } from '../core/latent/attribute.ts';
import { GridIndex, idwMean } from '../core/latent/knn.ts';
import { firstTwo, pca as pcaOf, pcaInverse, pcaProject } from '../core/latent/pca.ts';
import { loadBuiltin } from '../core/sample-data.ts';
import type { DecodePayload, EncodePayload, ProjectPayload } from '../trainer/latent-job.ts';
import { LABELS_FILE, readDatasetMeta } from './datasets.ts';
import { datasetSource, runFolder } from './run-ops.ts';
import type { AreaService, ServiceContext } from './studio-api.ts';

export type LatentCommand = keyof typeof latentCommands;

/** Seed of the UMAP / t-SNE layouts (and of their subsamples). */
const PROJECTION_SEED = 7;
/** Neighbours (on the 2-D map) whose latent means give a UMAP / t-SNE position's vector. */
const INVERT_K = 8;
/** Encodings kept in memory (a 70k x 64 encoding holds ~36 MB). */
const MEMORY_CACHE = 3;

interface Target {
  runId: string;
  checkpointEpoch?: number | undefined;
  split: LatentSplit;
  maxSamples: number;
}

/** A checkpoint chosen for a request. */
interface Checkpoint {
  run: RunSummary;
  epoch: number;
  step: number;
  path: string;
}

/** An encoding read from its cache folder. */
interface Loaded {
  dir: string;
  source: EncodingSource;
  encoding: LatentEncoding;
  mu: Float32Array;
  logvar: Float32Array;
  negElbo: Float32Array;
  index: Int32Array;
  label: Int32Array | null;
  /** 2-D grids of the UMAP / t-SNE views, built on first inversion. */
  grids: Map<string, { x: Float32Array; y: Float32Array; grid: GridIndex }>;
}

type PcaFacts = { explainedVariance: number[]; pca: { mean: number[]; components: [number[], number[]] }; durationMs: number };
type FitFacts = { durationMs: number; fitted: number; seed: number };
type ProgressFn = (phase: string, done: number, total: number) => void;

/** One running job that several requests may wait for. */
interface Flight {
  promise: Promise<unknown>;
  controller: AbortController;
  waiters: number;
  settled: boolean;
  listeners: Set<ProgressFn>;
}

/** A request that carries a jobId: cancelling it ends the step it waits for, or the next one. */
interface Caller {
  cancelled: boolean;
  current: (() => void) | null;
}

const cancelled = (what: string) => new StudioError('CANCELLED', `${what} was cancelled`);

export function createLatentService(ctx: ServiceContext): AreaService<LatentCommand> {
  const { store, supervisor, dataDir } = ctx;
  const flights = new Map<string, Flight>();
  const callers = new Map<string, Caller>();
  const memory = new Map<string, Loaded>();

  // ── resolving a request ──────────────────────────────────────────────────────────────────────

  const getRun = (id: string): RunSummary => {
    const r = store.runs.get(id);
    if (!r) throw new StudioError('NOT_FOUND', `no run with id "${id}"`, 'runId');
    return r;
  };
  const getDataset = (r: RunSummary): DatasetInfo => {
    const d = store.datasets.get(r.datasetId);
    if (!d) throw new StudioError('NOT_FOUND', `run ${r.id}'s dataset "${r.datasetId}" no longer exists`, 'runId');
    return d;
  };

  async function checkpointOf(runId: string, epoch: number | undefined): Promise<Checkpoint> {
    const run = getRun(runId);
    const cps = await listCheckpoints(runFolder(dataDir, run.id));
    if (cps.length === 0) throw new StudioError('NOT_FOUND', `run ${run.id} has no checkpoint yet (one is written at the end of every epoch)`, 'runId');
    const cp = epoch === undefined ? cps[cps.length - 1]! : cps.find((c) => c.epoch === epoch);
    if (!cp) throw new StudioError('NOT_FOUND', `run ${run.id} has no checkpoint of epoch ${epoch}; it has ${cps.map((c) => c.epoch).join(', ')}`, 'checkpointEpoch');
    return { run, epoch: cp.epoch, step: cp.step, path: cp.path };
  }

  /** The official test split of an imported dataset as a sample range, or null. */
  const testRange = (d: DatasetInfo): { from: number; to: number } | null => {
    if (d.kind === 'builtin') return null;
    const splits = readDatasetMeta(dataDir, d.id)?.splits ?? null;
    return splits && splits.test > 0 ? { from: splits.train, to: splits.train + splits.test } : null;
  };

  // ── jobs shared between requests ─────────────────────────────────────────────────────────────

  /**
   * Runs `start` once per key while it is in flight; each request waits on it and hears its
   * progress. A request with a jobId can be cancelled alone; the job is aborted when no request waits.
   */
  function shared<T>(key: string, what: string, caller: Caller | null, onProgress: ProgressFn, start: (signal: AbortSignal, progress: ProgressFn) => Promise<T>): Promise<T> {
    if (caller?.cancelled) return Promise.reject(cancelled(what));
    let f = flights.get(key);
    if (!f) {
      const controller = new AbortController();
      const listeners = new Set<ProgressFn>();
      const flight: Flight = { promise: Promise.resolve(), controller, waiters: 0, settled: false, listeners };
      flight.promise = start(controller.signal, (phase, done, total) => {
        for (const l of listeners) l(phase, done, total);
      }).finally(() => {
        flight.settled = true;
        if (flights.get(key) === flight) flights.delete(key);
      });
      // Every waiter handles the outcome; this keeps an abandoned job's rejection from going unhandled.
      flight.promise.catch(() => {});
      flights.set(key, flight);
      f = flight;
    }
    const flight = f;
    flight.waiters++;
    flight.listeners.add(onProgress);
    return new Promise<T>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        flight.waiters--;
        flight.listeners.delete(onProgress);
        if (caller) caller.current = null;
        if (flight.waiters === 0 && !flight.settled) {
          flight.controller.abort();
          if (flights.get(key) === flight) flights.delete(key);
        }
      };
      if (caller) {
        caller.current = () => {
          leave();
          reject(cancelled(what));
        };
      }
      flight.promise.then(
        (v) => {
          leave();
          resolve(v as T);
        },
        (e: unknown) => {
          leave();
          reject(e);
        },
      );
    });
  }

  /** Registers a request's jobId for latent.cancel for the duration of `fn`. */
  async function withCaller<T>(jobId: string | undefined, fn: (caller: Caller | null) => Promise<T>): Promise<T> {
    if (jobId === undefined) return fn(null);
    if (callers.has(jobId)) throw new StudioError('CONFLICT', `a latent job with id "${jobId}" is already running`, 'jobId');
    const caller: Caller = { cancelled: false, current: null };
    callers.set(jobId, caller);
    try {
      return await fn(caller);
    } finally {
      callers.delete(jobId);
    }
  }

  // ── encodings ────────────────────────────────────────────────────────────────────────────────

  /** Reads a cached encoding folder if it is complete and from the checkpoint's current contents. */
  function readCached(dir: string, cp: Checkpoint): Loaded | null {
    let want: EncodingSource;
    try {
      want = checkpointSource(cp.path, cp.step);
    } catch {
      return null;
    }
    const hit = memory.get(dir);
    if (hit && hit.source.mtimeMs === want.mtimeMs && hit.source.step === want.step) {
      memory.delete(dir);
      memory.set(dir, hit);
      return hit;
    }
    let source: EncodingSource;
    let encoding: LatentEncoding;
    try {
      source = JSON.parse(fs.readFileSync(path.join(dir, 'source.json'), 'utf8')) as EncodingSource;
      encoding = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as LatentEncoding;
    } catch {
      return null;
    }
    if (source.mtimeMs !== want.mtimeMs || source.step !== want.step) return null;
    const n = encoding.count;
    const d = encoding.latentDim;
    const mu = readF32(path.join(dir, 'mu.f32'));
    const logvar = readF32(path.join(dir, 'logvar.f32'));
    const negElbo = readF32(path.join(dir, 'negelbo.f32'));
    const index = readI32(path.join(dir, 'index.i32'));
    const labelFile = path.join(dir, 'label.i32');
    const label = encoding.labels && fs.existsSync(labelFile) ? readI32(labelFile) : null;
    if (mu.length !== n * d || logvar.length !== n * d || negElbo.length !== n || index.length !== n || (label && label.length !== n)) return null;
    const loaded: Loaded = { dir, source, encoding, mu, logvar, negElbo, index, label, grids: new Map() };
    memory.set(dir, loaded);
    while (memory.size > MEMORY_CACHE) memory.delete(memory.keys().next().value!);
    return loaded;
  }

  async function encoding(t: Target, caller: Caller | null, jobId: string | null): Promise<Loaded> {
    const cp = await checkpointOf(t.runId, t.checkpointEpoch);
    const run = cp.run;
    const d = getDataset(run);
    const test = testRange(d);
    if (t.split === 'test' && !test) throw new StudioError('INVALID_INPUT', `dataset "${d.name}" has no official test split; choose split "validation", "train" or "all"`, 'split');
    if (t.split === 'validation' && run.config.validationFraction <= 0) {
      throw new StudioError('INVALID_INPUT', `run ${run.id} was trained without a validation hold-out (validationFraction 0); choose another split`, 'split');
    }
    const dir = encodingDir(runFolder(dataDir, run.id), cp.epoch, t.split, t.maxSamples);
    const hit = readCached(dir, cp);
    if (hit) return hit;
    const source = datasetSource(store, d);
    const dataPath = source.kind === 'file' ? source.path : null;
    const payload: EncodePayload = {
      runId: run.id,
      checkpoint: cp.path,
      dataset: source,
      labelsFile: dataPath && d.labels ? path.join(path.dirname(dataPath), LABELS_FILE) : null,
      labels: d.labels,
      layout: { count: d.count, ...(source.kind === 'file' && source.trainCount ? { trainCount: source.trainCount } : {}), test },
      split: t.split,
      maxSamples: t.maxSamples,
      outDir: dir,
    };
    const progress: ProgressFn = (phase, done, total) =>
      ctx.emit('latent.progress', { jobId, runId: run.id, phase: phase as 'loading' | 'encoding' | 'projecting', done, total });
    try {
      await shared(`encode:${dir}`, 'the encoding', caller, progress, async (signal, onProgress) => {
        try {
          return await supervisor.runJob('latent.encode', payload, { signal, onProgress });
        } finally {
          // A killed job may leave its temporary folder behind.
          removeTemporaries(dir);
        }
      });
    } finally {
      assertRunKept(run.id);
    }
    const loaded = readCached(dir, cp);
    if (!loaded) throw new StudioError('INTERNAL', `the encoding of run ${run.id} was not written to ${dir}`);
    return loaded;
  }

  /**
   * After a job that wrote into a run's folder: when the run was deleted while the job ran
   * (runs.delete removed the folder, the job then wrote into a new one), removes what the job left
   * and says that the run is gone.
   */
  function assertRunKept(runId: string): void {
    if (store.runs.get(runId)) return;
    fs.rmSync(runFolder(dataDir, runId), { recursive: true, force: true });
    throw new StudioError('NOT_FOUND', `run ${runId} was deleted while its latent job ran`, 'runId');
  }

  /** Removes the temporary folders (`<dir>.tmp-<pid>-…`) of writers that are no longer running. */
  function removeTemporaries(dir: string): void {
    const parent = path.dirname(dir);
    const base = `${path.basename(dir)}.tmp-`;
    for (const e of fs.existsSync(parent) ? fs.readdirSync(parent) : []) {
      if (!e.startsWith(base)) continue;
      const pid = Number(e.slice(base.length).split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
      fs.rmSync(path.join(parent, e), { recursive: true, force: true });
    }
  }

  // ── projections ──────────────────────────────────────────────────────────────────────────────

  const defaultDims = (e: LatentEncoding): [number, number] => [e.dimsByKl[0] ?? 0, e.dimsByKl[1] ?? e.dimsByKl[0] ?? 0];

  function checkDims(e: LatentEncoding, dims: [number, number] | undefined): [number, number] {
    const ds = dims ?? defaultDims(e);
    for (const j of ds) {
      if (j >= e.latentDim) throw new StudioError('INVALID_INPUT', `dimension ${j} is out of range: the latent space has ${e.latentDim} dimension${e.latentDim === 1 ? '' : 's'} (0..${e.latentDim - 1})`, 'dims');
    }
    if (ds[0] === ds[1] && e.latentDim > 1) throw new StudioError('INVALID_INPUT', `choose two different dimensions (got ${ds[0]} twice)`, 'dims');
    return ds;
  }

  function pcaFacts(l: Loaded): { x: Float32Array; y: Float32Array; facts: PcaFacts } {
    const cached = readProjection<PcaFacts>(l.dir, 'proj-pca', l.encoding.count);
    if (cached) return cached;
    // Written with the encoding; recomputed here only if it went missing.
    const t0 = performance.now();
    const p = pcaOf(l.mu, l.encoding.count, l.encoding.latentDim);
    const { x, y } = pcaProject(p, l.mu, l.encoding.count);
    const ev = Array.from(p.explainedVariance.subarray(0, Math.max(2, Math.min(10, p.dim))));
    if (ev.length < 2) ev.push(0);
    return { x, y, facts: { explainedVariance: ev, pca: { mean: Array.from(p.mean), components: firstTwo(p) }, durationMs: performance.now() - t0 } };
  }

  async function fitted(l: Loaded, kind: 'umap' | 'tsne', caller: Caller | null, jobId: string | null): Promise<{ x: Float32Array; y: Float32Array; facts: FitFacts }> {
    const name = `proj-${kind}`;
    const hit = readProjection<FitFacts>(l.dir, name, l.encoding.count);
    if (hit) return hit;
    const payload: ProjectPayload = { dir: l.dir, kind, seed: PROJECTION_SEED };
    const progress: ProgressFn = (_phase, done, total) => ctx.emit('latent.progress', { jobId, runId: l.encoding.runId, phase: 'projecting', done, total });
    try {
      await shared(`${name}:${l.dir}`, `the ${kind === 'umap' ? 'UMAP' : 't-SNE'} projection`, caller, progress, (signal, onProgress) =>
        supervisor.runJob('latent.project', payload, { signal, onProgress }),
      );
    } finally {
      assertRunKept(l.encoding.runId);
    }
    const done = readProjection<FitFacts>(l.dir, name, l.encoding.count);
    if (!done) throw new StudioError('INTERNAL', `the ${kind} projection was not written to ${l.dir}`);
    return done;
  }

  function column(l: Loaded, j: number): Float32Array {
    const { count: n, latentDim: d } = l.encoding;
    const out = new Float32Array(n);
    for (let r = 0; r < n; r++) out[r] = l.mu[r * d + j]!;
    return out;
  }

  function checkRows(l: Loaded, rows: readonly number[]): void {
    const n = l.encoding.count;
    for (const r of rows) if (r >= n) throw new StudioError('INVALID_INPUT', `row ${r} is outside the encoding's ${n} points (0..${n - 1})`, 'rows');
  }

  const target = (i: Target): Target => ({ runId: i.runId, checkpointEpoch: i.checkpointEpoch, split: i.split, maxSamples: i.maxSamples });

  // ── handlers ─────────────────────────────────────────────────────────────────────────────────

  const handlers: AreaService<LatentCommand>['handlers'] = {
    'latent.encode': (input) => withCaller(input.jobId, async (caller) => (await encoding(target(input), caller, input.jobId ?? null)).encoding),

    'latent.map': (input) =>
      withCaller(input.jobId, async (caller): Promise<LatentMap> => {
        const jobId = input.jobId ?? null;
        const l = await encoding(target(input), caller, jobId);
        const e = l.encoding;
        const projection: Projection = input.projection;
        let x: Float32Array;
        let y: Float32Array;
        let dims: [number, number] | null = null;
        let explainedVariance: number[] | null = null;
        let pca: LatentMap['pca'] = null;
        let durationMs: number;
        if (projection === 'dims') {
          const t0 = performance.now();
          dims = checkDims(e, input.dims);
          x = column(l, dims[0]);
          y = column(l, dims[1]);
          durationMs = performance.now() - t0;
        } else if (projection === 'pca') {
          const p = pcaFacts(l);
          ({ x, y } = p);
          explainedVariance = p.facts.explainedVariance;
          pca = p.facts.pca;
          durationMs = p.facts.durationMs;
        } else {
          const p = await fitted(l, projection, caller, jobId);
          ({ x, y } = p);
          durationMs = p.facts.durationMs;
        }
        return {
          encoding: e,
          projection,
          dims,
          x: toBase64(x),
          y: toBase64(y),
          index: toBase64(l.index),
          label: l.label ? toBase64(l.label) : null,
          negElbo: toBase64(l.negElbo),
          explainedVariance,
          pca,
          durationMs,
        };
      }),

    'latent.cancel': ({ jobId }) => {
      const c = callers.get(jobId);
      if (!c) return { jobId, cancelled: false };
      c.cancelled = true;
      c.current?.();
      return { jobId, cancelled: true };
    },

    'latent.vectors': async (input) => {
      const l = await encoding(target(input), null, null);
      checkRows(l, input.rows);
      const d = l.encoding.latentDim;
      const mu = new Float32Array(input.rows.length * d);
      const logvar = new Float32Array(input.rows.length * d);
      input.rows.forEach((r, k) => {
        mu.set(l.mu.subarray(r * d, (r + 1) * d), k * d);
        logvar.set(l.logvar.subarray(r * d, (r + 1) * d), k * d);
      });
      return { latentDim: d, mu: toBase64(mu), logvar: toBase64(logvar) };
    },

    'latent.invert': async (input) => {
      const l = await encoding(target(input), null, null);
      const e = l.encoding;
      const d = e.latentDim;
      const pts = input.points;
      for (const [px, py] of pts) if (!Number.isFinite(px) || !Number.isFinite(py)) throw new StudioError('INVALID_INPUT', 'every point must be two finite numbers', 'points');
      let z: Float32Array;
      if (input.projection === 'dims') {
        const [i, j] = checkDims(e, input.dims);
        z = new Float32Array(pts.length * d);
        pts.forEach(([px, py], r) => {
          for (let k = 0; k < d; k++) z[r * d + k] = e.meanPerDim[k]!;
          z[r * d + i] = px;
          z[r * d + j] = py;
        });
      } else if (input.projection === 'pca') {
        const { pca } = pcaFacts(l).facts;
        z = pcaInverse(pca.mean, pca.components, pts);
      } else {
        const kind = input.projection;
        let g = l.grids.get(kind);
        if (!g) {
          const p = await fitted(l, kind, null, null);
          g = { x: p.x, y: p.y, grid: new GridIndex(p.x, p.y) };
          l.grids.set(kind, g);
        }
        z = new Float32Array(pts.length * d);
        pts.forEach(([px, py], r) => {
          const nb = g.grid.nearest(px, py, INVERT_K);
          idwMean(l.mu, d, nb.ids, nb.dist, z, r * d);
        });
      }
      return { latentDim: d, z: toBase64(z) };
    },

    'latent.attribute': async (input) => {
      const l = await encoding(target(input), null, null);
      checkRows(l, input.rows);
      try {
        return attributeVector(l.mu, l.encoding.count, l.encoding.latentDim, input.rows);
      } catch (err) {
        if (err instanceof RangeError) throw new StudioError('INVALID_INPUT', err.message, 'rows');
        throw err;
      }
    },

    'latent.decoder': async (input): Promise<DecoderWeights> => {
      const cp = await checkpointOf(input.runId, input.checkpointEpoch);
      const meta = await readCheckpointMeta(cp.path);
      const dir = path.join(cp.path, 'decoder');
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as DecoderWeights['modelJson'];
      const parts = (json.weightsManifest ?? []).flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, path.basename(p)))));
      return {
        runId: cp.run.id,
        epoch: cp.epoch,
        latentDim: meta.config.model.latentDim,
        width: meta.input.width,
        height: meta.input.height,
        channels: meta.input.channels,
        likelihood: meta.config.likelihood,
        modelJson: { modelTopology: json.modelTopology, weightsManifest: json.weightsManifest, ...(json.format ? { format: json.format } : {}) },
        weights: Buffer.concat(parts).toString('base64'),
      };
    },

    'latent.decode': async (input) => {
      const cp = await checkpointOf(input.runId, input.checkpointEpoch);
      const meta = await readCheckpointMeta(cp.path);
      const d = meta.config.model.latentDim;
      const z = parseLatents(input.z, d);
      const tmp = path.join(runFolder(dataDir, cp.run.id), LATENT_DIR, `.decode-${randomBytes(4).toString('hex')}`);
      fs.mkdirSync(tmp, { recursive: true });
      try {
        const payload: DecodePayload = { checkpoint: cp.path, zFile: path.join(tmp, 'z.f32'), outFile: path.join(tmp, 'pixels.u8') };
        fs.writeFileSync(payload.zFile, new Uint8Array(z.buffer, z.byteOffset, z.byteLength));
        await supervisor.runJob('latent.decode', payload);
        const pixels = fs.readFileSync(payload.outFile);
        return { count: z.length / d, width: meta.input.width, height: meta.input.height, channels: meta.input.channels, pixels: pixels.toString('base64') };
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
        assertRunKept(cp.run.id);
      }
    },

    'latent.images': (input) => {
      const run = getRun(input.runId);
      const d = getDataset(run);
      for (const i of input.indices) {
        if (i >= d.count) throw new StudioError('INVALID_INPUT', `sample ${i} is outside the dataset's ${d.count} samples (0..${d.count - 1})`, 'indices');
      }
      const size = d.width * d.height * d.channels;
      const out = new Uint8Array(input.indices.length * size);
      if (d.kind === 'builtin') {
        const data = loadBuiltin(d.source);
        input.indices.forEach((i, k) => out.set(data.images.subarray(i * size, (i + 1) * size), k * size));
      } else {
        const p = store.datasets.dataPath(d.id);
        if (!p) throw new StudioError('NOT_FOUND', `dataset ${d.id} has no stored data`, 'runId');
        const fd = fs.openSync(p, 'r');
        try {
          input.indices.forEach((i, k) => {
            const got = fs.readSync(fd, out, k * size, size, i * size);
            if (got !== size) throw new StudioError('INTERNAL', `${p} is shorter than its ${d.count} samples (sample ${i})`);
          });
        } finally {
          fs.closeSync(fd);
        }
      }
      return { width: d.width, height: d.height, channels: d.channels, pixels: toBase64(out) };
    },
  };

  return {
    handlers,
    close() {
      for (const c of callers.values()) {
        c.cancelled = true;
        c.current?.();
      }
      for (const f of flights.values()) f.controller.abort();
      flights.clear();
      memory.clear();
    },
  };
}

/**
 * Latent vectors from base64 float32 bytes: a whole number of vectors of `d` values, all finite.
 * Errors name the field `z`.
 */
export function parseLatents(b64: string, d: number): Float32Array {
  const bad = (why: string) => new StudioError('INVALID_INPUT', why, 'z');
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw bad('z is not valid base64');
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.byteLength === 0 || bytes.byteLength % (4 * d) !== 0) {
    throw bad(`z holds ${bytes.byteLength} bytes; expected a whole number of ${d}-dimensional float32 vectors (a multiple of ${4 * d} bytes)`);
  }
  const z = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(z.buffer).set(bytes);
  for (let i = 0; i < z.length; i++) if (!Number.isFinite(z[i]!)) throw bad(`z[${i}] is not a finite number`);
  return z;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
