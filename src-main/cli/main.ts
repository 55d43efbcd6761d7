/**
 * `vae-studio`: the studio from a terminal, over the same services as the app and web mode (so all
 * three share one history). Human-readable tables by default, `--json` for scripts: JSON lines while
 * training, one object at the end. Failures exit non-zero with the reason on stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { DatasetInfo, EpochPoint, EvalProgress, EvalResult, Result, RunSummary, StepPoint, TrainConfig } from '../contract/index.ts';
import { applyOverrides, TrainConfigSchema } from '../contract/index.ts';
import { EXPORT_FORMATS, type ExportResult } from '../contract/export.ts';
import { appRoot, defaultDataDir, readAppVersion, resolveDataDir } from '../services/paths.ts';
import type { Studio } from '../services/studio-api.ts';
import { ProgressBar } from './progress.ts';

const HELP = `vae-studio — train and explore Variational Autoencoders

Usage: vae-studio [--data-dir DIR] <command> [options]

Commands:
  datasets ls                      list datasets
  datasets import <path...> [--name NAME] [--size PX] [--channels auto|grayscale|rgb]
                  [--resize pad|crop|fit] [--background #rrggbb]
                                   import image folders (subfolders = labels), zips, image files
                                   (PNG, JPEG, WebP, GIF, BMP, TIFF), MNIST-format IDX (gzipped or
                                   not), .npy or .csv; prints the health report; Ctrl+C cancels
  datasets show <id>               one dataset: size, labels, official split, health report
  datasets rm <id> [--delete-runs] delete an imported dataset (and the runs that used it)
  train --dataset <id|name>        train a VAE (built-in: "digits", "shapes")
        [--config FILE.json] [--epochs N] [--name NAME] [--set key=value]...
                                   e.g. --set model.latentDim=2 --set optimizer.learningRate=3e-4;
                                   FILE holds a config, or {"config": {...}, "datasetId": ..., "name": ...};
                                   --epochs and --set apply on top of it
  runs ls                          list runs, newest first
  runs show <id>                   one run: config, status, per-epoch metrics
  runs resume <id>                 continue a stopped, interrupted or failed run from its latest
                                   checkpoint (exactly: same metrics as an uninterrupted run)
  eval <run> [--split validation|test] [--iwae-k N] [--iwae-samples N] [--checkpoint EPOCH]
       [--max-samples N] [--seed N]
                                   evaluate a checkpoint (default: the latest) on a split: -ELBO,
                                   bits/dim, IWAE NLL (k up to 5000), reconstruction MSE, PSNR, SSIM
  export <run> --format tfjs|onnx|report|embeddings|grids|metrics|sampler [--format ...]
         [--out DIR] [--checkpoint EPOCH]
                                   export a checkpoint (default: the latest); formats repeat or
                                   come as a comma list; models are loaded back by tfjs and ONNX
                                   Runtime and must match the studio within 1e-4; DIR must be new
                                   or empty (default: a new folder under the data dir's exports/)
  runs import-model <dir> [--name NAME]
                                   open a model export (manifest.json + tfjs/) as a new run
  serve [--port N] [--host H] [--allow-remote]
                                   serve the studio in a browser (web mode)
  doctor                           which compute backends load here, and why not

Options:
  --data-dir DIR   where the history lives (default: $VAE_STUDIO_HOME or ${defaultDataDir()})
  --json           machine-readable output
  -h, --help       this help;  --version  the version
`;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

interface Io {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
}

export async function main(argv: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
        dataset: { type: 'string' },
        epochs: { type: 'string' },
        name: { type: 'string' },
        size: { type: 'string' },
        channels: { type: 'string' },
        resize: { type: 'string' },
        background: { type: 'string' },
        'delete-runs': { type: 'boolean', default: false },
        set: { type: 'string', multiple: true, default: [] },
        config: { type: 'string' },
        split: { type: 'string' },
        'iwae-k': { type: 'string' },
        'iwae-samples': { type: 'string' },
        'max-samples': { type: 'string' },
        checkpoint: { type: 'string' },
        seed: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'allow-remote': { type: 'boolean', default: false },
        format: { type: 'string', multiple: true, default: [] },
        out: { type: 'string' },
      },
    });
  } catch (e) {
    io.err.write(`vae-studio: ${(e as Error).message}\n(see vae-studio --help)\n`);
    return 2;
  }
  const { values: v, positionals: pos } = parsed;
  if (v.help || pos.length === 0) {
    io.out.write(HELP);
    return v.help ? 0 : 2;
  }
  if (v.version) {
    io.out.write(`${readAppVersion()}\n`);
    return 0;
  }
  const dataDir = resolveDataDir(v['data-dir'] ? ['--data-dir', v['data-dir']] : [], process.env, defaultDataDir());
  const cmd = pos.join(' ');
  const json = v.json;
  const print = (s: string) => io.out.write(s.endsWith('\n') ? s : `${s}\n`);
  const printJson = (o: unknown) => io.out.write(`${JSON.stringify(o)}\n`);

  let studio: Studio | null = null;
  const open = async (): Promise<Studio> => {
    const { createStudio } = await import('../services/studio.ts');
    const { forkTrainer } = await import('../trainer/fork.ts');
    studio = createStudio({ dataDir, mode: 'cli', launcher: forkTrainer });
    for (const n of studio.info.notices) io.err.write(`note: ${n}\n`);
    return studio;
  };
  const call = async <T>(s: Studio, command: string, input: unknown): Promise<T> => {
    const r = (await s.dispatch(command, input)) as Result<T>;
    if (!r.ok) throw new CliError(`${r.error.message}${r.error.code === 'INVALID_INPUT' ? '' : ` [${r.error.code}]`}`);
    return r.value;
  };

  try {
    switch (pos[0]) {
      case 'datasets': {
        const { datasetsCommand } = await import('./datasets.ts');
        return await datasetsCommand(
          pos.slice(1),
          { name: v.name, size: v.size, channels: v.channels, resize: v.resize, background: v.background, deleteRuns: v['delete-runs'] },
          { json, io, dataDir, open, call },
        );
      }
      case 'runs': {
        const s = await open();
        if (pos[1] === 'ls') {
          const runs = await call<RunSummary[]>(s, 'runs.list', {});
          if (json) printJson(runs);
          else print(runsTable(runs));
          return 0;
        }
        if (pos[1] === 'show' && pos[2]) {
          const r = await call<RunSummary>(s, 'runs.get', { id: pos[2] });
          const m = await call<{ epochs: EpochPoint[]; totalSteps: number }>(s, 'runs.metrics', { id: pos[2], maxPoints: 10 });
          if (json) printJson({ ...r, epochs: m.epochs, totalSteps: m.totalSteps });
          else print(showRun(r, m.epochs, m.totalSteps));
          return 0;
        }
        if (pos[1] === 'resume' && pos[2]) {
          const id = pos[2];
          const r = await call<RunSummary>(s, 'runs.get', { id });
          const d = await call<DatasetInfo>(s, 'datasets.get', { id: r.datasetId });
          return await followRun(s, () => call<RunSummary>(s, 'runs.resume', { id }), r.config, d, json, io, call, 'resume');
        }
        if (pos[1] === 'import-model' && pos[2]) {
          const r = await call<RunSummary>(s, 'export.importModel', { path: path.resolve(pos[2]), ...(v.name ? { name: v.name } : {}) });
          if (json) printJson(r);
          else print(`${r.id} ${r.name}: imported (${r.status}, dataset ${r.datasetName})`);
          return 0;
        }
        throw new CliError(`unknown command "${cmd}"; try: runs ls | runs show <id> | runs resume <id> | runs import-model <dir>`, 2);
      }
      case 'export': {
        if (!pos[1]) throw new CliError('export needs a run id (see: vae-studio runs ls)', 2);
        return await exportRun(await open(), pos[1], { format: v.format, out: v.out, checkpoint: v.checkpoint }, json, io);
      }
      case 'eval': {
        if (!pos[1]) throw new CliError('eval needs a run id (see: vae-studio runs ls)', 2);
        return await evaluate(await open(), pos[1], v, json, io, call);
      }
      case 'doctor': {
        const { doctor } = await import('./doctor.ts');
        return await doctor(io, json);
      }
      case 'train':
        return await train(await open(), v, json, io, call);
      case 'serve': {
        const { startWebStudio } = await import('../server/index.ts');
        const server = await startWebStudio({
          dataDir,
          staticDir: path.join(appRoot(), 'out', 'renderer'),
          ...(v.port ? { port: int(v.port, '--port') } : {}),
          ...(v.host ? { host: v.host } : {}),
          allowRemote: v['allow-remote'],
        });
        if (json) printJson({ url: server.url, port: server.port, dataDir });
        else print(`VAE Studio (web mode) is serving ${dataDir}\n\n  Open: ${server.url}\n\nPress Ctrl+C to stop.`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await server.close();
        return 0;
      }
      default:
        throw new CliError(`unknown command "${cmd}" (see vae-studio --help)`, 2);
    }
  } catch (e) {
    const code = e instanceof CliError ? e.exitCode : 1;
    io.err.write(`vae-studio: ${(e as Error).message}\n`);
    return code;
  } finally {
    const s = studio as Studio | null;
    if (s) await s.close();
  }
}

function int(s: string, what: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${what} must be a non-negative integer, got "${s}"`, 2);
  return n;
}

type Call = <T>(s: Studio, c: string, i: unknown) => Promise<T>;

/** Reads `train --config FILE`: a bare config, or {config, datasetId | dataset, name}. */
function readConfigFile(file: string): { config: Record<string, unknown>; dataset?: string; name?: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`--config ${file}: ${(e as Error).message}`, 2);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CliError(`--config ${file}: expected a JSON object`, 2);
  const o = raw as Record<string, unknown>;
  const wrapped = 'config' in o || 'datasetId' in o || 'dataset' in o;
  if (!wrapped) return { config: o };
  const unknown = Object.keys(o).filter((k) => !['config', 'datasetId', 'dataset', 'name'].includes(k));
  if (unknown.length > 0) throw new CliError(`--config ${file}: unknown key(s) ${unknown.join(', ')} beside "config" (expected config, datasetId, name)`, 2);
  const config = o.config ?? {};
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new CliError(`--config ${file}: "config" must be an object`, 2);
  const dataset = o.datasetId ?? o.dataset;
  if (dataset !== undefined && typeof dataset !== 'string') throw new CliError(`--config ${file}: "datasetId" must be a string`, 2);
  if (o.name !== undefined && typeof o.name !== 'string') throw new CliError(`--config ${file}: "name" must be a string`, 2);
  return {
    config: config as Record<string, unknown>,
    ...(dataset !== undefined ? { dataset } : {}),
    ...(typeof o.name === 'string' ? { name: o.name } : {}),
  };
}

