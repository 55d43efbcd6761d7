/**
 * Images as CSV: one sample per row of pixel values, row-major (grey: side*side values; colour:
 * side*side*3 in HWC order), as the Kaggle copies of MNIST and Fashion-MNIST ship them. An optional
 * header row; a label column named 'label' in the header (any position), or, without a header, a
 * first column when the remaining count is a square. Values are 0..255, or 0..1 (then scaled by 255,
 * decided over the whole file, as for .npy floats). Anything else fails with the line that broke it.
 */
import { FormatError } from './common.ts';
import type { ImageArray } from './common.ts';

export interface CsvImages {
  images: ImageArray;
  /** Label id per sample, or null when the file has no label column. */
  labels: Uint8Array | null;
  /** Class names by id: numeric labels keep their value as id; text labels are sorted. */
  labelNames: string[] | null;
  hasHeader: boolean;
}

function squareSide(n: number): number | null {
  const s = Math.round(Math.sqrt(n));
  return s > 0 && s * s === n ? s : null;
}

/** The side and channel count of `n` pixel values: a square of grey, or a square of RGB triples. */
function shapeOf(n: number): { side: number; channels: 1 | 3 } | null {
  const g = squareSide(n);
  if (g) return { side: g, channels: 1 };
  const c = n % 3 === 0 ? squareSide(n / 3) : null;
  return c ? { side: c, channels: 3 } : null;
}

function splitRow(line: string, delim: string): string[] {
  // Pixel files have no quoted commas; quotes around header names are stripped.
  return line.split(delim).map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
}

/** Parses at most `maxRows` samples (all when absent), for previews. */
export function parseCsvImages(bytes: Uint8Array, source?: string, maxRows = Infinity): CsvImages {
  const text = new TextDecoder('utf-8').decode(bytes);
  const lines: { no: number; text: string }[] = [];
  let start = 0;
  let no = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text.charCodeAt(i) === 10) {
      no++;
      const t = text.slice(start, i).replace(/\r$/, '');
      if (t.trim().length > 0) lines.push({ no, text: t });
      start = i + 1;
      if (lines.length > maxRows + 1) break;
    }
  }
  if (lines.length === 0) throw new FormatError('the CSV file has no rows', source);
  const first = lines[0]!.text.replace(/^\uFEFF/, '');
  const delim = [',', ';', '\t'].map((d) => [d, first.split(d).length] as const).sort((a, b) => b[1] - a[1])[0]![0];
  const head = splitRow(first, delim);
  const hasHeader = head.some((f) => f === '' || !Number.isFinite(Number(f)));
  const n = head.length;
  let labelCol = -1;
  if (hasHeader) labelCol = head.findIndex((f) => f.toLowerCase() === 'label');
  const pixelCount = labelCol >= 0 ? n - 1 : n;
  let shape = shapeOf(pixelCount);
  if (!shape && labelCol < 0 && !hasHeader && shapeOf(n - 1)) {
    labelCol = 0;
    shape = shapeOf(n - 1);
  }
  if (!shape) {
    throw new FormatError(
      `rows have ${n} values${labelCol >= 0 ? ' (one of them the label)' : ''}; the studio expects one square image per row: ` +
        `side*side grey values (e.g. 784 for 28x28) or side*side*3 RGB values, optionally with a label column ` +
        `(named "label" in a header row, or first)`,
      source,
    );
  }
  const rows = lines.slice(hasHeader ? 1 : 0, (hasHeader ? 1 : 0) + Math.min(maxRows, lines.length));
  if (rows.length === 0) throw new FormatError('the CSV file has a header but no rows', source);
  const size = shape.side * shape.side * shape.channels;
  const values = new Float32Array(rows.length * size);
  const rawLabels: string[] = [];
  let max = 0;
  rows.forEach((r, s) => {
    const f = r.text.split(delim);
    if (f.length !== n) throw new FormatError(`line ${r.no} has ${f.length} values, the first row ${n}`, source);
    let o = s * size;
    for (let c = 0; c < n; c++) {
      if (c === labelCol) {
        rawLabels.push(f[c]!.trim().replace(/^"(.*)"$/, '$1'));
        continue;
      }
      const x = Number(f[c]);
      if (!(x >= 0 && x <= 255) || f[c]!.trim() === '') {
        throw new FormatError(`line ${r.no}, column ${c + 1}: "${f[c]!.trim().slice(0, 20)}" is not a pixel value in 0..255 or 0..1`, source);
      }
      if (x > max) max = x;
      values[o++] = x;
    }
  });
  const scale = max <= 1 ? 255 : 1;
  const pixels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) pixels[i] = Math.round(values[i]! * scale);

  let labels: Uint8Array | null = null;
  let labelNames: string[] | null = null;
  if (labelCol >= 0) {
    labels = new Uint8Array(rawLabels.length);
    const numeric = rawLabels.every((l) => /^\d+$/.test(l) && Number(l) <= 255);
    if (numeric) {
      let top = 0;
      rawLabels.forEach((l, i) => {
        labels![i] = Number(l);
        top = Math.max(top, Number(l));
      });
      labelNames = Array.from({ length: top <= 9 ? 10 : top + 1 }, (_, i) => String(i));
    } else {
      labelNames = [...new Set(rawLabels)].sort((a, b) => a.localeCompare(b));
      if (labelNames.length > 256) throw new FormatError(`${labelNames.length} distinct labels; at most 256 classes are supported`, source);
      const id = new Map(labelNames.map((l, i) => [l, i]));
      rawLabels.forEach((l, i) => (labels![i] = id.get(l)!));
    }
  }
  return {
    images: { count: rows.length, height: shape.side, width: shape.side, channels: shape.channels, pixels },
    labels,
    labelNames,
    hasHeader,
  };
}
