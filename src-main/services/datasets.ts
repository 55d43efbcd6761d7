/**
 * Importing datasets from files (the classic benchmark formats: MNIST-style IDX, gzipped or not, and
 * NumPy .npy) into the studio's own layout, and reading samples of imported datasets back.
 *
 * Layout of one imported dataset, `<dataDir>/datasets/<id>/`:
 *   data.u8       count * height * width * channels bytes, uint8, row-major HWC per sample (what the
 *                 trainer's `file` source reads)
 *   labels.u8     one byte per sample, the label id (index into DatasetInfo.labels); absent when unlabelled
 *   dataset.json  DatasetMeta: the files it came from, the official train/test split, sizes, hashes
 * The history row (kind 'imported') points at data.u8 and is written last: a row never names files
 * that are not complete on disk, and a failed import removes what it wrote, so neither a row nor a
 * file remains.
 *
 * Why the split lives in dataset.json rather than in a new column: the contract's DatasetInfo has no
 * field for it yet and nothing but the report reads it today; a sidecar needs no schema migration.
 * When training learns to validate on the official test split, it can move into the row.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DatasetInfo } from '../contract/index.ts';
import { StudioError } from '../contract/index.ts';
import { FormatError, gunzipIfNeededAsync } from '../core/formats/common.ts';
import type { ImageArray } from '../core/formats/common.ts';
import { checkLabelCount, idxToImages, idxToLabels, parseIdx } from '../core/formats/idx.ts';
import { isNpy, parseNpyImages } from '../core/formats/npy.ts';
import type { Store } from '../store/index.ts';

export const DATASETS_DIR = 'datasets';
export const DATA_FILE = 'data.u8';
export const LABELS_FILE = 'labels.u8';
export const META_FILE = 'dataset.json';

/** Files larger than this are refused before reading (a Node Buffer holds at most 4 GiB here). */
export const MAX_FILE_BYTES = 2 ** 31;