async function train(
  studio: Studio,
  v: { dataset?: string | undefined; epochs?: string | undefined; name?: string | undefined; set: string[]; config?: string | undefined },
  json: boolean,
  io: Io,
  call: Call,
): Promise<number> {
  const file = v.config ? readConfigFile(v.config) : null;
  const wanted = v.dataset ?? file?.dataset;
  if (!wanted) throw new CliError('train needs --dataset <id|name> (see: vae-studio datasets ls)', 2);
  const datasets = await call<DatasetInfo[]>(studio, 'datasets.list', {});
  const want = wanted.toLowerCase();
  const d = datasets.find(
    (x) => x.id === wanted || x.name.toLowerCase() === want || x.source === `builtin:${want}` || x.id === `builtin-${want}`,
  );
  if (!d) throw new CliError(`no dataset "${wanted}"; known: ${datasets.map((x) => x.id).join(', ')}`);
  let raw: Record<string, unknown>;
  try {
    raw = applyOverrides({ ...(file?.config ?? {}), ...(v.epochs ? { epochs: int(v.epochs, '--epochs') } : {}) }, v.set);
  } catch (e) {
    throw new CliError(`--set: ${(e as Error).message}`, 2);
  }
  const config = TrainConfigSchema.safeParse(raw);
  if (!config.success) {
    const i = config.error.issues[0]!;
    throw new CliError(`invalid config${v.config ? ` (from ${v.config} and the options)` : ''}: ${i.path.join('.') || '(root)'}: ${i.message}`, 2);
  }
  const name = v.name ?? file?.name;
  return followRun(
    studio,
    () => call<RunSummary>(studio, 'training.start', { datasetId: d.id, config: raw, ...(name ? { name } : {}) }),
    config.data,
    d,
    json,
    io,
    call,
    'train',
  );
}

