/**
 * Datasets: importing files into the studio's own layout (with a health report), previewing an
 * import, reading samples back, deleting, and the datasets.* command handlers.
 *
 * Sources: image collections (folders walked recursively, the first folder level naming the label;
 * zips with the same layout; loose PNG, JPEG, WebP, GIF, BMP, TIFF files), and arrays (MNIST-style
 * IDX, gzipped or not, a folder of the four standard files becoming one dataset with its official
 * test split; NumPy .npy; CSV of pixel rows). Original files are only ever read.
 *
 * Layout of one imported dataset, `<dataDir>/datasets/<id>/`:
 *   data.u8       count * height * width * channels bytes, uint8, row-major HWC per sample (what the
 *                 trainer's `file` source reads)
 *   labels.u8     one byte per sample, the label id (index into DatasetInfo.labels); absent when unlabelled
 *   dataset.json  DatasetMeta: sources, official split, preprocessing, hashes, the health report
 * The history row (kind 'imported') is written last: a row never names files that are not complete
 * on disk. While an import runs its folder holds a `.importing` file with the importing process id;
 * a failed or cancelled import removes its folder, and a studio starting after a crash removes
 * folders that have no row and no live importer (sweepOrphanDatasets).
 *
 * Why the split, preprocessing and report live in dataset.json rather than in new columns: nothing
 * queries them, they are read whole, and a sidecar needs no schema migration.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type {
  CommandName,
  CommandOutput,
  CommandParsed,
  DatasetInfo,
  DatasetReport,
  Events,
  HistogramBin,
  ImportPreview,
  Preprocess,
  PreprocessInput,
  SamplePage,
  SkippedFile,
} from '../contract/index.ts';
import { ACTIVE_STATUSES, PreprocessSchema, StudioError } from '../contract/index.ts';
import { FormatError, UnsupportedFormatError, gunzipIfNeededAsync } from '../core/formats/common.ts';
import type { ImageArray } from '../core/formats/common.ts';
import { parseCsvImages } from '../core/formats/csv.ts';
import { checkLabelCount, idxToImages, idxToLabels, parseIdx } from '../core/formats/idx.ts';
import { isNpy, parseNpyImages } from '../core/formats/npy.ts';
import { syncDir } from '../core/fs-durable.ts';
import { decodeImage } from '../core/images/decode.ts';
import { convertChannels, flatten, parseColour, prepareImage, toSquare } from '../core/images/preprocess.ts';
import type { RawImage, Rgb } from '../core/images/preprocess.ts';
import { loadBuiltin } from '../core/sample-data.ts';
import type { Store } from '../store/index.ts';
import { isImageName, isZipName, readFailure, scanImageSources } from './dataset-sources.ts';
import type { SourceEntry } from './dataset-sources.ts';
import { ImportJobs } from './import-jobs.ts';
import type { ImportJob } from './import-jobs.ts';

export const DATASETS_DIR = 'datasets';
export const DATA_FILE = 'data.u8';
export const LABELS_FILE = 'labels.u8';
export const META_FILE = 'dataset.json';
/** Present while an import writes the folder; holds the importing process id. */
export const IMPORTING_FILE = '.importing';
/** Image collections without a chosen size are stored at this side. */
export const DEFAULT_IMAGE_SIZE = 64;
/**
 * Images decoded at once (sharp runs each on libuv's pool of 4 threads); measured best at 4 on 2
 * cores. Plain PNGs near the target size are decoded synchronously by the built-in decoder instead,
 * for which this changes nothing.
 */
export const DECODE_CONCURRENCY = 4;
/** The longest the import keeps the event loop busy with synchronous decoding before it lets other work run. */
const DECODE_SLICE_MS = 20;
/** Label of files lying at the root of a collection whose other files sit in label folders. */
export const UNLABELLED = '(unlabelled)';

/** Files larger than this are refused before reading (a Node Buffer holds at most 4 GiB here). */
export const MAX_FILE_BYTES = 2 ** 31;

export type DatasetFormat = 'idx' | 'npy' | 'csv' | 'images';

export interface DatasetMeta {
  /** 1: before health reports (no preprocess / report); 2: now. */
  version: 1 | 2;
  format: DatasetFormat;
  /** The files (arrays) or paths (image collections) read. */
  files: string[];
  /**
   * The source's official split: samples [0, train) are its training set and [train, train + test)
   * its test set (MNIST's t10k files). Null when the source has no split.
   */
  splits: { train: number; test: number } | null;
  /** Bytes on disk: data.u8 plus labels.u8. */
  bytes: number;
  /** Hex sha256 of data.u8 (check with `sha256sum data.u8`); also the row's fingerprint. */
  sha256: string;
  labelsSha256: string | null;
  importedAt: number;
  /** Wall time of the import, reading to the row. */
  importMs: number;
  preprocess?: Preprocess;
  report?: DatasetReport;
  /** Generating factors per sample (procedural datasets); imported data has none. */
  factors?: { names: string[] } | null;
}

export function datasetDir(dataDir: string, id: string): string {
  return path.join(dataDir, DATASETS_DIR, id);
}

export function newDatasetId(now = Date.now()): string {
  const t = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `ds-${t}-${randomBytes(3).toString('hex')}`;
}

/** The sidecar of an imported dataset; null for builtins or when it is missing or unreadable. */
export function readDatasetMeta(dataDir: string, id: string): DatasetMeta | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(datasetDir(dataDir, id), META_FILE), 'utf8')) as DatasetMeta;
  } catch {
    return null;
  }
}

/** Class names for label ids 0..max: the ten digits for MNIST-like labels, else every id up to the largest. */
export function classNames(labels: Uint8Array): string[] {
  let max = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > max) max = labels[i]!;
  return Array.from({ length: max <= 9 ? 10 : max + 1 }, (_, i) => String(i));
}

const invalid = (message: string, field = 'paths') => new StudioError('INVALID_INPUT', message, field);

// --- planning: which files are which --------------------------------------------------------------

/** MNIST's published names, e.g. train-images-idx3-ubyte.gz; some mirrors write `.idx3-ubyte`. */
const MNIST_NAME = /^(train|t10k)-(images|labels)[-.]idx([13])-ubyte(\.gz)?$/i;

interface IdxPart {
  split: 'train' | 'test' | null;
  images: string;
  labels: string | null;
}
type ArrayPlan =
  | { format: 'idx'; parts: IdxPart[]; name: string }
  | { format: 'npy'; file: string; name: string }
  | { format: 'csv'; file: string; name: string };
type Plan = { kind: 'arrays'; arrays: ArrayPlan } | { kind: 'images'; name: string };

function stripExt(file: string): string {
  return path.basename(file).replace(/\.gz$/i, '').replace(/\.[^.]*$/, '') || path.basename(file);
}

