/**
 * `vae-studio datasets ...`: import (with preprocessing options, a progress bar on a terminal, and
 * Ctrl+C to cancel, which leaves nothing behind), ls, show (with the health report), rm.
 */
import path from 'node:path';
import type { DatasetInfo, DatasetReport, ImportProgress, Result } from '../contract/index.ts';
import { CHANNEL_MODES, RESIZE_MODES } from '../contract/index.ts';
import { readDatasetMeta } from '../services/datasets.ts';
import type { DatasetMeta } from '../services/datasets.ts';
import type { Studio } from '../services/studio-api.ts';
import { ProgressBar } from './progress.ts';

export interface DatasetsCliOptions {
  name?: string | undefined;
  size?: string | undefined;
  channels?: string | undefined;
  resize?: string | undefined;
  background?: string | undefined;
  deleteRuns?: boolean | undefined;
}

export interface DatasetsCliContext {
  json: boolean;
  io: { out: NodeJS.WriteStream; err: NodeJS.WriteStream };
  dataDir: string;
  open: () => Promise<Studio>;
  call: <T>(s: Studio, command: string, input: unknown) => Promise<T>;
}

export const DATASETS_USAGE = `datasets ls | datasets import <path...> [--name N] [--size PX] [--channels auto|grayscale|rgb] [--resize pad|crop|fit] [--background #rrggbb] | datasets show <id> | datasets rm <id> [--delete-runs]`;

function usage(ctx: DatasetsCliContext, message: string): number {
  ctx.io.err.write(`vae-studio: ${message}\n(usage: ${DATASETS_USAGE})\n`);
  return 2;
}

