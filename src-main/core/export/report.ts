/**
 * report.html: one self-contained, offline page about a run and one of its checkpoints. Everything
 * is inline: the CSS, the charts (SVG drawn here), the image grids (PNG data: URIs) and the latent
 * map (an SVG scatter of the 2-D PCA of validation encodings). The page references no external
 * resource at all, so it opens the same from a USB stick, an e-mail attachment or an air-gapped
 * machine. Every text from the history (run name, notes, tags, config strings) is HTML-escaped.
 */
import type { EpochPoint, EvalResult, RunSummary, StepPoint } from '../../contract/types.ts';
import type { GridName } from './grids.ts';

export interface ReportImage {
  /** A data: URI (image/png;base64). */
  dataUri: string;
  width: number;
  height: number;
}

export interface LatentMapData {
  x: number[];
  y: number[];
  /** Label id per point, -1 when unlabelled. */
  labels: number[];
  labelNames: string[] | null;
  variance: [number, number];
  totalVariance: number;
}

export interface ReportInput {
  run: RunSummary;
  checkpoint: { epoch: number; step: number };
  dataset: { name: string; count: number; width: number; height: number; channels: number } | null;
  /** Step metrics (may be downsampled) and every epoch's. */
  steps: StepPoint[];
  epochs: EpochPoint[];
  evaluations: EvalResult[];
  images: Partial<Record<GridName, ReportImage>>;
  traversalDims: number[];
  latentMap: LatentMapData | null;
  generatedAt: number;
  /** The version of the studio writing the report. */
  studioVersion?: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A number for people: 4 significant digits, integers as they are, '—' for missing. */
export function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return '—';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

const isoDate = (ms: number | null): string => (ms === null ? '—' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));

/** "Nice" tick values covering [lo, hi] (1, 2, 5 x 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

export interface Series {
  name: string;
  color: string;
  xs: number[];
  ys: (number | null)[];
}

/** The value below which `q` of the finite values lie. */
function quantile(values: number[], q: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.floor(q * (v.length - 1))))]!;
}

/**
 * An SVG line chart. The y range runs from the smallest value to the 98th percentile (so the first
 * steps of a training, far above the rest, do not flatten the curve; points above are drawn at the
 * top edge). Missing and non-finite values break the line.
 */