export interface DatasetMeta {
  version: 1;
  format: 'idx' | 'npy';
  /** The files read, in the order their samples were stored. */
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

// --- planning: which files are which --------------------------------------------------------------

/** MNIST's published names, e.g. train-images-idx3-ubyte.gz; some mirrors write `.idx3-ubyte`. */
const MNIST_NAME = /^(train|t10k)-(images|labels)[-.]idx([13])-ubyte(\.gz)?$/i;

interface IdxPart {
  split: 'train' | 'test' | null;
  images: string;
  labels: string | null;
}
type Plan = { format: 'idx'; parts: IdxPart[]; name: string } | { format: 'npy'; file: string; name: string };

const invalid = (message: string) => new StudioError('INVALID_INPUT', message, 'paths');

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

async function plan(paths: string[]): Promise<Plan> {
  const stats = await Promise.all(
    paths.map(async (p) => {
      try {
        return await fs.promises.stat(p);
      } catch {
        throw new StudioError('NOT_FOUND', `${p} does not exist`, 'paths');
      }
    }),
  );
  const dirs = paths.filter((_, i) => stats[i]!.isDirectory());
  if (dirs.length > 0) {
    if (paths.length > 1) throw invalid('import one folder at a time, or a list of files without folders');
    const dir = dirs[0]!;
    const entries = (await fs.promises.readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(dir, e.name));
    const mnist = entries.filter((f) => MNIST_NAME.test(path.basename(f)));
    if (mnist.length > 0) return { format: 'idx', parts: mnistParts(mnist), name: path.basename(dir) };
    const npy = entries.filter((f) => /\.npy$/i.test(f));
    if (npy.length === 1) return { format: 'npy', file: npy[0]!, name: path.basename(dir) };
    throw invalid(
      `${dir} holds no dataset the studio can read: expected the MNIST-format files (train-images-idx3-ubyte[.gz], ` +
        `train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) or one .npy file`,
    );
  }
  for (let i = 0; i < paths.length; i++) if (!stats[i]!.isFile()) throw invalid(`${paths[i]} is neither a file nor a folder`);
  const npy = paths.filter((p) => /\.npy$/i.test(p));
  if (npy.length > 0) {
    if (paths.length > 1) throw invalid('import one .npy file at a time');
    return { format: 'npy', file: npy[0]!, name: stripExt(npy[0]!) };
  }
  if (paths.every((p) => MNIST_NAME.test(path.basename(p)))) {
    return { format: 'idx', parts: mnistParts(paths), name: path.basename(path.dirname(paths[0]!)) };
  }
  // Files not named the MNIST way: one images file, and optionally one labels file, told apart by
  // their number of dimensions once parsed (see loadIdx).
  if (paths.length > 2) throw invalid('give one IDX images file and at most one IDX labels file (or a folder in the MNIST layout)');
  return { format: 'idx', parts: [{ split: null, images: paths[0]!, labels: paths[1] ?? null }], name: stripExt(paths[0]!) };
}

// --- reading ----------------------------------------------------------------------------------------

async function readBytes(file: string): Promise<Uint8Array> {
  const { size } = await fs.promises.stat(file);
  if (size > MAX_FILE_BYTES) throw invalid(`${file} is ${(size / 2 ** 30).toFixed(1)} GiB; files up to 2 GiB can be imported`);
  return fs.promises.readFile(file);
}

async function readIdx(file: string) {
  return parseIdx(await gunzipIfNeededAsync(await readBytes(file), file), file);
}

interface Loaded {
  parts: { split: IdxPart['split']; images: ImageArray; labels: Uint8Array | null }[];
  files: string[];
}

async function loadIdx(parts: IdxPart[]): Promise<Loaded> {
  const out: Loaded = { parts: [], files: [] };
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
  return out;
}

async function loadNpy(file: string): Promise<Loaded> {
  const bytes = await readBytes(file);
  if (!isNpy(bytes)) throw invalid(`${file} is not a .npy file (it does not start with \\x93NUMPY)`);
  return { parts: [{ split: null, images: parseNpyImages(bytes, file), labels: null }], files: [file] };
}

// --- writing ----------------------------------------------------------------------------------------

/**
 * Writes `chunks` to `file` atomically: a temporary name in the same folder, fsync, rename (POSIX
 * rename replaces atomically, so the final name holds either nothing or the complete file). The
 * temporary file is removed on any failure. Returns the byte count.
 */
async function writeAtomic(file: string, chunks: Uint8Array[], hash?: ReturnType<typeof createHash>): Promise<number> {
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  let fh: fs.promises.FileHandle | null = null;
  let bytes = 0;
  try {
    fh = await fs.promises.open(tmp, 'wx');
    for (const c of chunks) {
      hash?.update(c);
      await fh.write(c);
      bytes += c.length;
    }
    await fh.sync();
    await fh.close();
    fh = null;
    await fs.promises.rename(tmp, file);
    return bytes;
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

/** Makes the renames durable (a folder's entries are data too); not possible on Windows, where it is skipped. */
async function syncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | null = null;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch {
    /* best effort */
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Class names for label ids 0..max: the ten digits for MNIST-like labels, else every id up to the largest. */
export function classNames(labels: Uint8Array): string[] {
  let max = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > max) max = labels[i]!;
  return Array.from({ length: max <= 9 ? 10 : max + 1 }, (_, i) => String(i));
}

export interface ImportOptions {
  name?: string;
  now?: () => number;
}

/**
 * Imports `paths` (absolute; a folder in the MNIST layout, IDX files, or one .npy) as one new
 * dataset and returns its row. A folder with train and t10k files becomes one labelled dataset, the
 * train samples first; dataset.json records the official split. Throws StudioError NOT_FOUND for a
 * missing path and INVALID_INPUT (field "paths") with the reason for anything unreadable; then no
 * row and no file remain.
 */
export async function importDataset(store: Store, dataDir: string, paths: string[], opts: ImportOptions = {}): Promise<DatasetInfo> {
  const now = opts.now ?? Date.now;
  const started = performance.now();
  if (paths.length === 0) throw invalid('no paths given');
  const resolved = paths.map((p) => path.resolve(p));
  const p = await plan(resolved);
  let loaded: Loaded;
  try {
    loaded = p.format === 'idx' ? await loadIdx(p.parts) : await loadNpy(p.file);
  } catch (e) {
    if (e instanceof FormatError) throw invalid(e.message);
    throw e;
  }
  const { height, width, channels } = loaded.parts[0]!.images;
  const count = loaded.parts.reduce((s, x) => s + x.images.count, 0);
  if (count === 0) throw invalid(`${loaded.files.join(', ')} hold no samples`);
  const labelled = loaded.parts.every((x) => x.labels !== null);
  const labelChunks = labelled ? loaded.parts.map((x) => x.labels!) : [];
  const train = loaded.parts.find((x) => x.split === 'train');
  const test = loaded.parts.find((x) => x.split === 'test');

  const id = newDatasetId(now());
  const dir = datasetDir(dataDir, id);
  await fs.promises.mkdir(dir, { recursive: true });
  try {
    const dataHash = createHash('sha256');
    const dataBytes = await writeAtomic(path.join(dir, DATA_FILE), loaded.parts.map((x) => x.images.pixels), dataHash);
    const sha256 = dataHash.digest('hex');
    let labelsSha256: string | null = null;
    let labelBytes = 0;
    let labels: string[] | null = null;
    if (labelled) {
      const h = createHash('sha256');
      labelBytes = await writeAtomic(path.join(dir, LABELS_FILE), labelChunks, h);
      labelsSha256 = h.digest('hex');
      const all = labelChunks.length === 1 ? labelChunks[0]! : Buffer.concat(labelChunks);
      labels = classNames(all);
    }
    const meta: DatasetMeta = {
      version: 1,
      format: p.format,
      files: loaded.files,
      splits: train && test ? { train: train.images.count, test: test.images.count } : null,
      bytes: dataBytes + labelBytes,
      sha256,
      labelsSha256,
      importedAt: now(),
      importMs: Math.round(performance.now() - started),
    };
    await writeAtomic(path.join(dir, META_FILE), [Buffer.from(JSON.stringify(meta, null, 2))]);
    await syncDir(dir);
    const info: DatasetInfo = {
      id,
      name: opts.name?.trim() || p.name,
      kind: 'imported',
      source: resolved.length === 1 ? resolved[0]! : resolved.join(' + '),
      count,
      width,
      height,
      channels,
      labels,
      createdAt: meta.importedAt,
    };
    store.datasets.upsert({ ...info, dataPath: path.join(dir, DATA_FILE), fingerprint: `sha256:${sha256}` });
    return store.datasets.get(id)!;
  } catch (e) {
    // The folder is this import's own (its id is new): removing it leaves nothing behind.
    await fs.promises.rm(dir, { recursive: true, force: true });
    throw e;
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
  const size = d.width * d.height * d.channels;
  const labelsPath = path.join(path.dirname(dataPath), LABELS_FILE);
  const fd = fs.openSync(dataPath, 'r');
  let lfd: number | null = null;
  try {
    if (d.labels !== null && fs.existsSync(labelsPath)) lfd = fs.openSync(labelsPath, 'r');
    const buf = Buffer.alloc(size);
    const one = Buffer.alloc(1);
    return indices.map((index) => {
      if (!Number.isInteger(index) || index < 0 || index >= d.count) {
        throw new StudioError('INVALID_INPUT', `sample ${index} is outside 0..${d.count - 1}`);
      }
      const got = fs.readSync(fd, buf, 0, size, index * size);
      if (got !== size) throw new StudioError('INTERNAL', `${dataPath} is shorter than its ${d.count} samples (read ${got} of ${size} bytes at sample ${index})`);
      let label: number | null = null;
      if (lfd !== null && fs.readSync(lfd, one, 0, 1, index) === 1) label = one[0]!;
      return { index, label, pixels: Array.from(buf) };
    });
  } finally {
    fs.closeSync(fd);
    if (lfd !== null) fs.closeSync(lfd);
  }
}
