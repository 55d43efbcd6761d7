/**
 * `npm run bench`: training-step throughput of two VAEs at batch 128 (ReLU, Bernoulli, Adam) — the
 * MLP 784-400-20 and a conv VAE (Conv 32 and 64, stride 2, latent 16, mirrored decoder; issue 3,
 * item 10) — on every compute backend that loads here, against a reference measured in the same
 * invocation (ENGINEERING.md section 8: speed is measured and compared, never asserted in tests).
 *
 *   node --import tsx bench/speed.ts [--quick] [--models=mlp,conv] [--only=cpu,wasm-shipped,wasm,wasm-threads,onnxruntime-1,onnxruntime,tensorflow] [--python=python3] [--threads=N]
 *
 * Rows per model: tfjs 'cpu', tfjs 'wasm' as the package ships it (it cannot train the conv model:
 * it has no Conv2DBackpropFilter kernel), tfjs 'wasm' with the studio's kernels
 * (trainer/wasm-kernels.ts) on one thread and data-parallel on N worker threads (core/parallel;
 * N = --threads, else $VAE_STUDIO_THREADS, else the cores this process may use), and tfjs-node
 * when it is installed. Each runs in its own
 * process (speed-child.ts). The reference is PyTorch on the CPU with two threads when
 * `import torch` works, else the tfjs 'cpu' row. Progress goes to stderr, the table to stdout, and
 * everything measured to bench/results/speed-<date>.json.
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBuiltin } from '../src-main/core/sample-data.ts';
import { resolveThreads } from '../src-main/core/parallel/engine.ts';
import {
  MODELS,
  PLANS,
  quantile,
  variantLabel,
  VARIANTS,
  WORKLOADS,
  type ChildRequest,
  type MeasurePlan,
  type Measurement,
  type ModelName,
  type Variant,
} from './speed-shared.ts';
import { probeTorch, runTorchReference, TORCH_THREADS } from './torch-reference.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

interface Options {
  quick: boolean;
  models: ModelName[];
  only: Variant[];
  python: string;
  /** Threads of the data-parallel row: --threads=N, else $VAE_STUDIO_THREADS or the cores this process may use. */
  threads: number;
}

function parseArgs(argv: readonly string[]): Options {
  const opts: Options = { quick: false, models: [...MODELS], only: [...VARIANTS], python: 'python3', threads: resolveThreads({ model: { kind: 'conv' } }) };
  for (const arg of argv) {
    if (arg === '--quick') opts.quick = true;
    else if (arg.startsWith('--models=')) {
      const names = arg.slice('--models='.length).split(',').filter(Boolean);
      if (names.length === 0) fail(`--models needs at least one of: ${MODELS.join(', ')}`);
      for (const n of names) if (!(MODELS as readonly string[]).includes(n)) fail(`unknown model "${n}" (known: ${MODELS.join(', ')})`);
      opts.models = names as ModelName[];
    }
    else if (arg.startsWith('--only=')) {
      const names = arg.slice('--only='.length).split(',').filter(Boolean);
      if (names.length === 0) fail(`--only needs at least one of: ${VARIANTS.join(', ')}`);
      for (const n of names) if (!(VARIANTS as readonly string[]).includes(n)) fail(`unknown backend "${n}" (known: ${VARIANTS.join(', ')})`);
      opts.only = names as Variant[];
    } else if (arg.startsWith('--python=')) opts.python = arg.slice('--python='.length);
    else if (arg.startsWith('--threads=')) {
      const n = Number(arg.slice('--threads='.length));
      if (!Number.isInteger(n) || n < 1 || n > 64) fail('--threads needs an integer from 1 to 64');
      opts.threads = n;
    }
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: npm run bench -- [--quick] [--models=mlp,conv] [--only=cpu,wasm-shipped,wasm,wasm-threads,onnxruntime-1,onnxruntime,tensorflow] [--python=python3] [--threads=N]\n');
      process.exit(0);
    } else fail(`unknown argument "${arg}" (try --help)`);
  }
  return opts;
}

function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/**
 * tfjs-node is an optional dependency that is usually absent (its install downloads libtensorflow).
 * When neither package resolves there is nothing to start a process for; when one does, the child
 * goes through the trainer's selectBackend, which says why it would not load.
 */
function tensorflowMissing(): string | null {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
      return null;
    } catch {
      reasons.push(pkg);
    }
  }
  return `not installed (${reasons.join(', ')} not found in node_modules; their install downloads libtensorflow)`;
}