/**
 * Starts (or resumes) a run with `begin` and follows it to its end: a progress bar and one line per
 * epoch on stderr, or JSON lines on stdout; Ctrl+C stops after the current step.
 */
async function followRun(
  studio: Studio,
  begin: () => Promise<RunSummary>,
  config: TrainConfig,
  d: DatasetInfo,
  json: boolean,
  io: Io,
  call: Call,
  mode: 'train' | 'resume',
): Promise<number> {
  const n = config.maxSamples > 0 ? Math.min(config.maxSamples, d.count) : d.count;
  const stepsPerEpoch = Math.ceil((n - Math.round(n * config.validationFraction)) / config.batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;

  const bar = new ProgressBar(io.err);
  let runId = '';
  let lastStep: StepPoint | null = null;
  let settle!: (status: string) => void;
  const finished = new Promise<string>((r) => (settle = r));
  // Status events that arrive before `begin` returns the run id (a resumed run's id is known, a new one's not).
  const early: { runId: string; status: string }[] = [];
  studio.subscribe((event, payload) => {
    const p = payload as { runId?: string };
    if (runId && p.runId !== runId) return;
    if (event === 'training.progress') {
      const points = (payload as { points: StepPoint[] }).points;
      lastStep = points[points.length - 1] ?? lastStep;
      if (json) for (const pt of points) io.out.write(`${JSON.stringify({ type: 'step', ...pt })}\n`);
      else if (lastStep) {
        bar.update(lastStep.step / totalSteps, `epoch ${lastStep.epoch}/${config.epochs}  step ${lastStep.step}/${totalSteps}  -ELBO ${lastStep.negElbo.toFixed(2)}  ${Math.round(lastStep.samplesPerSec)} samples/s`);
      }
    } else if (event === 'training.epoch') {
      const pt = (payload as { point: EpochPoint }).point;
      if (json) io.out.write(`${JSON.stringify({ type: 'epoch', ...pt })}\n`);
      else {
        bar.done();
        io.err.write(`epoch ${pt.epoch}/${config.epochs}: -ELBO ${pt.negElbo.toFixed(2)} (recon ${pt.recon.toFixed(2)}, KL ${pt.kl.toFixed(2)})` + (pt.valNegElbo !== null ? `, validation -ELBO ${pt.valNegElbo.toFixed(2)}` : '') + `  ${(pt.durationMs / 1000).toFixed(1)} s\n`);
      }
    } else if (event === 'training.status') {
      const s = payload as { runId: string; status: string; backend?: { backend: string; device: string; skipped: { backend: string; reason: string }[] } };
      if (s.backend && !json) io.err.write(`backend: ${s.backend.backend} on ${s.backend.device}\n`);
      if (s.backend && json) io.out.write(`${JSON.stringify({ type: 'backend', ...s.backend })}\n`);
      if (!['queued', 'running'].includes(s.status)) {
        if (runId) settle(s.status);
        else early.push({ runId: s.runId, status: s.status });
      }
    }
  });

  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      io.err.write('\nstopping after the current step (Ctrl+C again to abort)…\n');
      void studio.dispatch('training.stop', { runId });
    } else process.exit(130);
  };
  process.on('SIGINT', onSigint);
  try {
    const run = await begin();
    runId = run.id;
    if (!json) {
      io.err.write(
        mode === 'resume'
          ? `run ${run.id}: ${run.name} — resuming after epoch ${run.epochsDone} of ${config.epochs} on ${d.name}\n`
          : `run ${run.id}: ${run.name} — ${config.epochs} epochs of ${stepsPerEpoch} steps on ${d.name}\n`,
      );
    }
    const first = early.find((e) => e.runId === runId);
    if (first) settle(first.status);
    const status = await finished;
    bar.done();
    const final = await call<RunSummary>(studio, 'runs.get', { id: runId });
    if (json) {
      io.out.write(`${JSON.stringify({ type: 'result', runId, status: final.status, error: final.error, backend: final.backend, device: final.device, final: final.last })}\n`);
    } else {
      io.out.write(`${runId} ${final.status}` + (final.last ? `: -ELBO ${final.last.negElbo.toFixed(2)} nats (${final.last.bitsPerDim.toFixed(3)} bits/dim)` + (final.last.valNegElbo !== null ? `, validation ${final.last.valNegElbo.toFixed(2)}` : '') : '') + '\n');
    }
    if (status === 'completed') return 0;
    if (final.error) io.err.write(`vae-studio: run ${status}: ${final.error}\n`);
    return status === 'stopped' ? 130 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function evaluate(
  studio: Studio,
  id: string,
  v: {
    split?: string | undefined;
    'iwae-k'?: string | undefined;
    'iwae-samples'?: string | undefined;
    checkpoint?: string | undefined;
    'max-samples'?: string | undefined;
    seed?: string | undefined;
  },
  json: boolean,
  io: Io,
  call: Call,
): Promise<number> {
  if (v.split !== undefined && v.split !== 'validation' && v.split !== 'test') throw new CliError(`--split must be "validation" or "test", got "${v.split}"`, 2);
  const input = {
    id,
    ...(v.split ? { split: v.split } : {}),
    ...(v['iwae-k'] !== undefined ? { iwaeK: int(v['iwae-k'], '--iwae-k') } : {}),
    ...(v['iwae-samples'] !== undefined ? { iwaeSamples: int(v['iwae-samples'], '--iwae-samples') } : {}),
    ...(v['max-samples'] !== undefined ? { maxSamples: int(v['max-samples'], '--max-samples') } : {}),
    ...(v.checkpoint !== undefined ? { checkpointEpoch: int(v.checkpoint, '--checkpoint') } : {}),
    ...(v.seed !== undefined ? { seed: int(v.seed, '--seed') } : {}),
  };
  const bar = new ProgressBar(io.err);
  const off = studio.subscribe((event, payload) => {
    if (event !== 'runs.evalProgress' || json) return;
    const p = payload as EvalProgress;
    if (p.runId !== id) return;
    const what = p.phase === 'loading' ? 'loading' : p.phase === 'elbo' ? '-ELBO and reconstructions' : `IWAE bound (k = ${input.iwaeK ?? 100})`;
    bar.update(p.total > 0 ? p.done / p.total : 0, `${what} ${p.done}/${p.total}`);
  });
  try {
    const r = await call<EvalResult>(studio, 'runs.eval', input);
    bar.done();
    io.out.write(json ? `${JSON.stringify(r)}\n` : `${formatEval(r)}\n`);
    return 0;
  } finally {
    off();
    bar.done();
  }
}

/**
 * `export <run> --format ... [--out DIR] [--checkpoint N]`: a progress bar on a terminal, then the
 * files written and one line per runtime check. Ctrl+C cancels (nothing is left; exit 130).
 */
async function exportRun(
  studio: Studio,
  runId: string,
  v: { format: string[]; out?: string | undefined; checkpoint?: string | undefined },
  json: boolean,
  io: Io,
): Promise<number> {
  const formats = [...new Set(v.format.flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean))];
  if (formats.length === 0) throw new CliError(`export needs --format (${EXPORT_FORMATS.join(', ')}; repeat it or give a comma list)`, 2);
  const unknown = formats.filter((f) => !(EXPORT_FORMATS as readonly string[]).includes(f));
  if (unknown.length > 0) throw new CliError(`unknown --format ${unknown.join(', ')} (choose from ${EXPORT_FORMATS.join(', ')})`, 2);
  const jobId = `cli-export-${process.pid}-${Date.now().toString(36)}`;
  const input = {
    runId,
    formats,
    jobId,
    ...(v.out !== undefined ? { out: path.resolve(v.out) } : {}),
    ...(v.checkpoint !== undefined ? { checkpointEpoch: int(v.checkpoint, '--checkpoint') } : {}),
  };
  const bar = new ProgressBar(io.err);
  const off = studio.subscribe((event, payload) => {
    if (event !== 'export.progress' || json) return;
    const p = payload as { jobId: string | null; phase: string; done: number; total: number };
    if (p.jobId === jobId) bar.update(p.total > 0 ? p.done / p.total : 0, p.phase);
  });
  const onSigint = () => {
    io.err.write('\ncancelling the export…\n');
    void studio.dispatch('export.cancel', { jobId });
  };
  process.on('SIGINT', onSigint);
  try {
    const r = (await studio.dispatch('export.run', input)) as Result<ExportResult>;
    bar.done();
    if (!r.ok) {
      if (r.error.code === 'CANCELLED') {
        io.err.write(`vae-studio: ${r.error.message}\n`);
        return 130;
      }
      throw new CliError(`${r.error.message}${r.error.code === 'INVALID_INPUT' ? '' : ` [${r.error.code}]`}`);
    }
    const e = r.value;
    if (json) {
      io.out.write(`${JSON.stringify(e)}\n`);
      return 0;
    }
    const lines = [`${e.runId} epoch ${e.epoch} -> ${e.out}  (${e.formats.join(', ')}, ${(e.durationMs / 1000).toFixed(1)} s)`];
    for (const f of e.files) lines.push(`  ${path.relative(e.out, f.path).padEnd(40)} ${String(f.bytes).padStart(10)} bytes`);
    for (const c of e.verifications) {
      lines.push(`verified ${c.format} ${c.model.padEnd(7)} with ${c.runtime}: max |difference| ${c.maxAbsDiff.toExponential(2)} <= ${c.tolerance}  ${c.passed ? 'ok' : 'FAILED'}`);
    }
    io.out.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    off();
    bar.done();
    process.off('SIGINT', onSigint);
  }
}

