/**
 * Pure helpers over run summaries and metrics for the runs table and the compare view: sorting by
 * any column, filtering and free-text search, tag editing, the config diff, the rate-distortion
 * point of a run, compare curves, and decoding the previews' pixels. No DOM, no client: the unit
 * tests run them in plain Node.
 */
import { ACTIVE_STATUSES } from '../../../src-main/contract/index.ts';
import type { EpochPoint, RunMetrics, RunStatus, RunSummary, TrainConfig } from '../../../src-main/contract/index.ts';
import type { SeriesData } from '../charts/chart-math.ts';
import { FIELD_KEYS, FIELD_SPECS, GROUPS, displayValue, formFromConfig, isRelevant } from './config-form.ts';

/** Newest first: by creation time, then id (ids carry a timestamp) for runs created the same ms. */
export function sortRuns(runs: readonly RunSummary[]): RunSummary[] {
  return [...runs].sort(newestFirst);
}

function newestFirst(a: RunSummary, b: RunSummary): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Wall time a run took (or has taken so far). */
export function runDuration(run: RunSummary, now: number): number | null {
  if (run.startedAt === null) return null;
  const end = run.finishedAt ?? (ACTIVE_STATUSES.includes(run.status) ? now : null);
  return end === null ? null : end - run.startedAt;
}

/** Runs.resume continues these from their latest checkpoint. */
export const RESUMABLE_STATUSES: readonly RunStatus[] = ['interrupted', 'stopped', 'failed'];

export function isResumable(run: RunSummary): boolean {
  return RESUMABLE_STATUSES.includes(run.status);
}

/** "MLP 400→200", "Conv 32·64": the architecture in a table cell. */
export function modelLabel(config: TrainConfig): string {
  const m = config.model;
  if (m.kind === 'conv') return `Conv ${m.channels.join('·')}`;
  return m.hidden.length === 0 ? 'Linear' : `MLP ${m.hidden.join('→')}`;
}

const LIKELIHOOD_LABELS: Record<TrainConfig['likelihood'], string> = {
  bernoulli: 'Bernoulli',
  continuousBernoulli: 'Cont. Bernoulli',
  gaussian: 'Gaussian',
};

export function likelihoodLabel(config: TrainConfig): string {
  return LIKELIHOOD_LABELS[config.likelihood] ?? config.likelihood;
}

// ---------------------------------------------------------------------------------------------
// Sorting