function runChild(variant: Variant, model: ModelName, plan: MeasurePlan, threads: number): Promise<Measurement> {
  const req: ChildRequest = { variant, model, plan, threads };
  return new Promise((resolve) => {
    // The child's stdout joins our stderr: stdout carries only the table.
    const child = fork(path.join(here, 'speed-child.ts'), [JSON.stringify(req)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    let answer: Measurement | null = null;
    child.on('message', (m) => (answer = m as Measurement));
    child.on('error', (err) => resolve({ status: 'failed', reason: err.message }));
    child.on('exit', (code, signal) => {
      resolve(answer ?? { status: 'failed', reason: `the benchmark process ended without an answer (${signal ?? `exit code ${code}`})` });
    });
  });
}

interface Row {
  id: Variant | 'pytorch';
  label: string;
  result: Measurement;
  ratio: number | null;
  isReference: boolean;
}

function fmtRatio(r: number): string {
  return r >= 10 ? `${r.toFixed(1)}x` : r >= 0.1 ? `${r.toFixed(2)}x` : `${r.toFixed(3)}x`;
}

function renderTable(rows: readonly Row[]): string {
  const header = ['backend', 'samples/s', 'ms/step', 'peak RSS MiB', 'ratio vs reference'];
  const body = rows.map((row) => {
    const r = row.result;
    if (r.status !== 'ok') return [row.label, r.status, '-', '-', '-'];
    const ratio = row.isReference ? '1.00x (reference)' : row.ratio === null ? '-' : fmtRatio(row.ratio);
    return [row.label, Math.round(r.samplesPerSec).toString(), r.medianMs.toFixed(1), Math.round(r.peakRssMiB).toString(), ratio];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(header), rule, ...body.map(line)].join('\n');
}

interface ModelResult {
  model: ModelName;
  rows: Row[];
  referenceNote: string;
  reference: Row | undefined;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const mode = opts.quick ? 'quick' : 'full';
  const plan = PLANS[mode];
  const t0 = performance.now();
  const cpu = os.cpus()[0]?.model?.trim() ?? os.arch();
  // Other work on the machine steals cycles from a 2-core box: say so next to the numbers.
  const loadBefore = os.loadavg()[0]!;
  progress(
    `${mode} run: ${opts.models.map((m) => WORKLOADS[m].title).join('; ')}; batch 128, ` +
      `${plan.warmupSteps} warm-up steps, then ${plan.minSteps}..${plan.maxSteps} timed steps or ${plan.budgetMs / 1000} s per backend; ` +
      `${os.cpus().length} cores (${cpu}), Node ${process.versions.node}`,
  );
  if (loadBefore > 0.5) progress(`warning: the machine is busy (1-minute load average ${loadBefore.toFixed(2)}): numbers will be lower and noisier`);

  const torch = probeTorch(opts.python);
  progress(torch.ok ? `reference: PyTorch ${torch.version}` : `reference: PyTorch is not importable (${torch.reason}); the tfjs 'cpu' rows are the reference`);
  const results: ModelResult[] = [];
  for (const model of opts.models) results.push(await measureModel(model, opts, plan, torch));

  // stdout: one table per model and what is needed to read them.
  const out: string[] = [];
  const loadAfter = os.loadavg()[0]!;
  out.push(`VAE training-step throughput, batch 128, built-in digits (28x28), Bernoulli, Adam; ${mode} run`);
  out.push(
    `machine: ${os.cpus().length} cores, ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}; ` +
      `1-minute load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after (this benchmark itself keeps about 1 core busy)`,
  );
  for (const r of results) {
    out.push('');
    out.push(`## ${WORKLOADS[r.model].title}`);
    out.push(`reference: ${r.referenceNote}`);
    out.push('');
    out.push(renderTable(r.rows));
    out.push('');
    for (const row of r.rows) {
      const m = row.result;
      if (m.status === 'ok') {
        const spread = `p10-p90 ${quantile(m.stepMs, 0.1).toFixed(1)}-${quantile(m.stepMs, 0.9).toFixed(1)} ms`;
        const leak = m.leakedTensors ? `, ${m.leakedTensors} tensors left after training` : '';
        out.push(
          `- ${row.label}: ${m.device}; median of ${m.stepMs.length} steps (${spread}), ${m.coresUsed.toFixed(2)} cores used; ` +
            `-ELBO after ${m.warmupSteps} steps ${m.negElboAfterWarmup.toFixed(1)} nats${leak}`,
        );
      } else {
        out.push(`- ${row.label}: ${m.status}: ${m.reason}`);
      }
    }
  }
  process.stdout.write(out.join('\n') + '\n');

  const totalSeconds = (performance.now() - t0) / 1000;
  const date = new Date();
  const stamp = date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const dir = path.join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `speed-${stamp}${opts.quick ? '-quick' : ''}.json`);
  const json = {
    date: date.toISOString(),
    mode,
    plan,
    machine: {
      cores: os.cpus().length,
      cpu,
      memGiB: os.totalmem() / 2 ** 30,
      platform: `${os.platform()} ${os.release()}`,
      node: process.versions.node,
      loadAverage1m: { before: loadBefore, after: loadAfter },
    },
    models: results.map((r) => ({
      model: r.model,
      workload: WORKLOADS[r.model],
      reference: { id: r.reference?.isReference ? r.reference.id : null, note: r.referenceNote },
      rows: r.rows.map((row) => ({ id: row.id, label: row.label, ratio: row.ratio, isReference: row.isReference, ...row.result })),
    })),
    totalSeconds,
  };
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  progress(`done in ${totalSeconds.toFixed(1)} s; results in ${path.relative(process.cwd(), file)}`);
}

/** One model: the PyTorch reference (when it imports), then every tfjs variant, then the ratios. */
async function measureModel(
  model: ModelName,
  opts: Options,
  plan: MeasurePlan,
  torch: ReturnType<typeof probeTorch>,
): Promise<ModelResult> {
  const workload = WORKLOADS[model];
  const rows: Row[] = [];
  const add = (id: Row['id'], result: Measurement) => {
    rows.push({ id, label: variantLabel(id, opts.threads), result, ratio: null, isReference: false });
    if (result.status === 'ok') progress(`${model} ${id}: ${Math.round(result.samplesPerSec)} samples/s (${result.medianMs.toFixed(1)} ms/step), peak RSS ${Math.round(result.peakRssMiB)} MiB`);
    else progress(`${model} ${id}: ${result.status}: ${result.reason}`);
  };

  // The reference first: PyTorch when it imports, on the same digits written to a temporary file.
  let referenceNote: string;
  if (torch.ok) {
    referenceNote = `PyTorch ${torch.version} on the CPU, ${TORCH_THREADS} threads (${opts.python}), same model, measured in this run`;
    const digits = loadBuiltin(workload.dataset);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vae-bench-'));
    try {
      const dataPath = path.join(dir, 'digits.u8');
      writeFileSync(dataPath, digits.images);
      progress(`${model} pytorch: starting`);
      add('pytorch', await runTorchReference(opts.python, dataPath, plan, model));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    referenceNote = `PyTorch is not importable (${torch.reason}); the tfjs 'cpu' row is the reference instead`;
  }

  for (const variant of opts.only) {
    if (variant === 'tensorflow') {
      const missing = tensorflowMissing();
      if (missing) {
        add(variant, { status: 'skipped', reason: missing });
        continue;
      }
    }
    if ((variant === 'wasm-threads' || variant === 'onnxruntime') && opts.threads < 2) {
      add(variant, { status: 'skipped', reason: 'one thread: this process may use one core (or --threads=1 / VAE_STUDIO_THREADS=1)' });
      continue;
    }
    progress(`${model} ${variant}: starting its own process`);
    // Pure-JS convolutions take minutes per step (measured ~100 s): one warm-up and one timed step
    // say all there is to say, and keep `npm run bench` within minutes.
    const slow = model === 'conv' && variant === 'cpu';
    add(variant, await runChild(variant, model, slow ? { ...plan, warmupSteps: 1, minSteps: 1, maxSteps: 1 } : plan, opts.threads));
  }

  const byId = (id: Row['id']) => rows.find((r) => r.id === id);
  const reference = torch.ok ? byId('pytorch') : byId('cpu');
  if (reference && reference.result.status === 'ok') {
    reference.isReference = true;
    const refSpeed = reference.result.samplesPerSec;
    for (const row of rows) if (row.result.status === 'ok') row.ratio = row.result.samplesPerSec / refSpeed;
  } else {
    referenceNote += reference ? `; but the reference row ${reference.result.status}, so no ratios` : '; but that row was not run, so no ratios';
  }
  return { model, rows, referenceNote, reference };
}

void main();