/** Groups files named the MNIST way into a train part and a test part. */
function mnistParts(files: string[]): IdxPart[] {
  const slots: Record<string, string> = {};
  for (const f of files) {
    const m = MNIST_NAME.exec(path.basename(f))!;
    const key = `${m[1]!.toLowerCase()}-${m[2]!.toLowerCase()}`;
    if (slots[key]) throw invalid(`both ${path.basename(slots[key])} and ${path.basename(f)} are ${key} files; keep one`);
    slots[key] = f;
  }
  const parts: IdxPart[] = [];
  for (const [prefix, split] of [['train', 'train'], ['t10k', 'test']] as const) {
    const images = slots[`${prefix}-images`];
    const labels = slots[`${prefix}-labels`] ?? null;
    if (!images && labels) throw invalid(`${path.basename(labels)} has no matching ${prefix}-images file`);
    if (images) parts.push({ split, images, labels });
  }
  if (parts.length === 0) throw invalid('no images file among the MNIST-format files (train-images-idx3-ubyte or t10k-images-idx3-ubyte)');
  if (parts.length === 2 && (parts[0]!.labels === null) !== (parts[1]!.labels === null)) {
    throw invalid('labels are given for one of the train and test sets but not for the other; give both labels files or neither');
  }
  // A lone part is just a dataset: the split only means something when both halves are there.
  if (parts.length === 1) parts[0]!.split = null;
  return parts;
}

const isCsv = (f: string) => /\.csv$/i.test(f);
const isNpyName = (f: string) => /\.npy$/i.test(f);

/**
 * What kind of import `paths` (absolute, existing) are. Arrays: one folder holding MNIST-format
 * files, or one .npy / .csv, or IDX files. Images: anything with folders of images, zips or image
 * files. Mixing arrays and images in one import is refused.
 */
async function plan(paths: string[]): Promise<Plan> {
  const stats = await Promise.all(
    paths.map(async (p) => {
      try {
        return await fs.promises.stat(p);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new StudioError('NOT_FOUND', `${p} does not exist`, 'paths');
        throw invalid(`${p} cannot be read (${code ?? (e as Error).message})`);
      }
    }),
  );
  const dirs = paths.filter((_, i) => stats[i]!.isDirectory());
  const label = paths.length === 1 ? stripExt(paths[0]!) : path.basename(path.dirname(paths[0]!)) || 'dataset';
  if (dirs.length === 1 && paths.length === 1) {
    const dir = dirs[0]!;
    const entries = await fs.promises.readdir(dir, { withFileTypes: true });
    const files = entries.filter((e) => e.isFile()).map((e) => path.join(dir, e.name));
    const mnist = files.filter((f) => MNIST_NAME.test(path.basename(f)));
    if (mnist.length > 0) return { kind: 'arrays', arrays: { format: 'idx', parts: mnistParts(mnist), name: path.basename(dir) } };
    const others = entries.filter((e) => !e.name.startsWith('.'));
    const arrays = files.filter((f) => isNpyName(f) || isCsv(f));
    if (arrays.length === 1 && others.length === 1) {
      const f = arrays[0]!;
      return { kind: 'arrays', arrays: isCsv(f) ? { format: 'csv', file: f, name: path.basename(dir) } : { format: 'npy', file: f, name: path.basename(dir) } };
    }
    return { kind: 'images', name: path.basename(dir) };
  }
  for (let i = 0; i < paths.length; i++) if (!stats[i]!.isFile() && !stats[i]!.isDirectory()) throw invalid(`${paths[i]} is neither a file nor a folder`);
  const collection = paths.filter((p, i) => stats[i]!.isDirectory() || isImageName(p) || isZipName(p));
  if (collection.length > 0) {
    const arrays = paths.filter((p) => isNpyName(p) || isCsv(p) || MNIST_NAME.test(path.basename(p)));
    if (arrays.length > 0) {
      throw invalid(`${path.basename(arrays[0]!)} is an array file; import array files (IDX, .npy, .csv) on their own, not together with images`);
    }
    return { kind: 'images', name: paths.length === 1 ? stripExt(paths[0]!) : label };
  }
  const npy = paths.filter(isNpyName);
  const csv = paths.filter(isCsv);
  if (npy.length + csv.length > 0) {
    if (paths.length > 1) throw invalid('import one .npy or .csv file at a time');
    const f = paths[0]!;
    return { kind: 'arrays', arrays: npy.length ? { format: 'npy', file: f, name: stripExt(f) } : { format: 'csv', file: f, name: stripExt(f) } };
  }
  if (paths.every((p) => MNIST_NAME.test(path.basename(p)))) {
    return { kind: 'arrays', arrays: { format: 'idx', parts: mnistParts(paths), name: path.basename(path.dirname(paths[0]!)) } };
  }
  // Files not named the MNIST way: one images file, and optionally one labels file, told apart by
  // their number of dimensions once parsed (see loadIdx).
  if (paths.length > 2) throw invalid('give one IDX images file and at most one IDX labels file (or a folder in the MNIST layout)');
  return { kind: 'arrays', arrays: { format: 'idx', parts: [{ split: null, images: paths[0]!, labels: paths[1] ?? null }], name: stripExt(paths[0]!) } };
}

// --- reading arrays ---------------------------------------------------------------------------------

async function readBytes(file: string): Promise<Uint8Array> {
  const { size } = await fs.promises.stat(file);
  if (size > MAX_FILE_BYTES) throw invalid(`${file} is ${(size / 2 ** 30).toFixed(1)} GiB; files up to 2 GiB can be imported`);
  return fs.promises.readFile(file);
}

async function readIdx(file: string) {
  return parseIdx(await gunzipIfNeededAsync(await readBytes(file), file), file);
}

interface LoadedArrays {
  parts: { split: IdxPart['split']; images: ImageArray; labels: Uint8Array | null }[];
  labelNames: string[] | null;
  files: string[];
}

async function loadIdx(parts: IdxPart[]): Promise<LoadedArrays> {
  const out: LoadedArrays = { parts: [], files: [], labelNames: null };
  for (const p of parts) {
    let [a, b] = await Promise.all([readIdx(p.images), p.labels ? readIdx(p.labels) : Promise.resolve(null)]);
    let imagesFile = p.images;
    let labelsFile = p.labels;
    // Two loosely named files given in either order: the one-dimensional one holds the labels.
    if (p.split === null && b && a.dims.length === 1 && b.dims.length !== 1) {
      [a, b] = [b, a];
      [imagesFile, labelsFile] = [labelsFile!, imagesFile];
    }
    if (a.dims.length === 1) throw invalid(`${imagesFile} holds labels (one dimension), not images`);
    const images = idxToImages(a, imagesFile);
    const labels = b ? idxToLabels(b, labelsFile!) : null;
    if (labels) checkLabelCount(images, labels, labelsFile!);
    out.parts.push({ split: p.split, images, labels });
    out.files.push(imagesFile, ...(labelsFile ? [labelsFile] : []));
  }
  const [first, ...rest] = out.parts;
  for (const r of rest) {
    const x = first!.images;
    const y = r.images;
    if (x.height !== y.height || x.width !== y.width || x.channels !== y.channels) {
      throw invalid(`the train images are ${x.height}x${x.width}x${x.channels} but the test images ${y.height}x${y.width}x${y.channels}`);
    }
  }
  if (out.parts.every((x) => x.labels !== null)) {
    out.labelNames = classNames(out.parts.length === 1 ? out.parts[0]!.labels! : Buffer.concat(out.parts.map((x) => x.labels!)));
  }
  return out;
}