/** Runs `datasets <args>`; returns the exit code (0 ok, 1 failed, 2 bad usage, 130 cancelled). */
export async function datasetsCommand(args: string[], o: DatasetsCliOptions, ctx: DatasetsCliContext): Promise<number> {
  const { json, io } = ctx;
  const print = (s: string) => io.out.write(s.endsWith('\n') ? s : `${s}\n`);
  const sub = args[0];

  if (sub === 'ls' && args.length === 1) {
    const list = await ctx.call<DatasetInfo[]>(await ctx.open(), 'datasets.list', {});
    if (json) print(JSON.stringify(list));
    else print(table(['id', 'name', 'samples', 'size', 'labels'], list.map((d) => [d.id, d.name, String(d.count), `${d.width}x${d.height}x${d.channels}`, d.labels ? String(d.labels.length) : '-'])));
    return 0;
  }

  if (sub === 'import') {
    if (args.length < 2) return usage(ctx, 'datasets import needs at least one path');
    const preprocess: Record<string, unknown> = {};
    if (o.size !== undefined) {
      const n = Number(o.size);
      if (!Number.isInteger(n) || n < 8 || n > 256) return usage(ctx, `--size must be a whole number of pixels from 8 to 256, got "${o.size}"`);
      preprocess.size = n;
    }
    if (o.channels !== undefined) {
      if (!(CHANNEL_MODES as readonly string[]).includes(o.channels)) return usage(ctx, `--channels must be one of ${CHANNEL_MODES.join(', ')}`);
      preprocess.channels = o.channels;
    }
    if (o.resize !== undefined) {
      if (!(RESIZE_MODES as readonly string[]).includes(o.resize)) return usage(ctx, `--resize must be one of ${RESIZE_MODES.join(', ')}`);
      preprocess.resize = o.resize;
    }
    if (o.background !== undefined) {
      if (!/^#[0-9a-fA-F]{6}$/.test(o.background)) return usage(ctx, `--background must be a colour like #000000, got "${o.background}"`);
      preprocess.background = o.background;
    }
    const studio = await ctx.open();
    const jobId = `cli-${process.pid}-${Date.now().toString(36)}`;
    const bar = new ProgressBar(io.err);
    const unsubscribe = studio.subscribe((event, payload) => {
      if (event !== 'datasets.importProgress') return;
      const p = payload as ImportProgress;
      if (p.jobId !== jobId) return;
      if (p.phase === 'scanning') bar.update(0, `scanning… ${p.done} files`);
      else if (p.phase === 'decoding' || p.phase === 'writing') bar.update(p.total > 0 ? p.done / p.total : 0, `${p.phase} ${p.done}/${p.total}${p.current ? `  ${path.basename(p.current)}` : ''}`);
    });
    let cancelled = false;
    const onSigint = () => {
      if (cancelled) process.exit(130);
      cancelled = true;
      bar.done();
      io.err.write('cancelling the import (Ctrl+C again to quit at once)…\n');
      void studio.dispatch('datasets.cancelImport', { jobId });
    };
    process.on('SIGINT', onSigint);
    const t0 = performance.now();
    try {
      const r = (await studio.dispatch('datasets.import', {
        paths: args.slice(1).map((p) => path.resolve(p)),
        ...(o.name ? { name: o.name } : {}),
        preprocess,
        jobId,
      })) as Result<{ dataset: DatasetInfo; report: DatasetReport }>;
      bar.done();
      if (!r.ok) {
        io.err.write(`vae-studio: ${r.error.message}${r.error.code === 'INVALID_INPUT' ? '' : ` [${r.error.code}]`}\n`);
        return r.error.code === 'CANCELLED' ? 130 : 1;
      }
      const seconds = (performance.now() - t0) / 1000;
      const { dataset, report } = r.value;
      const meta = readDatasetMeta(ctx.dataDir, dataset.id);
      if (json) print(JSON.stringify({ dataset, report, splits: meta?.splits ?? null, bytes: meta?.bytes ?? null, files: meta?.files ?? [], seconds }));
      else print(`${showDataset(dataset, meta)}\n\n${showReport(report)}\ntime:     ${seconds.toFixed(2)} s`);
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
      unsubscribe();
    }
  }

  if (sub === 'show' && args.length === 2) {
    const s = await ctx.open();
    const d = await find(ctx, s, args[1]!);
    const report = await ctx.call<DatasetReport>(s, 'datasets.report', { id: d.id });
    const meta = readDatasetMeta(ctx.dataDir, d.id);
    if (json) print(JSON.stringify({ ...d, splits: meta?.splits ?? null, bytes: meta?.bytes ?? null, files: meta?.files ?? [], report }));
    else print(`${showDataset(d, meta)}\n\n${showReport(report)}`);
    return 0;
  }

  if (sub === 'rm' && args.length === 2) {
    const s = await ctx.open();
    const d = await find(ctx, s, args[1]!);
    const r = await ctx.call<{ id: string; deletedRuns: string[] }>(s, 'datasets.delete', { id: d.id, deleteRuns: Boolean(o.deleteRuns) });
    if (json) print(JSON.stringify(r));
    else print(`deleted ${d.id} (${d.name})${r.deletedRuns.length ? ` and ${r.deletedRuns.length} run(s): ${r.deletedRuns.join(', ')}` : ''}`);
    return 0;
  }

  return usage(ctx, `unknown command "datasets ${args.join(' ')}"`);
}

async function find(ctx: DatasetsCliContext, s: Studio, want: string): Promise<DatasetInfo> {
  const list = await ctx.call<DatasetInfo[]>(s, 'datasets.list', {});
  const d = list.find((x) => x.id === want) ?? list.find((x) => x.name === want);
  if (!d) throw new Error(`no dataset "${want}"; known: ${list.map((x) => x.id).join(', ')}`);
  return d;
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + (rows.length === 0 ? '\n(none)' : '');
}

function fmtBytes(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

export function showDataset(d: DatasetInfo, meta: DatasetMeta | null): string {
  const labels = d.labels
    ? `${d.labels.length} classes (${d.labels.length <= 12 ? d.labels.join(' ') : `${d.labels.slice(0, 10).join(' ')} ...`})`
    : 'none';
  const split = meta?.splits
    ? `${meta.splits.train} train + ${meta.splits.test} test (samples ${meta.splits.train}..${meta.splits.train + meta.splits.test - 1} are the official test set)`
    : 'none';
  return [
    `${d.id}  ${d.name}`,
    `kind:     ${d.kind}   source: ${d.source}`,
    `samples:  ${d.count} of ${d.width}x${d.height}x${d.channels}` + (meta ? `   on disk: ${fmtBytes(meta.bytes)}` : ''),
    `labels:   ${labels}`,
    `split:    ${split}`,
    ...(meta ? [`sha256:   ${meta.sha256}`] : []),
  ].join('\n');
}

function bars(bins: { label: string; count: number }[], width = 30): string[] {
  const max = Math.max(1, ...bins.map((b) => b.count));
  const lw = Math.max(...bins.map((b) => b.label.length), 1);
  return bins.map((b) => `  ${b.label.padEnd(lw)}  ${String(b.count).padStart(6)}  ${'█'.repeat(Math.round((b.count / max) * width))}`);
}

/** The health report as text: counts, class balance, sizes, aspects, duplicates and every skipped file. */
export function showReport(r: DatasetReport): string {
  const byReason = new Map<string, number>();
  for (const s of r.skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
  const pre = r.preprocess;
  const lines = [
    'health report',
    `  found ${r.found}, imported ${r.imported}, skipped ${r.skipped.length}` + (byReason.size ? ` (${[...byReason].map(([k, n]) => `${n} ${k}`).join(', ')})` : ''),
    `  preprocessing: ${pre.size ? `${pre.size}x${pre.size} ${pre.resize}` : 'size kept'}, channels ${pre.channels}, background ${pre.background}, values ${pre.valueRange}`,
  ];
  if (r.classBalance.length) lines.push('class balance', ...bars(r.classBalance));
  if (r.sizeHistogram.length) lines.push('original sizes', ...bars(r.sizeHistogram));
  if (r.aspectHistogram.length) lines.push('aspect ratios (width:height)', ...bars(r.aspectHistogram));
  if (r.duplicates.length) lines.push(`duplicates (identical bytes; the first is kept): ${r.duplicates.length} group(s)`, ...r.duplicates.map((g) => `  ${g.join('  =  ')}`));
  if (r.skipped.length) lines.push('skipped files', ...r.skipped.map((s) => `  ${s.reason.padEnd(11)} ${s.path}: ${s.detail}`));
  return lines.join('\n');
}
