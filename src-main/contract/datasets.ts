/**
 * Dataset import: preprocessing options chosen at import, the health report kept with every
 * imported dataset, import progress, and sample pages for the dataset browser.
 */
import { z } from 'zod';

export const RESIZE_MODES = ['fit', 'crop', 'pad'] as const;
export const CHANNEL_MODES = ['auto', 'grayscale', 'rgb'] as const;
export const VALUE_RANGES = ['0..1', '-1..1'] as const;

export const PreprocessSchema = z
  .object({
    /**
     * Target side in pixels (square). Absent: arrays (IDX, NPY, CSV) keep their size; image
     * collections use 64.
     */
    size: z.number().int().min(8).max(256).optional(),
    /** fit: stretch to the square; crop: cover and centre-crop; pad: contain and pad with `background`. */
    resize: z.enum(RESIZE_MODES).default('pad'),
    /** auto: RGB when any image has colour, grayscale otherwise. */
    channels: z.enum(CHANNEL_MODES).default('auto'),
    /** Colour that alpha is flattened on and padding is filled with, '#rrggbb'. */
    background: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #000000')
      .default('#000000'),
    /** The float range the model sees (storage stays uint8). */
    valueRange: z.enum(VALUE_RANGES).default('0..1'),
  })
  .strict();
export type Preprocess = z.infer<typeof PreprocessSchema>;
export type PreprocessInput = z.input<typeof PreprocessSchema>;

export const SKIP_REASONS = ['corrupt', 'unsupported', 'empty', 'unreadable', 'duplicate'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface SkippedFile {
  /** Path relative to the imported root where there is one, else absolute. */
  path: string;
  reason: SkipReason;
  detail: string;
}

export interface HistogramBin {
  label: string;
  count: number;
}

/** What an import found, kept with the dataset and shown after every import. */
export interface DatasetReport {
  datasetId: string;
  sources: string[];
  /** Files (or array rows) looked at, and samples stored. */
  found: number;
  imported: number;
  skipped: SkippedFile[];
  /** Groups of files with identical bytes: the first is kept, the rest are skipped as 'duplicate'. */
  duplicates: string[][];
  classBalance: HistogramBin[];
  /** Original sizes (e.g. '28x28', '640x480') and aspect ratios (bucketed) before preprocessing. */
  sizeHistogram: HistogramBin[];
  aspectHistogram: HistogramBin[];
  /** Mean image after preprocessing: uint8 row-major HWC, base64. */
  meanImage: { width: number; height: number; channels: number; data: string };
  preprocess: Preprocess;
  /** Official train/test split where the source has one (MNIST-format folders). */
  split: { train: number; test: number } | null;
  durationMs: number;
}

export interface ImportProgress {
  jobId: string;
  phase: 'scanning' | 'decoding' | 'writing' | 'done' | 'failed' | 'cancelled';
  done: number;
  total: number;
  /** The file being read, when there is one. */
  current: string | null;
}

/** One page of samples for the dataset browser; pixels are uint8 HWC, base64. */
export interface SamplePage {
  datasetId: string;
  width: number;
  height: number;
  channels: number;
  /** Samples matching the filter (not only this page). */
  total: number;
  /** `factors`: the known generating factors of a procedural sample (e.g. shape, scale, rotation, x, y). */
  samples: { index: number; label: number | null; data: string; factors?: Record<string, number> }[];
}

/** Preview of an import before it runs: a few samples after preprocessing and what was found. */
export interface ImportPreview {
  width: number;
  height: number;
  channels: number;
  format: string;
  /** Files (or rows) found so far by a quick scan; `complete` false when the scan was cut short. */
  found: number;
  complete: boolean;
  labels: string[] | null;
  samples: { source: string; label: number | null; data: string }[];
  skipped: SkippedFile[];
}