async function loadArrays(p: ArrayPlan, maxRows?: number): Promise<LoadedArrays> {
  try {
    if (p.format === 'idx') return await loadIdx(p.parts);
    const bytes = await readBytes(p.file);
    if (p.format === 'npy') {
      if (!isNpy(bytes)) throw invalid(`${p.file} is not a .npy file (it does not start with \\x93NUMPY)`);
      return { parts: [{ split: null, images: parseNpyImages(bytes, p.file), labels: null }], labelNames: null, files: [p.file] };
    }
    const csv = parseCsvImages(bytes, p.file, maxRows);
    return { parts: [{ split: null, images: csv.images, labels: csv.labels }], labelNames: csv.labelNames, files: [p.file] };
  } catch (e) {
    if (e instanceof FormatError) throw invalid(e.message);
    throw e;
  }
}

/** The preprocessing options with defaults applied; `size` stays absent for arrays that keep theirs. */
function resolvePreprocess(input: PreprocessInput | Preprocess | undefined): Preprocess {
  const r = PreprocessSchema.safeParse(input ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw invalid(`preprocess.${i.path.join('.')}: ${i.message}`, `preprocess.${i.path.join('.')}`);
  }
  return r.data;
}

/** One array sample to its stored form: alpha flattened, channels as asked, resized when a size is given. */
function prepareArraySample(img: RawImage, pre: Preprocess, bg: Rgb): RawImage {
  let x = flatten(img, bg);
  if (pre.channels === 'grayscale') x = convertChannels(x, 1);
  else if (pre.channels === 'rgb') x = convertChannels(x, 3);
  if (pre.size !== undefined) x = toSquare(x, pre.size, pre.resize, bg);
  return x;
}

// --- writing ----------------------------------------------------------------------------------------

/**
 * A file written atomically: a temporary name in the same folder, fsync, rename (POSIX rename
 * replaces atomically, so the final name holds either nothing or the complete file). Writes are
 * gathered into 1 MiB blocks; the sha256 of everything written is kept.
 */
class AtomicFile {
  readonly hash = createHash('sha256');
  bytes = 0;
  readonly #tmp: string;
  #fh: fs.promises.FileHandle | null = null;
  #buf = Buffer.allocUnsafe(2 ** 20);
  #len = 0;