/** The sortable columns of the runs table. */
export const SORT_KEYS = [
  'name',
  'status',
  'dataset',
  'model',
  'latent',
  'likelihood',
  'beta',
  'lr',
  'batch',
  'negElbo',
  'valNegElbo',
  'kl',
  'activeUnits',
  'duration',
  'backend',
  'created',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'ascending' | 'descending';
export interface SortSpec {
  key: SortKey;
  dir: SortDir;
}

/** The default order: newest first. */
export const DEFAULT_SORT: SortSpec = { key: 'created', dir: 'descending' };

/** Text columns start ascending (A to Z) on the first click, numbers and dates descending. */
export function firstDirection(key: SortKey): SortDir {
  return ['name', 'status', 'dataset', 'model', 'likelihood', 'backend'].includes(key) ? 'ascending' : 'descending';
}

/** The next sort after a click on `key`'s header: the same column flips, another starts fresh. */
export function nextSort(current: SortSpec, key: SortKey): SortSpec {
  if (current.key === key) return { key, dir: current.dir === 'ascending' ? 'descending' : 'ascending' };
  return { key, dir: firstDirection(key) };
}

/** The value a column sorts by; null (no value yet) sorts last whatever the direction. */
export function sortValue(run: RunSummary, key: SortKey, now: number): string | number | null {
  const c = run.config;
  switch (key) {
    case 'name':
      return run.name.toLowerCase();
    case 'status':
      return run.status;
    case 'dataset':
      return run.datasetName.toLowerCase();
    case 'model':
      return modelLabel(c).toLowerCase();
    case 'latent':
      return c.model.latentDim;
    case 'likelihood':
      return c.likelihood;
    case 'beta':
      return c.beta;
    case 'lr':
      return c.optimizer.learningRate;
    case 'batch':
      return c.batchSize;
    case 'negElbo':
      return finite(run.last?.negElbo);
    case 'valNegElbo':
      return finite(run.last?.valNegElbo);
    case 'kl':
      return finite(run.last?.kl);
    case 'activeUnits':
      return finite(run.last?.activeUnits);
    case 'duration':
      return runDuration(run, now);
    case 'backend':
      return run.backend;
    case 'created':
      return run.createdAt;
  }
}

function finite(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

/** Sorted copy; ties keep the newest first, missing values go last in both directions. */
export function sortRunsBy(runs: readonly RunSummary[], sort: SortSpec, now: number): RunSummary[] {
  const sign = sort.dir === 'ascending' ? 1 : -1;
  return [...runs].sort((a, b) => {
    const va = sortValue(a, sort.key, now);
    const vb = sortValue(b, sort.key, now);
    if (va === null || vb === null) {
      if (va !== vb) return va === null ? 1 : -1;
      return newestFirst(a, b);
    }
    const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return c !== 0 ? sign * c : newestFirst(a, b);
  });
}

// ---------------------------------------------------------------------------------------------
// Filtering and search

export interface RunFilter {
  /** '' = any. */
  status: RunStatus | '';
  datasetId: string;
  tag: string;
  /** Free text: every whitespace-separated term must occur in the run's name, notes, tags or config. */
  query: string;
}

export const EMPTY_FILTER: RunFilter = { status: '', datasetId: '', tag: '', query: '' };

export function isFiltering(f: RunFilter): boolean {
  return f.status !== '' || f.datasetId !== '' || f.tag !== '' || f.query.trim() !== '';
}

/** Dotted paths and leaf values of a config (`model.latentDim` -> 20; arrays joined with commas). */
export function flattenConfig(value: unknown, prefix = ''): [string, string][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [[prefix, Array.isArray(value) ? value.join(',') : String(value)]];
  }
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out.push(...flattenConfig(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

/**
 * What the search box matches against, lower-cased. `text`: name, id, dataset, status, notes, tags,
 * backend, model and every config value; `pairs`: every config field as `path=value` and
 * `leaf=value`. A term with "=" is looked for in the pairs ("latentdim=2", "beta=4"), any other in
 * the text (so "gaussian" finds the Gaussian runs, not every run with a gaussianSigma field).
 */
export function runSearchText(run: RunSummary): { text: string; pairs: string } {
  const text = [run.name, run.id, run.datasetName, run.status, run.notes, ...run.tags, run.backend ?? '', modelLabel(run.config), likelihoodLabel(run.config)];
  const pairs: string[] = [];
  for (const [path, v] of flattenConfig(run.config)) {
    const leaf = path.slice(path.lastIndexOf('.') + 1);
    text.push(v);
    pairs.push(`${path}=${v}`, `${leaf}=${v}`);
  }
  return { text: text.join('\n').toLowerCase(), pairs: `\n${pairs.join('\n').toLowerCase()}\n` };
}

/** A `key=value` term matches a whole key (or dotted path) with exactly that value ("latentdim=2" is not 20). */
function matchesPair(pairs: string, term: string): boolean {
  return pairs.includes(`\n${term}\n`);
}

export function filterRuns(runs: readonly RunSummary[], f: RunFilter): RunSummary[] {
  const terms = f.query.toLowerCase().split(/\s+/).filter(Boolean);
  return runs.filter((r) => {
    if (f.status && r.status !== f.status) return false;
    if (f.datasetId && r.datasetId !== f.datasetId) return false;
    if (f.tag && !r.tags.includes(f.tag)) return false;
    if (terms.length === 0) return true;
    const { text, pairs } = runSearchText(r);
    return terms.every((t) => (t.includes('=') ? matchesPair(pairs, t) : text.includes(t)));
  });
}

/** Every tag in use, alphabetically, for the tag filter. */
export function allTags(runs: readonly RunSummary[]): string[] {
  return [...new Set(runs.flatMap((r) => r.tags))].sort((a, b) => a.localeCompare(b));
}

/** The datasets the runs used, by name, for the dataset filter. */
export function runDatasets(runs: readonly RunSummary[]): { id: string; name: string }[] {
  const seen = new Map<string, string>();
  for (const r of runs) if (!seen.has(r.datasetId)) seen.set(r.datasetId, r.datasetName);
  return [...seen].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
}

// ---------------------------------------------------------------------------------------------
// Tags

/** Limits of runs.update's tags (contract/history.ts). */
export const TAG_MAX_LENGTH = 40;
export const TAGS_MAX = 32;

/**
 * The tags after typing `raw` and pressing Enter: trimmed, a comma separates several, empty ones
 * and duplicates dropped, each cut to the contract's length, at most TAGS_MAX in all.
 */
export function addTags(tags: readonly string[], raw: string): string[] {
  const out = [...tags];
  for (const part of raw.split(',')) {
    const t = part.trim().slice(0, TAG_MAX_LENGTH).trim();
    if (t && !out.includes(t) && out.length < TAGS_MAX) out.push(t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Compare

/** One colour per compared run, in selection order (distinct on the dark theme). */
export const RUN_COLORS = ['#7aa7ff', '#f2a65a', '#5fd39a', '#e27ad6', '#f2d35a', '#7cdde8', '#f27676', '#b48cff'] as const;

export function runColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length]!;
}

/** A run's place on the rate-distortion plane: rate = KL, distortion = reconstruction term (nats). */
export interface RdPoint {
  rate: number;
  distortion: number;
  /** Validation split where the run has one, else the training means of the final epoch. */
  source: 'validation' | 'training';
  epoch: number;
}

/** From the run's final epoch: validation KL and recon where present, else the training ones. */
export function rdPoint(last: EpochPoint | null | undefined): RdPoint | null {
  if (!last) return null;
  if (last.valKl !== null && last.valRecon !== null && Number.isFinite(last.valKl) && Number.isFinite(last.valRecon)) {
    return { rate: last.valKl, distortion: last.valRecon, source: 'validation', epoch: last.epoch };
  }
  if (!Number.isFinite(last.kl) || !Number.isFinite(last.recon)) return null;
  return { rate: last.kl, distortion: last.recon, source: 'training', epoch: last.epoch };
}

export const COMPARE_METRICS = [
  { id: 'negElbo', label: '-ELBO' },
  { id: 'recon', label: 'Reconstruction' },
  { id: 'kl', label: 'KL' },
  { id: 'valNegElbo', label: 'Val -ELBO' },
] as const;
export type CompareMetric = (typeof COMPARE_METRICS)[number]['id'];

export const COMPARE_X = [
  { id: 'step', label: 'Step' },
  { id: 'epoch', label: 'Epoch' },
  { id: 'time', label: 'Wall time' },
] as const;
export type CompareX = (typeof COMPARE_X)[number]['id'];

/**
 * One run's curve for the compare chart. Training metrics by step or wall time come from the step
 * points (x = step, or timeMs in seconds); by epoch from the epoch means. The validation -ELBO
 * exists per epoch only: x is then the epoch, the step it ended at, or the run's wall time at its
 * end (the sum of the epoch durations so far).
 */
export function compareSeries(m: Pick<RunMetrics, 'steps' | 'epochs'>, metric: CompareMetric, x: CompareX): SeriesData {
  const xs: number[] = [];
  const ys: number[] = [];
  if (metric === 'valNegElbo' || x === 'epoch') {
    let t = 0;
    for (const p of m.epochs) {
      t += p.durationMs;
      const v = p[metric];
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      xs.push(x === 'epoch' ? p.epoch : x === 'step' ? p.step : t / 1000);
      ys.push(v);
    }
  } else {
    for (const p of m.steps) {
      const v = p[metric];
      if (!Number.isFinite(v)) continue;
      xs.push(x === 'step' ? p.step : p.timeMs / 1000);
      ys.push(v);
    }
  }
  return { x: xs, y: ys, length: xs.length };
}

/** One row of the config diff: a field whose value is not the same in all compared runs. */
export interface DiffRow {
  key: string;
  group: string;
  label: string;
  /** One per run, in the runs' order; '—' where the field does not apply to that run. */
  values: string[];
}

/**
 * The fields that differ between runs, labelled as on the Train panel: the dataset, then every
 * config field relevant to at least one of the runs whose shown value is not the same for all.
 */
export function configDiff(runs: readonly Pick<RunSummary, 'config' | 'datasetName'>[]): DiffRow[] {
  if (runs.length < 2) return [];
  const rows: DiffRow[] = [];
  const differ = (values: string[]) => values.some((v) => v !== values[0]);
  const datasets = runs.map((r) => r.datasetName);
  if (differ(datasets)) rows.push({ key: 'dataset', group: 'Data', label: 'Dataset', values: datasets });
  const forms = runs.map((r) => formFromConfig(r.config));
  const groupTitle = new Map(GROUPS.map((g) => [g.id, g.title]));
  for (const key of FIELD_KEYS) {
    const relevant = forms.map((f) => isRelevant(key, f));
    if (!relevant.some(Boolean)) continue;
    const values = forms.map((f, i) => (relevant[i] ? displayValue(key, f) : '—'));
    if (!differ(values)) continue;
    const spec = FIELD_SPECS[key];
    rows.push({ key, group: groupTitle.get(spec.group) ?? spec.group, label: spec.label, values });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Previews

/** Splits `count` concatenated HWC images into one sample each (the shape previewGrid takes). */
export function splitImages(bytes: Uint8Array, count: number, width: number, height: number, channels: number): { index: number; label: null; pixels: number[] }[] {
  const size = width * height * channels;
  if (bytes.length < size * count) throw new Error(`expected ${size * count} bytes for ${count} images, got ${bytes.length}`);
  return Array.from({ length: count }, (_, i) => ({ index: i, label: null, pixels: Array.from(bytes.subarray(i * size, (i + 1) * size)) }));
}
