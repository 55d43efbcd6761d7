/**
 * Writing CSV per RFC 4180: fields separated by commas, records by '\n'; a field holding a comma, a
 * double quote, CR or LF is enclosed in double quotes and its quotes doubled. Numbers are written
 * with JavaScript's shortest round-trip form; NaN and the infinities as `NaN`, `inf` and `-inf`
 * (what pandas and numpy read back); a missing value (null / undefined) as an empty field.
 */
import type { EpochPoint, StepPoint } from '../../contract/types.ts';

export type CsvValue = string | number | boolean | null | undefined;

export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'inf';
    if (v === -Infinity) return '-inf';
    return String(v);
  }
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One record, ended by '\n'. */
export function csvRow(fields: readonly CsvValue[]): string {
  return fields.map(csvField).join(',') + '\n';
}

/** A header row and the records, one string. */
export function csvTable(header: readonly string[], rows: Iterable<readonly CsvValue[]>): string {
  let out = csvRow(header);
  for (const r of rows) out += csvRow(r);
  return out;
}


/** Columns of metrics-steps.csv: every StepPoint field, snake_case. */
export const STEP_CSV_COLUMNS = ['step', 'epoch', 'loss', 'recon', 'kl', 'neg_elbo', 'samples_per_sec', 'time_ms', 'beta', 'lr', 'grad_norm'] as const;

export function stepCsvRow(p: StepPoint): CsvValue[] {
  return [p.step, p.epoch, p.loss, p.recon, p.kl, p.negElbo, p.samplesPerSec, p.timeMs, p.beta, p.lr, p.gradNorm];
}

/** Columns of metrics-epochs.csv: every EpochPoint field, then the KL of each latent dimension as kl_0.. */
export function epochCsvColumns(latentDim: number): string[] {
  return [
    'epoch', 'step', 'loss', 'recon', 'kl', 'neg_elbo', 'val_neg_elbo', 'val_recon', 'val_kl', 'bits_per_dim',
    'val_bits_per_dim', 'duration_ms', 'active_units', 'collapse_warning', 'sigma', 'beta', 'lr', 'stop_reason',
    ...Array.from({ length: latentDim }, (_, j) => `kl_${j}`),
  ];
}

export function epochCsvRow(p: EpochPoint, latentDim: number): CsvValue[] {
  const kl = Array.from({ length: latentDim }, (_, j) => p.klPerDim?.[j]);
  return [
    p.epoch, p.step, p.loss, p.recon, p.kl, p.negElbo, p.valNegElbo, p.valRecon, p.valKl, p.bitsPerDim,
    p.valBitsPerDim, p.durationMs, p.activeUnits, p.collapseWarning, p.sigma, p.beta, p.lr, p.stopReason,
    ...kl,
  ];
}

/** The shortest decimal that reads back as the same float32 (at most 9 significant digits). */
export function float32Text(v: number): string {
  if (!Number.isFinite(v)) return csvField(v);
  const f = Math.fround(v);
  for (let p = 6; p < 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  return String(Number(f.toPrecision(9)));
}