  private constructor(readonly file: string) {
    this.#tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  }

  static async create(file: string): Promise<AtomicFile> {
    const f = new AtomicFile(file);
    f.#fh = await fs.promises.open(f.#tmp, 'wx');
    return f;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.#len + chunk.length > this.#buf.length) await this.#flush();
    if (chunk.length >= this.#buf.length) await this.#fh!.write(chunk);
    else {
      this.#buf.set(chunk, this.#len);
      this.#len += chunk.length;
    }
  }

  async #flush(): Promise<void> {
    if (this.#len === 0) return;
    await this.#fh!.write(this.#buf, 0, this.#len);
    this.#len = 0;
  }

  /** Flushes, syncs and renames into place; returns the hex sha256. */
  async commit(): Promise<string> {
    await this.#flush();
    await this.#fh!.sync();
    await this.#fh!.close();
    this.#fh = null;
    await fs.promises.rename(this.#tmp, this.file);
    return this.hash.digest('hex');
  }

  /**
   * A new file for the same name holding this one's bytes with every byte repeated 3 times (grey
   * samples to RGB), this one removed; the hash restarts over the new content.
   */
  async expandedToRgb(): Promise<AtomicFile> {
    await this.#flush();
    await this.#fh!.close();
    this.#fh = null;
    const next = await AtomicFile.create(this.file);
    try {
      const fh = await fs.promises.open(this.#tmp, 'r');
      try {
        const block = Buffer.allocUnsafe(2 ** 20);
        for (;;) {
          const { bytesRead } = await fh.read(block, 0, block.length, null);
          if (bytesRead === 0) break;
          const rgb = new Uint8Array(bytesRead * 3);
          for (let i = 0; i < bytesRead; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = block[i]!;
          await next.write(rgb);
        }
      } finally {
        await fh.close();
      }
    } catch (e) {
      await next.abort();
      throw e;
    }
    await fs.promises.rm(this.#tmp, { force: true });
    return next;
  }

  async abort(): Promise<void> {
    await this.#fh?.close().catch(() => undefined);
    this.#fh = null;
    await fs.promises.rm(this.#tmp, { force: true });
  }
}

/** Makes the renames durable (a folder's entries are data too), best effort. */
const syncDirBestEffort = (dir: string): Promise<void> => syncDir(dir).catch(() => undefined);

// --- the health report --------------------------------------------------------------------------------

/** Collects what the report says while samples are committed in order. */
class ReportBuilder {
  readonly skipped: SkippedFile[] = [];
  readonly #sizes = new Map<string, number>();
  readonly #aspects = new Map<string, number>();
  #sum: Float64Array | null = null;
  count = 0;

  addShape(width: number, height: number, n = 1): void {
    const key = `${width}x${height}`;
    this.#sizes.set(key, (this.#sizes.get(key) ?? 0) + n);
    const b = aspectBucket(width / height);
    this.#aspects.set(b, (this.#aspects.get(b) ?? 0) + n);
  }

  addPixels(data: Uint8Array, sampleSize: number): void {
    this.#sum ??= new Float64Array(sampleSize);
    const s = this.#sum;
    for (let o = 0; o < data.length; o += sampleSize) {
      for (let i = 0; i < sampleSize; i++) s[i]! += data[o + i]!;
      this.count++;
    }
  }

  /** The running sums of grey samples as RGB (when a grey dataset switches to colour). */
  expandToRgb(): void {
    const s = this.#sum;
    if (!s) return;
    const e = new Float64Array(s.length * 3);
    for (let i = 0; i < s.length; i++) e[i * 3] = e[i * 3 + 1] = e[i * 3 + 2] = s[i]!;
    this.#sum = e;
  }

  mean(width: number, height: number, channels: number, fromChannels = channels): DatasetReport['meanImage'] {
    const out = new Uint8Array(width * height * channels);
    const s = this.#sum;
    if (s && this.count > 0) {
      for (let i = 0; i < width * height; i++) {
        for (let c = 0; c < channels; c++) out[i * channels + c] = Math.round(s[i * fromChannels + c]! / this.count);
      }
    }
    return { width, height, channels, data: Buffer.from(out).toString('base64') };
  }

  sizeHistogram(): HistogramBin[] {
    return topBins(this.#sizes, 12);
  }

  aspectHistogram(): HistogramBin[] {
    return ASPECT_BUCKETS.map((b) => ({ label: b.label, count: this.#aspects.get(b.label) ?? 0 })).filter((b) => b.count > 0);
  }
}

/** Width / height buckets, narrow around the common ratios (square, 4:3, 3:2, 16:9 and portraits). */
const ASPECT_BUCKETS = [
  { max: 0.5, label: '< 1:2' },
  { max: 0.7, label: '1:2 - 2:3' },
  { max: 0.9, label: '2:3 - 9:10 (portrait)' },
  { max: 1.1, label: 'about 1:1 (square)' },
  { max: 1.4, label: '10:9 - 7:5 (e.g. 4:3)' },
  { max: 2, label: '7:5 - 2:1 (e.g. 3:2, 16:9)' },
  { max: Infinity, label: '> 2:1' },
];
function aspectBucket(r: number): string {
  return ASPECT_BUCKETS.find((b) => r < b.max)!.label;
}

function topBins(m: Map<string, number>, n: number): HistogramBin[] {
  const all = [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([label, count]) => ({ label, count }));
  if (all.length <= n) return all;
  const rest = all.slice(n - 1).reduce((s, b) => s + b.count, 0);
  return [...all.slice(0, n - 1), { label: `other (${all.length - n + 1} sizes)`, count: rest }];
}

function balance(labels: Uint8Array | null, names: string[] | null): HistogramBin[] {
  if (!labels || !names) return [];
  const counts = new Array<number>(names.length).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!] = (counts[labels[i]!] ?? 0) + 1;
  return names.map((label, i) => ({ label, count: counts[i] ?? 0 }));
}

// --- importing ----------------------------------------------------------------------------------------

export interface ImportOptions {
  name?: string;
  preprocess?: PreprocessInput | Preprocess;
  /** The job this import runs as (progress, cancel); none for a plain call. */
  job?: ImportJob;
  now?: () => number;
  concurrency?: number;
  /** Refuse zips that expand beyond this (default 8 GiB). */
  maxZipBytes?: number;
  /** False decodes every PNG with sharp instead of the built-in decoder (benchmarks, comparisons). */
  builtinPng?: boolean;
}

export interface ImportResult {
  dataset: DatasetInfo;
  report: DatasetReport;
}

/** A job stand-in for plain calls: no progress, never cancelled, still yields between chunks. */
function quietJob(): ImportJob {
  const ctl = new AbortController();
  return { id: 'direct', signal: ctl.signal, progress: () => undefined, checkpoint: () => new Promise<void>((r) => setImmediate(r)) };
}

interface Written {
  dataSha: string;
  dataBytes: number;
  labelsSha: string | null;
  labelBytes: number;
}

/** The part of an import shared by both kinds: folder with marker, the files, meta, row (last). */
async function store_(
  store: Store,
  dataDir: string,
  id: string,
  write: (dir: string) => Promise<{ written: Written; info: Omit<DatasetInfo, 'id' | 'createdAt' | 'kind'>; meta: Omit<DatasetMeta, 'bytes' | 'sha256' | 'labelsSha256' | 'importedAt' | 'importMs' | 'version'>; report: DatasetReport }>,
  started: number,
  now: () => number,
): Promise<ImportResult> {
  const dir = datasetDir(dataDir, id);
  await fs.promises.mkdir(path.dirname(dir), { recursive: true });
  await fs.promises.mkdir(dir);
  try {
    await fs.promises.writeFile(path.join(dir, IMPORTING_FILE), String(process.pid));
    const { written, info, meta, report } = await write(dir);
    const importedAt = now();
    report.durationMs = Math.round(performance.now() - started);
    const full: DatasetMeta = {
      version: 2,
      ...meta,
      bytes: written.dataBytes + written.labelBytes,
      sha256: written.dataSha,
      labelsSha256: written.labelsSha,
      importedAt,
      importMs: report.durationMs,
      report,
    };
    const m = await AtomicFile.create(path.join(dir, META_FILE));
    try {
      await m.write(Buffer.from(JSON.stringify(full, null, 1)));
      await m.commit();
    } catch (e) {
      await m.abort();
      throw e;
    }
    await fs.promises.rm(path.join(dir, IMPORTING_FILE), { force: true });
    await syncDirBestEffort(dir);
    store.datasets.upsert({ ...info, id, kind: 'imported', createdAt: importedAt, dataPath: path.join(dir, DATA_FILE), fingerprint: `sha256:${written.dataSha}` });
    return { dataset: store.datasets.get(id)!, report };
  } catch (e) {
    // The folder is this import's own (its id is new): removing it leaves nothing behind.
    await fs.promises.rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function writeLabels(dir: string, labels: Uint8Array | null): Promise<{ sha: string | null; bytes: number }> {
  if (!labels) return { sha: null, bytes: 0 };
  const f = await AtomicFile.create(path.join(dir, LABELS_FILE));
  try {
    await f.write(labels);
    return { sha: await f.commit(), bytes: f.bytes };
  } catch (e) {
    await f.abort();
    throw e;
  }
}

async function importArrays(
  store: Store,
  dataDir: string,
  p: ArrayPlan,
  sources: string[],
  pre: Preprocess,
  opts: ImportOptions,
  job: ImportJob,
): Promise<ImportResult> {
  const now = opts.now ?? Date.now;
  const started = performance.now();
  job.progress('scanning', 0, 0, p.format === 'idx' ? p.parts[0]!.images : p.file);
  const loaded = await loadArrays(p);
  await job.checkpoint();
  const first = loaded.parts[0]!.images;
  const count = loaded.parts.reduce((s, x) => s + x.images.count, 0);
  if (count === 0) throw invalid(`${loaded.files.join(', ')} hold no samples`);
  if (loaded.parts.some((x) => x.labels) && !loaded.parts.every((x) => x.labels)) throw invalid('some parts have labels and others do not');
  const labels = loaded.parts.every((x) => x.labels) ? (loaded.parts.length === 1 ? loaded.parts[0]!.labels! : Buffer.concat(loaded.parts.map((x) => x.labels!))) : null;
  const bg = parseColour(pre.background);
  // Arrays of grey or RGB kept at their size are stored byte for byte (no per-sample work: the
  // 70,000 Fashion-MNIST images then import in about a second).
  const asIs =
    (first.channels === 1 || first.channels === 3) &&
    (pre.size === undefined || (pre.size === first.width && pre.size === first.height)) &&
    (pre.channels === 'auto' || (pre.channels === 'grayscale') === (first.channels === 1));
  const outW = asIs || pre.size === undefined ? first.width : pre.size;
  const outH = asIs || pre.size === undefined ? first.height : pre.size;
  const train = loaded.parts.find((x) => x.split === 'train');
  const test = loaded.parts.find((x) => x.split === 'test');
  const id = newDatasetId(now());

  return store_(
    store,
    dataDir,
    id,
    async (dir) => {
      const rb = new ReportBuilder();
      const data = await AtomicFile.create(path.join(dir, DATA_FILE));
      let outC = first.channels;
      try {
        let done = 0;
        for (const part of loaded.parts) {
          const im = part.images;
          const inSize = im.width * im.height * im.channels;
          rb.addShape(im.width, im.height, im.count);
          if (asIs) {
            // In slices, so the mean and the writes leave the event loop free between them.
            const step = Math.max(1, Math.floor(2 ** 22 / inSize));
            for (let s = 0; s < im.count; s += step) {
              const slice = im.pixels.subarray(s * inSize, Math.min(im.count, s + step) * inSize);
              rb.addPixels(slice, inSize);
              await data.write(slice);
              done += slice.length / inSize;
              job.progress('writing', done, count, null);
              await job.checkpoint();
            }
          } else {
            for (let s = 0; s < im.count; s++) {
              const x = prepareArraySample({ width: im.width, height: im.height, channels: im.channels, data: im.pixels.subarray(s * inSize, (s + 1) * inSize) }, pre, bg);
              outC = x.channels;
              rb.addPixels(x.data, x.data.length);
              await data.write(x.data);
              done++;
              if (done % 512 === 0) {
                job.progress('decoding', done, count, null);
                await job.checkpoint();
              }
            }
          }
        }
        const dataSha = await data.commit();
        const l = await writeLabels(dir, labels);
        const report: DatasetReport = {
          datasetId: id,
          sources,
          found: count,
          imported: count,
          skipped: [],
          duplicates: [],
          classBalance: balance(labels, loaded.labelNames),
          sizeHistogram: rb.sizeHistogram(),
          aspectHistogram: rb.aspectHistogram(),
          meanImage: rb.mean(outW, outH, outC),
          preprocess: pre,
          split: train && test ? { train: train.images.count, test: test.images.count } : null,
          durationMs: 0,
        };
        return {
          written: { dataSha, dataBytes: data.bytes, labelsSha: l.sha, labelBytes: l.bytes },
          info: { name: opts.name?.trim() || p.name, source: sources.join(' + '), count, width: outW, height: outH, channels: outC, labels: labels ? loaded.labelNames : null },
          meta: { format: p.format, files: loaded.files, splits: report.split, preprocess: pre, factors: null },
          report,
        };
      } catch (e) {
        await data.abort();
        throw e;
      }
    },
    started,
    now,
  );
}

type Outcome =
  | { ok: true; hash: string; data: Uint8Array; channels: 1 | 3; width: number; height: number; format: string }
  | { ok: false; skip: Omit<SkippedFile, 'path'>; hash?: string };

/** Reads, hashes, decodes and prepares one file; never throws (failures become skip reasons). */
async function processEntry(e: SourceEntry, size: number, pre: Preprocess, bg: Rgb, known: ReadonlyMap<string, string>, builtinPng = true): Promise<Outcome> {
  let bytes: Buffer;
  try {
    bytes = await e.read();
  } catch (err) {
    return { ok: false, skip: readFailure(err) };
  }
  if (bytes.length === 0) return { ok: false, skip: { reason: 'empty', detail: 'zero bytes' } };
  const hash = createHash('sha256').update(bytes).digest('hex');
  // Identical bytes seen in an earlier chunk: no need to decode them again.
  if (known.has(hash)) return { ok: false, hash, skip: { reason: 'duplicate', detail: `same bytes as ${known.get(hash)}` } };
  try {
    const d = await decodeImage(bytes, { size, resize: pre.resize, builtinPng });
    const p = prepareImage(d.image, size, pre, bg);
    return { ok: true, hash, data: p.data, channels: p.channels, width: d.width, height: d.height, format: d.format };
  } catch (err) {
    if (err instanceof UnsupportedFormatError) return { ok: false, skip: { reason: 'unsupported', detail: err.message } };
    return { ok: false, skip: { reason: 'corrupt', detail: err instanceof FormatError ? err.message : `decode failed (${(err as Error).message})` } };
  }
}

const CHUNK = 64;

async function importImages(
  store: Store,
  dataDir: string,
  name: string,
  sources: string[],
  pre: Preprocess,
  opts: ImportOptions,
  job: ImportJob,
): Promise<ImportResult> {
  const now = opts.now ?? Date.now;
  const started = performance.now();
  const size = pre.size ?? DEFAULT_IMAGE_SIZE;
  const resolved: Preprocess = { ...pre, size };
  const bg = parseColour(pre.background);
  job.progress('scanning', 0, 0, sources[0] ?? null);
  const scan = await scanImageSources(sources, {
    signal: job.signal,
    ...(opts.maxZipBytes !== undefined ? { maxZipBytes: opts.maxZipBytes } : {}),
    onFound: (n) => job.progress('scanning', n, 0, null),
  });
  try {
    await job.checkpoint();
    const entries = scan.entries;
    const found = entries.length + scan.skipped.length;
    if (entries.length === 0) {
      const why = scan.skipped.slice(0, 3).map((s) => `${s.path}: ${s.detail}`).join('; ');
      throw invalid(`no image files found in ${sources.join(', ')}${why ? ` (skipped: ${why}${scan.skipped.length > 3 ? '; ...' : ''})` : ''}`);
    }
    const id = newDatasetId(now());
    return await store_(
      store,
      dataDir,
      id,
      async (dir) => {
        const rb = new ReportBuilder();
        rb.skipped.push(...scan.skipped);
        // 'auto' stores grey until the first image with colour, then turns what was written into
        // RGB once and goes on in RGB: grey collections never pay for three channels.
        let ch: 1 | 3 = pre.channels === 'rgb' ? 3 : 1;
        let data = await AtomicFile.create(path.join(dir, DATA_FILE));
        const firstByHash = new Map<string, string>();
        const groups = new Map<string, string[]>();
        const sampleLabels: (string | null)[] = [];
        const concurrency = Math.max(1, opts.concurrency ?? DECODE_CONCURRENCY);
        try {
          for (let start = 0; start < entries.length; start += CHUNK) {
            await job.checkpoint();
            const slice = entries.slice(start, start + CHUNK);
            const results = new Array<Outcome>(slice.length);
            let next = 0;
            let turn = performance.now();
            await Promise.all(
              Array.from({ length: Math.min(concurrency, slice.length) }, async () => {
                while (next < slice.length && !job.signal.aborted) {
                  const i = next++;
                  results[i] = await processEntry(slice[i]!, size, resolved, bg, firstByHash, opts.builtinPng);
                  // Built-in PNG decodes resolve without a turn of the event loop: give one (IPC,
                  // progress, cancel) every DECODE_SLICE_MS, however large the files are.
                  if (performance.now() - turn > DECODE_SLICE_MS) {
                    await new Promise<void>((r) => setImmediate(r));
                    turn = performance.now();
                  }
                }
              }),
            );
            await job.checkpoint();
            // Committed in scan order, so which copy of a duplicate is kept does not depend on timing.
            for (let i = 0; i < slice.length; i++) {
              const e = slice[i]!;
              const r = results[i]!;
              const hash = r.hash;
              if (hash !== undefined && firstByHash.has(hash)) {
                rb.skipped.push({ path: e.display, reason: 'duplicate', detail: `same bytes as ${firstByHash.get(hash)}` });
                groups.get(hash)!.push(e.display);
                continue;
              }
              if (!r.ok) {
                rb.skipped.push({ path: e.display, ...r.skip });
                continue;
              }
              firstByHash.set(r.hash, e.display);
              groups.set(r.hash, [e.display]);
              if (r.channels === 3 && ch === 1) {
                data = await data.expandedToRgb();
                rb.expandToRgb();
                ch = 3;
              }
              const px = r.channels === ch ? r.data : convertChannels({ width: size, height: size, channels: 1, data: r.data }, 3).data;
              await data.write(px);
              rb.addPixels(px, size * size * ch);
              rb.addShape(r.width, r.height);
              sampleLabels.push(e.label);
            }
            job.progress('decoding', Math.min(entries.length, start + CHUNK), entries.length, slice[slice.length - 1]!.display);
          }
          const count = sampleLabels.length;
          if (count === 0) {
            const by = new Map<string, number>();
            for (const s of rb.skipped) by.set(s.reason, (by.get(s.reason) ?? 0) + 1);
            const first = rb.skipped[0];
            throw invalid(
              `none of the ${found} files could be imported (${[...by].map(([r, n]) => `${n} ${r}`).join(', ')})` + (first ? `; first: ${first.path}: ${first.detail}` : ''),
            );
          }
          job.progress('writing', count, count, null);
          const channels = ch;
          const dataSha = await data.commit();
          const dataBytes = data.bytes;

          // Labels: the first folder level, sorted; root files beside labelled ones get UNLABELLED.
          const anyLabel = sampleLabels.some((l) => l !== null);
          let labelNames: string[] | null = null;
          let labels: Uint8Array | null = null;
          if (anyLabel) {
            labelNames = [...new Set(sampleLabels.map((l) => l ?? UNLABELLED))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
            if (labelNames.length > 256) throw invalid(`${labelNames.length} label folders; at most 256 classes are supported`);
            const idOf = new Map(labelNames.map((n, i) => [n, i]));
            labels = Uint8Array.from(sampleLabels, (l) => idOf.get(l ?? UNLABELLED)!);
          }
          const l = await writeLabels(dir, labels);
          const report: DatasetReport = {
            datasetId: id,
            sources,
            found,
            imported: count,
            skipped: rb.skipped,
            duplicates: [...groups.values()].filter((g) => g.length > 1),
            classBalance: balance(labels, labelNames),
            sizeHistogram: rb.sizeHistogram(),
            aspectHistogram: rb.aspectHistogram(),
            meanImage: rb.mean(size, size, channels),
            preprocess: resolved,
            split: null,
            durationMs: 0,
          };
          return {
            written: { dataSha, dataBytes, labelsSha: l.sha, labelBytes: l.bytes },
            info: { name: opts.name?.trim() || name, source: sources.join(' + '), count, width: size, height: size, channels, labels: labelNames },
            meta: { format: 'images', files: sources, splits: null, preprocess: resolved, factors: null },
            report,
          };
        } catch (e) {
          await data.abort();
          throw e;
        }
      },
      started,
      now,
    );
  } finally {
    scan.close();
  }
}

/**
 * Imports `paths` (absolute) as one new dataset and returns its row and health report. Throws
 * StudioError NOT_FOUND for a missing path, INVALID_INPUT (field "paths") with the reason for
 * anything unreadable as a whole, CANCELLED when the job is cancelled; then no row and no file remain.
 */
export async function importDataset(store: Store, dataDir: string, paths: string[], opts: ImportOptions = {}): Promise<ImportResult> {
  if (paths.length === 0) throw invalid('no paths given');
  const job = opts.job ?? quietJob();
  const pre = resolvePreprocess(opts.preprocess);
  const resolved = paths.map((p) => path.resolve(p));
  const p = await plan(resolved);
  return p.kind === 'arrays' ? importArrays(store, dataDir, p.arrays, resolved, pre, opts, job) : importImages(store, dataDir, p.name, resolved, pre, opts, job);
}

// --- preview before importing -------------------------------------------------------------------------

export const PREVIEW_MAX_FILES = 2000;
export const PREVIEW_MAX_MS = 1000;

/** A quick look: the first `count` samples after preprocessing, and what a short scan found. */
export async function previewImport(paths: string[], preprocess: PreprocessInput | Preprocess, count: number): Promise<ImportPreview> {
  const pre = resolvePreprocess(preprocess);
  const bg = parseColour(pre.background);
  const resolved = paths.map((p) => path.resolve(p));
  const p = await plan(resolved);
  if (p.kind === 'arrays') {
    const loaded = await loadArrays(p.arrays, count);
    const samples: ImportPreview['samples'] = [];
    let w = 0;
    let h = 0;
    let c = 0;
    let total = 0;
    for (const part of loaded.parts) {
      const im = part.images;
      total += im.count;
      const inSize = im.width * im.height * im.channels;
      for (let s = 0; s < im.count && samples.length < count; s++) {
        const x = prepareArraySample({ width: im.width, height: im.height, channels: im.channels, data: im.pixels.subarray(s * inSize, (s + 1) * inSize) }, pre, bg);
        [w, h, c] = [x.width, x.height, x.channels];
        samples.push({ source: `${path.basename(p.arrays.format === 'idx' ? p.arrays.parts[0]!.images : p.arrays.file)}#${samples.length}`, label: part.labels ? part.labels[s]! : null, data: Buffer.from(x.data).toString('base64') });
      }
    }
    const csvCut = p.arrays.format === 'csv' && total >= count;
    return { width: w, height: h, channels: c, format: p.arrays.format, found: total, complete: !csvCut, labels: loaded.labelNames, samples, skipped: [] };
  }
  const size = pre.size ?? DEFAULT_IMAGE_SIZE;
  const scan = await scanImageSources(resolved, { maxFiles: PREVIEW_MAX_FILES, deadline: performance.now() + PREVIEW_MAX_MS });
  try {
    const labelSet = [...new Set(scan.entries.map((e) => e.label ?? UNLABELLED))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const labelled = scan.entries.some((e) => e.label !== null);
    const labels = labelled ? labelSet : null;
    const skipped = [...scan.skipped];
    const got: { source: string; label: number | null; data: Uint8Array; channels: 1 | 3; format: string }[] = [];
    const none = new Map<string, string>();
    // Decode in order until `count` samples are ready, at most 4 * count files.
    for (let i = 0; i < scan.entries.length && i < 4 * count && got.length < count; i += DECODE_CONCURRENCY) {
      const batch = scan.entries.slice(i, Math.min(i + DECODE_CONCURRENCY, scan.entries.length));
      const rs = await Promise.all(batch.map((e) => processEntry(e, size, { ...pre, size }, bg, none)));
      rs.forEach((r, k) => {
        const e = batch[k]!;
        if (!r.ok) skipped.push({ path: e.display, ...r.skip });
        else if (got.length < count) got.push({ source: e.display, label: labels ? labels.indexOf(e.label ?? UNLABELLED) : null, data: r.data, channels: r.channels, format: r.format });
      });
    }
    const channels = got.some((g) => g.channels === 3) ? 3 : 1;
    const samples = got.map((g) => {
      const d = g.channels === channels ? g.data : convertChannels({ width: size, height: size, channels: 1, data: g.data }, 3).data;
      return { source: g.source, label: g.label, data: Buffer.from(d).toString('base64') };
    });
    const formats = [...new Set(got.map((g) => g.format))].sort();
    return {
      width: size,
      height: size,
      channels,
      format: formats.length ? formats.join('+') : 'images',
      found: scan.entries.length + scan.skipped.length,
      complete: scan.complete,
      labels,
      samples,
      skipped,
    };
  } finally {
    scan.close();
  }
}

// --- reading samples back ---------------------------------------------------------------------------

/** `n` indices spread evenly over `count` samples, so a preview shows the spread of the data. */
export function spreadIndices(count: number, n: number): number[] {
  const k = Math.min(n, count);
  return Array.from({ length: k }, (_, i) => Math.floor((i * count) / k));
}

/**
 * Reads the samples at `indices` of an imported dataset straight from data.u8 (and labels.u8 beside
 * it) at their offsets, without loading the file.
 */
export function readSamples(
  dataPath: string,
  d: Pick<DatasetInfo, 'count' | 'width' | 'height' | 'channels' | 'labels'>,
  indices: readonly number[],
): { index: number; label: number | null; pixels: number[] }[] {
  return readSampleBytes(dataPath, d, indices).map((s) => ({ index: s.index, label: s.label, pixels: Array.from(s.data) }));
}

function readSampleBytes(
  dataPath: string,
  d: Pick<DatasetInfo, 'count' | 'width' | 'height' | 'channels' | 'labels'>,
  indices: readonly number[],
  labels?: Uint8Array | null,
): { index: number; label: number | null; data: Buffer }[] {
  const size = d.width * d.height * d.channels;
  const labelsPath = path.join(path.dirname(dataPath), LABELS_FILE);
  const lab = labels !== undefined ? labels : d.labels !== null && fs.existsSync(labelsPath) ? fs.readFileSync(labelsPath) : null;
  const fd = fs.openSync(dataPath, 'r');
  try {
    return indices.map((index) => {
      if (!Number.isInteger(index) || index < 0 || index >= d.count) {
        throw new StudioError('INVALID_INPUT', `sample ${index} is outside 0..${d.count - 1}`);
      }
      const buf = Buffer.allocUnsafe(size);
      const got = fs.readSync(fd, buf, 0, size, index * size);
      if (got !== size) throw new StudioError('INTERNAL', `${dataPath} is shorter than its ${d.count} samples (read ${got} of ${size} bytes at sample ${index})`);
      return { index, label: lab && index < lab.length ? lab[index]! : null, data: buf };
    });
  } finally {
    fs.closeSync(fd);
  }
}

interface Factors {
  names: string[];
  values: Float32Array;
}

/** Built-in data is generated; keep the last few generated sets instead of drawing them again per page. */
const builtinCache = new Map<string, ReturnType<typeof loadBuiltin>>();
function builtinData(name: string): ReturnType<typeof loadBuiltin> {
  let d = builtinCache.get(name);
  if (!d) {
    d = loadBuiltin(name);
    builtinCache.set(name, d);
    if (builtinCache.size > 3) builtinCache.delete(builtinCache.keys().next().value!);
  }
  return d;
}

/** The generating factors of a builtin, where its generator provides them (e.g. 'shapes'). */
function factorsOf(d: object): Factors | null {
  const f = (d as { factors?: unknown }).factors as Partial<Factors> | undefined;
  return f && Array.isArray(f.names) && f.values instanceof Float32Array ? (f as Factors) : null;
}

/** One page of samples (of one label when `label` is given), pixels as base64 uint8 HWC. */
export function samplePage(store: Store, d: DatasetInfo, offset: number, limit: number, label?: number): SamplePage {
  const page = (labels: Uint8Array | null, read: (indices: number[]) => { index: number; label: number | null; data: Uint8Array; factors?: Record<string, number> }[]) => {
    let indices: number[] | null = null;
    if (label !== undefined) {
      indices = [];
      if (labels) for (let i = 0; i < labels.length; i++) if (labels[i] === label) indices.push(i);
    }
    const total = indices ? indices.length : d.count;
    const want = indices ? indices.slice(offset, offset + limit) : Array.from({ length: Math.max(0, Math.min(limit, d.count - offset)) }, (_, i) => offset + i);
    const samples = read(want).map((s) => ({ index: s.index, label: s.label, data: Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength).toString('base64'), ...(s.factors ? { factors: s.factors } : {}) }));
    return { datasetId: d.id, width: d.width, height: d.height, channels: d.channels, total, samples };
  };
  if (d.kind === 'builtin') {
    const data = builtinData(d.source.replace(/^builtin:/, ''));
    const size = data.width * data.height * data.channels;
    const f = factorsOf(data);
    return page(data.labels.length ? data.labels : null, (idx) =>
      idx.map((index) => ({
        index,
        label: data.labels.length ? data.labels[index]! : null,
        data: data.images.subarray(index * size, (index + 1) * size),
        ...(f ? { factors: Object.fromEntries(f.names.map((n, k) => [n, f.values[index * f.names.length + k]!])) } : {}),
      })),
    );
  }
  const p = store.datasets.dataPath(d.id);
  if (!p) throw new StudioError('NOT_FOUND', `dataset ${d.id} has no stored data`);
  const labelsPath = path.join(path.dirname(p), LABELS_FILE);
  const labels = d.labels !== null && fs.existsSync(labelsPath) ? fs.readFileSync(labelsPath) : null;
  return page(labels, (idx) => readSampleBytes(p, d, idx, labels));
}

// --- reports for datasets imported before reports existed, and for builtins -----------------------------

/** A report computed from the stored data: no skipped files known, counts, balance, mean image. */
function reportFromData(d: DatasetInfo, pixels: Uint8Array, labels: Uint8Array | null, sources: string[], split: DatasetReport['split']): DatasetReport {
  const rb = new ReportBuilder();
  const size = d.width * d.height * d.channels;
  rb.addPixels(pixels.subarray(0, d.count * size), size);
  rb.addShape(d.width, d.height, d.count);
  return {
    datasetId: d.id,
    sources,
    found: d.count,
    imported: d.count,
    skipped: [],
    duplicates: [],
    classBalance: balance(labels, d.labels),
    sizeHistogram: rb.sizeHistogram(),
    aspectHistogram: rb.aspectHistogram(),
    meanImage: rb.mean(d.width, d.height, d.channels),
    preprocess: resolvePreprocess({}),
    split,
    durationMs: 0,
  };
}

export function datasetReport(store: Store, dataDir: string, d: DatasetInfo): DatasetReport {
  if (d.kind === 'builtin') {
    const data = builtinData(d.source.replace(/^builtin:/, ''));
    return reportFromData(d, data.images, data.labels.length ? data.labels : null, [d.source], null);
  }
  const meta = readDatasetMeta(dataDir, d.id);
  if (meta?.report) return meta.report;
  const p = store.datasets.dataPath(d.id);
  if (!p || !fs.existsSync(p)) throw new StudioError('NOT_FOUND', `dataset ${d.id} has no stored data`);
  const lp = path.join(path.dirname(p), LABELS_FILE);
  return reportFromData(d, fs.readFileSync(p), fs.existsSync(lp) ? fs.readFileSync(lp) : null, meta?.files ?? [d.source], meta?.splits ?? null);
}

// --- deleting and sweeping -------------------------------------------------------------------------------

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes dataset folders that have no row: leftovers of an import whose process died before it
 * finished or cleaned up. Folders still being written by a live process (its id in `.importing`)
 * are left alone. Returns the ids removed.
 */
export function sweepOrphanDatasets(store: Store, dataDir: string): string[] {
  const root = path.join(dataDir, DATASETS_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const id of names) {
    if (store.datasets.get(id)) continue;
    const dir = path.join(root, id);
    try {
      if (!fs.statSync(dir).isDirectory()) continue;
      const pid = Number(fs.readFileSync(path.join(dir, IMPORTING_FILE), 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isProcessAlive(pid)) continue;
    } catch {
      /* no marker: nobody is writing it */
    }
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(id);
  }
  return removed;
}

// --- the datasets.* command handlers ----------------------------------------------------------------------

type DatasetCommand = Extract<CommandName, `datasets.${string}`>;
export type DatasetHandlers = {
  [K in DatasetCommand]: (input: CommandParsed<K>) => CommandOutput<K> | Promise<CommandOutput<K>>;
};

export interface DatasetServiceDeps {
  store: Store;
  dataDir: string;
  emit: <E extends keyof Events>(event: E, payload: Events[E]) => void;
  /** Whether a run's trainer is live (then its dataset cannot be deleted with it). */
  isRunActive: (runId: string) => boolean;
  /** Where run checkpoints live (`<dir>/<runId>/`), removed with deleteRuns. */
  checkpointRoot: string;
}

/**
 * Checks paths from an untrusted client: absolute, existing, readable. Errors name the field
 * (paths.N) and say what is wrong with that path.
 */
export function checkPaths(paths: string[]): void {
  paths.forEach((p, i) => {
    const field = `paths.${i}`;
    if (!path.isAbsolute(p)) throw new StudioError('INVALID_INPUT', `"${p}" is not an absolute path`, field);
    if (p.includes('\0')) throw new StudioError('INVALID_INPUT', 'a path cannot contain a NUL byte', field);
    try {
      fs.statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new StudioError('NOT_FOUND', `${p} does not exist`, field);
      throw new StudioError('INVALID_INPUT', `${p} cannot be read (${code ?? (e as Error).message})`, field);
    }
    try {
      fs.accessSync(p, fs.constants.R_OK);
    } catch {
      throw new StudioError('INVALID_INPUT', `${p} is not readable (permission denied)`, field);
    }
  });
}

export function createDatasetService(deps: DatasetServiceDeps): { handlers: DatasetHandlers; jobs: ImportJobs } {
  const { store, dataDir, emit } = deps;
  const jobs = new ImportJobs((p) => emit('datasets.importProgress', p));
  const dataset = (id: string) => {
    const d = store.datasets.get(id);
    if (!d) throw new StudioError('NOT_FOUND', `no dataset with id "${id}"`, 'id');
    return d;
  };

  const handlers: DatasetHandlers = {
    'datasets.list': () => store.datasets.list(),
    'datasets.get': ({ id }) => dataset(id),
    'datasets.preview': ({ id, count }) => {
      const d = dataset(id);
      if (d.kind !== 'builtin') {
        const p = store.datasets.dataPath(d.id);
        if (!p) throw new StudioError('NOT_FOUND', `dataset ${d.id} has no stored data`);
        const samples = readSamples(p, d, spreadIndices(d.count, count));
        return { datasetId: id, width: d.width, height: d.height, channels: d.channels, samples };
      }
      const data = builtinData(d.source.replace(/^builtin:/, ''));
      const size = data.width * data.height * data.channels;
      // Evenly spaced indices so the preview shows the spread of the data, not its first rows.
      const samples = spreadIndices(data.count, count).map((index) => ({
        index,
        label: data.labels[index] ?? null,
        pixels: Array.from(data.images.subarray(index * size, (index + 1) * size)),
      }));
      return { datasetId: id, width: data.width, height: data.height, channels: data.channels, samples };
    },
    'datasets.import': async ({ paths, name, preprocess, jobId }) => {
      // Paths come from the renderer (dropped files) or a web client: untrusted.
      checkPaths(paths);
      const result = await jobs.run(jobId, (job) => importDataset(store, dataDir, paths, { ...(name === undefined ? {} : { name }), preprocess, job }));
      emit('datasets.changed', { datasetId: result.dataset.id });
      return result;
    },
    'datasets.previewImport': ({ paths, preprocess, count }) => {
      checkPaths(paths);
      return previewImport(paths, preprocess, count);
    },
    'datasets.cancelImport': ({ jobId }) => ({ jobId, cancelled: jobs.cancel(jobId) }),
    'datasets.report': ({ id }) => datasetReport(store, dataDir, dataset(id)),
    'datasets.samples': ({ id, offset, limit, label }) => samplePage(store, dataset(id), offset, limit, label),
    'datasets.delete': ({ id, deleteRuns }) => {
      const d = dataset(id);
      if (d.kind === 'builtin') throw new StudioError('CONFLICT', `"${d.name}" is built in and cannot be deleted`, 'id');
      const runs = store.runs.list().filter((r) => r.datasetId === id);
      if (runs.length > 0 && !deleteRuns) {
        throw new StudioError('CONFLICT', `"${d.name}" is used by ${runs.length} run${runs.length === 1 ? '' : 's'}; delete ${runs.length === 1 ? 'it' : 'them'} too (deleteRuns) or keep the dataset`);
      }
      const live = runs.filter((r) => deps.isRunActive(r.id) || ACTIVE_STATUSES.includes(r.status));
      if (live.length > 0) {
        throw new StudioError('CONFLICT', `run ${live[0]!.id} on "${d.name}" is ${live[0]!.status}; stop it before deleting the dataset`);
      }
      store.transaction(() => {
        for (const r of runs) store.runs.delete(r.id);
        store.datasets.delete(id);
      });
      // Files after the rows: a crash in between leaves only orphan folders, which the next start sweeps.
      for (const r of runs) fs.rmSync(path.join(deps.checkpointRoot, r.id), { recursive: true, force: true });
      fs.rmSync(datasetDir(dataDir, id), { recursive: true, force: true });
      emit('datasets.changed', { datasetId: id });
      if (runs.length > 0) emit('runs.changed', { runId: null });
      return { id, deletedRuns: runs.map((r) => r.id) };
    },
  };
  return { handlers, jobs };
}