export function lineChartSvg(title: string, xLabel: string, series: Series[], opts: { width?: number; height?: number } = {}): string {
  const W = opts.width ?? 560;
  const H = opts.height ?? 240;
  const m = { l: 56, r: 12, t: 28, b: 36 };
  const allX = series.flatMap((s) => s.xs).filter(Number.isFinite);
  const allY = series.flatMap((s) => s.ys).filter((v): v is number => v !== null && Number.isFinite(v));
  const head = `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">` +
    `<text x="${m.l}" y="16" class="chart-title">${escapeHtml(title)}</text>`;
  if (allX.length === 0 || allY.length === 0) {
    return `${head}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="muted">no data</text></svg>`;
  }
  const x0 = Math.min(...allX);
  let x1 = Math.max(...allX);
  let y0 = Math.min(...allY);
  let y1 = allY.length > 20 ? quantile(allY, 0.98) : Math.max(...allY);
  if (x1 === x0) x1 = x0 + 1;
  if (y1 <= y0) {
    const pad = Math.abs(y0) * 0.05 || 1;
    y0 -= pad;
    y1 += pad;
  }
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => m.t + (1 - (Math.min(y, y1) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [head];
  for (const t of niceTicks(y0, y1)) {
    const y = py(t).toFixed(1);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" class="grid"/><text x="${m.l - 6}" y="${y}" class="tick" text-anchor="end" dominant-baseline="middle">${fmt(t, 3)}</text>`);
  }
  for (const t of niceTicks(x0, x1)) {
    const x = px(t).toFixed(1);
    parts.push(`<text x="${x}" y="${H - m.b + 14}" class="tick" text-anchor="middle">${fmt(t, 3)}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" class="axis"/><line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" class="axis"/>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 4}" class="tick" text-anchor="middle">${escapeHtml(xLabel)}</text>`);
  series.forEach((s, k) => {
    let d = '';
    let pen = false;
    const single: string[] = [];
    for (let i = 0; i < s.xs.length; i++) {
      const y = s.ys[i];
      if (y === null || y === undefined || !Number.isFinite(y) || !Number.isFinite(s.xs[i]!)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${px(s.xs[i]!).toFixed(1)},${py(y).toFixed(1)}`;
      pen = true;
      single.push(`<circle cx="${px(s.xs[i]!).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    }
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
    // Few points (per-epoch series): mark each.
    if (s.xs.length <= 60) parts.push(...single);
    const lx = W - m.r - 150;
    const ly = m.t + 4 + k * 16;
    parts.push(`<rect x="${lx}" y="${ly}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${ly + 9}" class="legend">${escapeHtml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Ten distinguishable colours (Tableau 10), cycled for more labels. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** The latent map: an SVG scatter of the projected points, coloured by label, with a legend. */
export function scatterSvg(map: LatentMapData, size = 420): string {
  const n = map.x.length;
  const parts: string[] = [`<svg class="chart" viewBox="0 0 ${size + 130} ${size}" width="${size + 130}" height="${size}" role="img" aria-label="Latent map: principal components 1 and 2 of the validation encodings">`];
  if (n === 0) return `${parts[0]}<text x="20" y="20" class="muted">no points</text></svg>`;
  const pad = 16;
  const [xmin, xmax] = [Math.min(...map.x), Math.max(...map.x)];
  const [ymin, ymax] = [Math.min(...map.y), Math.max(...map.y)];
  const span = Math.max(xmax - xmin, ymax - ymin) || 1;
  const cx = (xmin + xmax) / 2;
  const cy = (ymin + ymax) / 2;
  const sx = (x: number) => size / 2 + ((x - cx) / span) * (size - 2 * pad);
  const sy = (y: number) => size / 2 - ((y - cy) / span) * (size - 2 * pad);
  parts.push(`<rect x="0" y="0" width="${size}" height="${size}" class="plot-bg"/>`);
  for (let i = 0; i < n; i++) {
    const l = map.labels[i] ?? -1;
    const color = l >= 0 ? PALETTE[l % PALETTE.length]! : '#7b8599';
    parts.push(`<circle cx="${sx(map.x[i]!).toFixed(1)}" cy="${sy(map.y[i]!).toFixed(1)}" r="2.2" fill="${color}" fill-opacity="0.75"/>`);
  }
  const present = [...new Set(map.labels.filter((l) => l >= 0))].sort((a, b) => a - b).slice(0, 20);
  present.forEach((l, k) => {
    const y = 14 + k * 17;
    const name = map.labelNames?.[l] ?? String(l);
    parts.push(`<rect x="${size + 12}" y="${y - 9}" width="10" height="10" fill="${PALETTE[l % PALETTE.length]}"/><text x="${size + 27}" y="${y}" class="legend">${escapeHtml(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** A config object flattened to dotted keys (arrays as one value). */
export function flattenConfig(obj: unknown, prefix = ''): [string, string][] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return [[prefix, Array.isArray(obj) ? `[${obj.join(', ')}]` : String(obj)]];
  }
  return Object.entries(obj as Record<string, unknown>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([k, v]) => flattenConfig(v, prefix ? `${prefix}.${k}` : k));
}

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const kv = (rows: [string, string][]): string =>
  `<table class="kv"><tbody>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;

const CSS = `
:root{color-scheme:light;--text:#1d2330;--dim:#5b6577;--border:#d9dee8;--accent:#3b6fd8;--bg:#fff;--panel:#f6f8fb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:var(--text);background:var(--bg)}
main{max-width:1180px;margin:0 auto;padding:28px 32px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--border)}
h3{font-size:14px;margin:16px 0 6px;color:var(--dim)}
.sub{color:var(--dim);margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin:14px 0}
.card{background:var(--panel);border:1px solid var(--border);border-radius:8px;padding:10px 12px}
.card .k{color:var(--dim);font-size:12px}.card .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--border);padding:4px 10px;text-align:left;vertical-align:top}
thead th{background:var(--panel);font-weight:600}
table.kv th{color:var(--dim);font-weight:500;white-space:nowrap}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:18px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:8px}
svg.chart{max-width:100%;height:auto;font-size:11px}
svg .chart-title{font-size:13px;font-weight:600;fill:var(--text)}svg .tick{fill:var(--dim)}svg .legend{fill:var(--text)}
svg .grid{stroke:#e6e9f0}svg .axis{stroke:#9aa3b5}svg .muted{fill:var(--dim)}svg .plot-bg{fill:var(--panel);stroke:var(--border)}
figure{margin:0 0 18px}figcaption{color:var(--dim);font-size:12px;margin-top:4px}
figure img{image-rendering:pixelated;max-width:100%;border:1px solid var(--border);border-radius:4px}
.muted{color:var(--dim)}.warn{color:#b4620c}
code{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12.5px}
footer{margin-top:40px;color:var(--dim);font-size:12px}
`;

/** The whole report page. */
export function renderReport(r: ReportInput): string {
  const run = r.run;
  const cpMetrics = r.epochs.find((e) => e.epoch === r.checkpoint.epoch) ?? run.last;
  const d = run.config.model.latentDim;
  const esc = escapeHtml;

  const cards: [string, string][] = [
    ['-ELBO (train, nats)', fmt(cpMetrics?.negElbo)],
    ['-ELBO (validation, nats)', fmt(cpMetrics?.valNegElbo)],
    ['bits/dim (validation)', fmt(cpMetrics?.valBitsPerDim ?? null)],
    ['Reconstruction (nats)', fmt(cpMetrics?.valRecon ?? cpMetrics?.recon)],
    ['KL (nats)', fmt(cpMetrics?.valKl ?? cpMetrics?.kl)],
    ['Active units', cpMetrics?.activeUnits === undefined ? '—' : `${cpMetrics.activeUnits} / ${d}`],
  ];

  const ds = r.dataset;
  const card = kv([
    ['Run', `${esc(run.name)} <span class="muted">(<code>${esc(run.id)}</code>)</span>`],
    ['Status', esc(run.status) + (run.error ? ` <span class="warn">${esc(run.error)}</span>` : '')],
    ['Dataset', ds ? `${esc(ds.name)} <span class="muted">${ds.count} images, ${ds.width}x${ds.height}x${ds.channels}</span>` : esc(run.datasetName)],
    ['Model', `${esc(run.config.model.kind.toUpperCase())}, latent dimension ${d}, ${esc(run.config.likelihood)} likelihood`],
    ['Checkpoint', `epoch ${r.checkpoint.epoch}, step ${r.checkpoint.step}`],
    ['Epochs trained', String(run.epochsDone)],
    ['Seed', String(run.seed)],
    ['Backend', `${esc(run.backend ?? '—')}${run.device ? ` <span class="muted">${esc(run.device)}</span>` : ''}`],
    ['Created', isoDate(run.createdAt)],
    ['Started', isoDate(run.startedAt)],
    ['Finished', isoDate(run.finishedAt)],
    ['Versions', `VAE Studio ${esc(run.appVersion)}, TensorFlow.js ${esc(run.tfjsVersion ?? '—')}`],
    ...(run.tags.length ? ([['Tags', run.tags.map(esc).join(', ')]] as [string, string][]) : []),
    ...(run.notes ? ([['Notes', esc(run.notes).replace(/\n/g, '<br>')]] as [string, string][]) : []),
  ]);

  const stepX = r.steps.map((s) => s.step);
  const charts = [
    lineChartSvg('-ELBO and training objective per step (nats)', 'step', [
      { name: '-ELBO', color: '#3b6fd8', xs: stepX, ys: r.steps.map((s) => s.negElbo) },
      { name: 'objective', color: '#f28e2b', xs: stepX, ys: r.steps.map((s) => s.loss) },
    ]),
    lineChartSvg('Reconstruction per step (nats)', 'step', [{ name: 'reconstruction', color: '#59a14f', xs: stepX, ys: r.steps.map((s) => s.recon) }]),
    lineChartSvg('KL per step (nats)', 'step', [{ name: 'KL', color: '#b07aa1', xs: stepX, ys: r.steps.map((s) => s.kl) }]),
    lineChartSvg('-ELBO per epoch (nats)', 'epoch', [
      { name: 'train', color: '#3b6fd8', xs: r.epochs.map((e) => e.epoch), ys: r.epochs.map((e) => e.negElbo) },
      { name: 'validation', color: '#e15759', xs: r.epochs.map((e) => e.epoch), ys: r.epochs.map((e) => e.valNegElbo) },
    ]),
  ];

  const figure = (name: GridName, caption: string): string => {
    const img = r.images[name];
    if (!img) return '';
    return `<figure><img src="${img.dataUri}" width="${img.width}" height="${img.height}" alt="${esc(caption)}"><figcaption>${esc(caption)}</figcaption></figure>`;
  };
  const traversalCaption = `Latent traversals: each row moves one dimension from -3 to +3 standard deviations around the mean encoding (rows: dimensions ${r.traversalDims.map((j) => `z${j}`).join(', ')}, largest KL first).`;

  const evals = r.evaluations.length
    ? table(
        ['Checkpoint', 'Split', 'Images', '-ELBO', 'bits/dim', 'IWAE NLL', 'MSE', 'PSNR (dB)', 'SSIM'],
        r.evaluations.map((e) => [
          `epoch ${e.checkpointEpoch}`,
          esc(e.split),
          String(e.count),
          fmt(e.negElbo),
          fmt(e.bitsPerDim),
          e.iwae ? `${fmt(e.iwae.nll)} ± ${fmt(e.iwae.stdErr, 2)} <span class="muted">(k=${e.iwae.k})</span>` : '—',
          fmt(e.mse),
          fmt(e.psnr),
          fmt(e.ssim),
        ]),
      )
    : '<p class="muted">No evaluation was run (<code>vae-studio eval</code> or the run page adds one).</p>';

  const klDims = cpMetrics?.klPerDim;
  const klTable = klDims?.length
    ? lineChartSvg('KL per latent dimension at the checkpoint (nats)', 'dimension', [
        { name: 'KL', color: '#b07aa1', xs: klDims.map((_, j) => j), ys: klDims },
      ])
    : '';

  const map = r.latentMap;
  const mapSection = map
    ? `<p class="muted">Encoder means of ${map.x.length} validation images projected on their two principal components (PC1 ${fmt((100 * map.variance[0]) / (map.totalVariance || 1), 3)} %, PC2 ${fmt((100 * map.variance[1]) / (map.totalVariance || 1), 3)} % of the variance).</p>${scatterSvg(map)}`
    : '<p class="muted">No latent map.</p>';

  const finalRows: [string, string][] = cpMetrics
    ? [
        ['Epoch / step', `${cpMetrics.epoch} / ${cpMetrics.step}`],
        ['Objective (recon + beta KL)', fmt(cpMetrics.loss)],
        ['-ELBO train / validation', `${fmt(cpMetrics.negElbo)} / ${fmt(cpMetrics.valNegElbo)}`],
        ['Reconstruction train / validation', `${fmt(cpMetrics.recon)} / ${fmt(cpMetrics.valRecon)}`],
        ['KL train / validation', `${fmt(cpMetrics.kl)} / ${fmt(cpMetrics.valKl)}`],
        ['bits/dim train / validation', `${fmt(cpMetrics.bitsPerDim)} / ${fmt(cpMetrics.valBitsPerDim ?? null)}`],
        ['Active units', cpMetrics.activeUnits === undefined ? '—' : `${cpMetrics.activeUnits} of ${d}${cpMetrics.collapseWarning ? ' <span class="warn">(posterior collapse warning)</span>' : ''}`],
        ...(cpMetrics.sigma !== undefined ? ([['Gaussian sigma', fmt(cpMetrics.sigma)]] as [string, string][]) : []),
        ...(cpMetrics.stopReason ? ([['Stopped because', esc(cpMetrics.stopReason)]] as [string, string][]) : []),
      ]
    : [['Metrics', 'none recorded']];

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(run.name)} — VAE Studio report</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${esc(run.name)}</h1>
<p class="sub">VAE Studio report · checkpoint of epoch ${r.checkpoint.epoch} · generated ${isoDate(r.generatedAt)}</p>
<div class="cards">${cards.map(([k, v]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${v}</div></div>`).join('')}</div>

<h2>Model card</h2>
<div class="cols"><div>${card}</div><div><h3>Metrics at the checkpoint</h3>${kv(finalRows)}</div></div>

<h2>Training curves</h2>
<div class="charts">${charts.join('')}</div>

<h2>Evaluations</h2>
${evals}

<h2>Samples and reconstructions</h2>
<div class="cols">${figure('samples', 'Samples: decoder means of 64 draws from the prior N(0, I) (fixed seed).')}
<div>${figure('reconstructions', 'Reconstructions: validation images (top) and the decoder mean at their encoder mean (bottom).')}
${figure('interpolation', 'Interpolation: decoder means along the straight line between the encodings of two validation images.')}</div></div>

<h2>Latent space</h2>
<div class="cols"><div>${mapSection}</div><div>${figure('traversals', traversalCaption)}${klTable}</div></div>

<h2>Configuration</h2>
${table(['Field', 'Value'], flattenConfig(run.config).map(([k, v]) => [`<code>${esc(k)}</code>`, esc(v)]), 'config')}

<footer>Written by VAE Studio${r.studioVersion ? ` ${esc(r.studioVersion)}` : ''}. Losses are per image in nats; -ELBO is reported at beta = 1 whatever the training objective.</footer>
</main>
</body>
</html>
`;
}
