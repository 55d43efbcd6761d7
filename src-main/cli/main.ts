/**
 * `vae-studio`: the studio from a terminal, over the same services as the app and web mode (so all
 * three share one history). Human-readable tables by default, `--json` for scripts: JSON lines while
 * training, one object at the end. Failures exit non-zero with the reason on stderr.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { DatasetInfo, EpochPoint, Result, RunSummary, StepPoint } from '../contract/index.ts';
import { applyOverrides, TrainConfigSchema } from '../contract/index.ts';
import { readDatasetMeta } from '../services/datasets.ts';
import type { DatasetMeta } from '../services/datasets.ts';
import { appRoot, defaultDataDir, readAppVersion, resolveDataDir } from '../services/paths.ts';
import type { Studio } from '../services/studio-api.ts';
import { ProgressBar } from './progress.ts';

const HELP = `vae-studio — train and explore Variational Autoencoders

Usage: vae-studio [--data-dir DIR] <command> [options]

Commands:
  datasets ls                      list datasets
  datasets import <path...> [--name NAME]
                                   import a folder of MNIST-format files (IDX, gzipped or not),
                                   IDX images (+ labels) files, or one .npy file
  datasets show <id>               one dataset: size, labels, official split, files
  train --dataset <id|name>        train a VAE (built-in: "digits")
        [--epochs N] [--name NAME] [--set key=value]...
                                   e.g. --set model.latentDim=2 --set optimizer.learningRate=3e-4
  runs ls                          list runs, newest first
  runs show <id>                   one run: config, status, per-epoch metrics
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
        set: { type: 'string', multiple: true, default: [] },
        port: { type: 'string' },
        host: { type: 'string' },
        'allow-remote': { type: 'boolean', default: false },
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
        if (pos[1] === 'import') {
          if (pos.length < 3) throw new CliError('datasets import needs at least one path', 2);
          const t0 = performance.now();
          const d = await call<DatasetInfo>(await open(), 'datasets.import', {
            paths: pos.slice(2).map((p) => path.resolve(p)),
            ...(v.name ? { name: v.name } : {}),
          });
          const seconds = (performance.now() - t0) / 1000;
          const meta = readDatasetMeta(dataDir, d.id);
          if (json) printJson({ ...d, splits: meta?.splits ?? null, bytes: meta?.bytes ?? null, files: meta?.files ?? [], seconds });
          else print(showDataset(d, meta) + `\ntime:     ${seconds.toFixed(2)} s`);
          return 0;
        }
        if (pos[1] === 'show' && pos[2]) {
          const s = await open();
          const list = await call<DatasetInfo[]>(s, 'datasets.list', {});
          const want = pos[2];
          const d = list.find((x) => x.id === want) ?? list.find((x) => x.name === want);
          if (!d) throw new CliError(`no dataset "${want}"; known: ${list.map((x) => x.id).join(', ')}`);
          const meta = readDatasetMeta(dataDir, d.id);
          if (json) printJson({ ...d, splits: meta?.splits ?? null, bytes: meta?.bytes ?? null, files: meta?.files ?? [] });
          else print(showDataset(d, meta));
          return 0;
        }
        if (pos[1] !== 'ls') throw new CliError(`unknown command "${cmd}"; try: datasets ls | datasets import <path...> | datasets show <id>`, 2);
        const list = await call<DatasetInfo[]>(await open(), 'datasets.list', {});
        if (json) printJson(list);
        else print(table(['id', 'name', 'samples', 'size', 'labels'], list.map((d) => [d.id, d.name, String(d.count), `${d.width}x${d.height}x${d.channels}`, d.labels ? String(d.labels.length) : '-'])));
        return 0;
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
        throw new CliError(`unknown command "${cmd}"; try: runs ls | runs show <id>`, 2);
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

async function train(
  studio: Studio,
  v: { dataset?: string | undefined; epochs?: string | undefined; name?: string | undefined; set: string[] },
  json: boolean,
  io: Io,
  call: <T>(s: Studio, c: string, i: unknown) => Promise<T>,
): Promise<number> {
  if (!v.dataset) throw new CliError('train needs --dataset <id|name> (see: vae-studio datasets ls)', 2);
  const datasets = await call<DatasetInfo[]>(studio, 'datasets.list', {});
  const want = v.dataset.toLowerCase();
  const d = datasets.find(
    (x) => x.id === v.dataset || x.name.toLowerCase() === want || x.source === `builtin:${want}` || x.id === `builtin-${want}`,
  );
  if (!d) throw new CliError(`no dataset "${v.dataset}"; known: ${datasets.map((x) => x.id).join(', ')}`);
  let raw: Record<string, unknown>;
  try {
    raw = applyOverrides(v.epochs ? { epochs: int(v.epochs, '--epochs') } : {}, v.set);
  } catch (e) {
    throw new CliError(`--set: ${(e as Error).message}`, 2);
  }
  const config = TrainConfigSchema.safeParse(raw);
  if (!config.success) {
    const i = config.error.issues[0]!;
    throw new CliError(`invalid config: ${i.path.join('.') || '(root)'}: ${i.message}`, 2);
  }
  const n = config.data.maxSamples > 0 ? Math.min(config.data.maxSamples, d.count) : d.count;
  const stepsPerEpoch = Math.ceil((n - Math.round(n * config.data.validationFraction)) / config.data.batchSize);
  const totalSteps = stepsPerEpoch * config.data.epochs;

  const bar = new ProgressBar(io.err);
  let runId = '';
  let lastStep: StepPoint | null = null;
  let settle!: (status: string) => void;
  const finished = new Promise<string>((r) => (settle = r));
  const early: { status: string }[] = [];
  studio.subscribe((event, payload) => {
    const p = payload as { runId?: string };
    if (runId && p.runId !== runId) return;
    if (event === 'training.progress') {
      const points = (payload as { points: StepPoint[] }).points;
      lastStep = points[points.length - 1] ?? lastStep;
      if (json) for (const pt of points) io.out.write(`${JSON.stringify({ type: 'step', ...pt })}\n`);
      else if (lastStep) {
        bar.update(lastStep.step / totalSteps, `epoch ${lastStep.epoch}/${config.data.epochs}  step ${lastStep.step}/${totalSteps}  -ELBO ${lastStep.negElbo.toFixed(2)}  ${Math.round(lastStep.samplesPerSec)} samples/s`);
      }
    } else if (event === 'training.epoch') {
      const pt = (payload as { point: EpochPoint }).point;
      if (json) io.out.write(`${JSON.stringify({ type: 'epoch', ...pt })}\n`);
      else {
        bar.done();
        io.err.write(`epoch ${pt.epoch}/${config.data.epochs}: -ELBO ${pt.negElbo.toFixed(2)} (recon ${pt.recon.toFixed(2)}, KL ${pt.kl.toFixed(2)})` + (pt.valNegElbo !== null ? `, validation -ELBO ${pt.valNegElbo.toFixed(2)}` : '') + `  ${(pt.durationMs / 1000).toFixed(1)} s\n`);
      }
    } else if (event === 'training.status') {
      const s = payload as { status: string; backend?: { backend: string; device: string; skipped: { backend: string; reason: string }[] } };
      if (s.backend && !json) io.err.write(`backend: ${s.backend.backend} on ${s.backend.device}\n`);
      if (s.backend && json) io.out.write(`${JSON.stringify({ type: 'backend', ...s.backend })}\n`);
      if (!['queued', 'running'].includes(s.status)) {
        if (runId) settle(s.status);
        else early.push({ status: s.status });
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
    const run = await call<RunSummary>(studio, 'training.start', { datasetId: d.id, config: raw, ...(v.name ? { name: v.name } : {}) });
    runId = run.id;
    if (!json) io.err.write(`run ${run.id}: ${run.name} — ${config.data.epochs} epochs of ${stepsPerEpoch} steps on ${d.name}\n`);
    if (early[0]) settle(early[0].status);
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

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + (rows.length === 0 ? '\n(none)' : '');
}

function fmtBytes(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

function showDataset(d: DatasetInfo, meta: DatasetMeta | null): string {
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
    ...(meta ? [`sha256:   ${meta.sha256}`, `files:    ${meta.files.join('\n          ')}`] : []),
  ].join('\n');
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