export function formatEval(r: EvalResult): string {
  return [
    `${r.runId}  checkpoint of epoch ${r.checkpointEpoch} (step ${r.checkpointStep})  split ${r.split}: ${r.count} images  backend ${r.backend}  ${(r.durationMs / 1000).toFixed(1)} s`,
    `-ELBO (beta = 1)  ${r.negElbo.toFixed(3)} nats  (${r.bitsPerDim.toFixed(4)} bits/dim)   recon ${r.recon.toFixed(3)}  KL ${r.kl.toFixed(3)}`,
    r.iwae
      ? `IWAE NLL (k = ${r.iwae.k}, ${r.iwae.count} images)  ${r.iwae.nll.toFixed(3)} ± ${r.iwae.stdErr.toFixed(3)} nats  (${r.iwae.bitsPerDim.toFixed(4)} bits/dim)`
      : 'IWAE NLL: skipped (k = 0)',
    `reconstruction  MSE ${r.mse.toExponential(3)}   PSNR ${r.psnr.toFixed(2)} dB   SSIM ${r.ssim.toFixed(4)}`,
  ].join('\n');
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + (rows.length === 0 ? '\n(none)' : '');
}

function fmtTime(t: number | null): string {
  return t === null ? '-' : new Date(t).toISOString().replace('T', ' ').slice(0, 19);
}

function runsTable(runs: RunSummary[]): string {
  return table(
    ['id', 'name', 'status', 'dataset', 'z', 'epochs', '-ELBO', 'val -ELBO', 'backend', 'started'],
    runs.map((r) => [
      r.id,
      r.name,
      r.status,
      r.datasetName,
      String(r.config.model.latentDim),
      `${r.epochsDone}/${r.config.epochs}`,
      r.last ? r.last.negElbo.toFixed(2) : '-',
      r.last?.valNegElbo != null ? r.last.valNegElbo.toFixed(2) : '-',
      r.backend ?? '-',
      fmtTime(r.startedAt),
    ]),
  );
}

function showRun(r: RunSummary, epochs: EpochPoint[], totalSteps: number): string {
  const dur = r.startedAt && r.finishedAt ? `${((r.finishedAt - r.startedAt) / 1000).toFixed(1)} s` : '-';
  return [
    `${r.id}  ${r.name}`,
    `status:   ${r.status}${r.error ? ` (${r.error})` : ''}`,
    `dataset:  ${r.datasetName} (${r.datasetId})`,
    `backend:  ${r.backend ?? '-'} on ${r.device ?? '-'} (tfjs ${r.tfjsVersion ?? '-'}, studio ${r.appVersion})`,
    `started:  ${fmtTime(r.startedAt)}   finished: ${fmtTime(r.finishedAt)}   duration: ${dur}   steps: ${totalSteps}`,
    `config:   ${JSON.stringify(r.config)}`,
    '',
    table(
      ['epoch', 'step', 'loss', 'recon', 'KL', '-ELBO', 'bits/dim', 'val -ELBO', 'time'],
      epochs.map((e) => [String(e.epoch), String(e.step), e.loss.toFixed(3), e.recon.toFixed(3), e.kl.toFixed(3), e.negElbo.toFixed(3), e.bitsPerDim.toFixed(4), e.valNegElbo === null ? '-' : e.valNegElbo.toFixed(3), `${(e.durationMs / 1000).toFixed(1)} s`]),
    ),
  ].join('\n');
}
