/**
 * How long imports take, and the memory they need, through the same importDataset the command
 * uses, each into a fresh history and each in its own process (so peak RSS is that import's own):
 *   1. Fashion-MNIST's four gzipped IDX files (60k + 10k images of 28x28), 3 runs. Target: < 5 s.
 *      Needs `apt-get install -y dataset-fashion-mnist` (or pass another MNIST-format folder).
 *   2. A folder of 10,000 28x28 PNGs in 10 label folders, generated with sharp into a temporary
 *      folder first (not timed), imported at the default preprocessing (64x64, pad, auto channels)
 *      and at 28x28. Target: >= 1,000 files/s. Reference rows in the same run decode every PNG with
 *      sharp (builtinPng: false), the decoder the studio used for all PNGs before png.ts.
 *
 * Run: node --import tsx bench/import.ts [mnist-folder] [png-count] [flags]
 *   --png-only / --idx-only   run one part
 *   --png-dir DIR             import this folder of PNGs instead of generating one (kept)
 *   --side N                  generate N x N PNGs (default 28)
 *   --grey                    write them as 8-bit greyscale (colour type 0, as PIL writes MNIST digits);
 *                             by default sharp writes the grey pattern as 8-bit RGB (colour type 2)
 *   --colour                  draw a colour pattern instead of a grey one (RGB PNGs)
 *   --no-reference            skip the sharp-decoder reference rows
 * The machine is often shared: every row shows the 1-minute load average when it ended, wall time
 * (what a person waits) and CPU time (main thread + thread pool; files per CPU-second x cores bounds
 * files/s on an idle machine from above).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { PreprocessInput } from '../src-main/contract/index.ts';
import { importDataset, readDatasetMeta } from '../src-main/services/datasets.ts';
import { openStore } from '../src-main/store/index.ts';

interface Job {
  paths: string[];
  preprocess: PreprocessInput;
  builtinPng: boolean;
}
interface Measured {
  files: number;
  samples: number;
  seconds: number;
  cpu: number;
  rssBefore: number;
  peakRss: number;
  load: number;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/** One import in this process; prints one JSON line. */
async function child(job: Job): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vae-bench-import-'));
  const store = openStore({ dataDir });
  try {
    const rssBefore = process.memoryUsage().rss;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { dataset: d, report } = await importDataset(store, dataDir, job.paths, { preprocess: job.preprocess, builtinPng: job.builtinPng });
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const meta = readDatasetMeta(dataDir, d.id)!;
    const out: Measured = {
      files: meta.format === 'images' ? report.found : meta.files.length,
      samples: d.count,
      seconds,
      cpu: (c.user + c.system) / 1e6,
      rssBefore,
      peakRss: process.resourceUsage().maxRSS * 1024,
      load: os.loadavg()[0]!,
    };
    console.log(JSON.stringify(out));
  } finally {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function measure(label: string, job: Job): Measured {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 2 ** 26 });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${label} failed (exit ${r.status}):\n${r.stderr}`);
  const m = JSON.parse(line) as Measured;
  console.log(
    [
      label.padEnd(40),
      String(m.files).padStart(5),
      String(m.samples).padStart(7),
      m.seconds.toFixed(2).padStart(7),
      Math.round(m.files / m.seconds).toString().padStart(7),
      Math.round(m.samples / m.seconds).toString().padStart(9),
      m.cpu.toFixed(2).padStart(6),
      Math.round(m.files / m.cpu).toString().padStart(11),
      mib(m.peakRss).padStart(8),
      mib(m.rssBefore).padStart(10),
      m.load.toFixed(2).padStart(5),
    ].join('  '),
  );
  return m;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (f: string) => argv.includes(f);
  const valueOf = (f: string) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : undefined);
  const pngDirArg = valueOf('--png-dir');
  const positional = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--png-dir' && argv[i - 1] !== '--side');
  const folder = positional[0] ?? '/usr/share/datasets/fashion-mnist';
  const pngCount = Number(positional[1] ?? 10000);
  const reference = !flag('--no-reference');

  console.log(`node ${process.versions.node}, ${os.availableParallelism()} cores, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${'source'.padEnd(40)}  files  samples  seconds  files/s  samples/s   CPU s  files/CPU-s  peak RSS MiB (before)  load`);

  if (!flag('--png-only')) {
    if (existsSync(folder)) {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) times.push(measure(`IDX ${path.basename(folder)} (run ${i + 1})`, { paths: [folder], preprocess: {}, builtinPng: true }).seconds);
      const median = [...times].sort((a, b) => a - b)[1]!;
      console.log(`IDX median ${median.toFixed(2)} s (target < 5 s: ${median < 5 ? 'met' : 'NOT met'})`);
    } else {
      console.log(`${folder} is missing: apt-get install -y dataset-fashion-mnist (or pass an MNIST-format folder); IDX part skipped`);
    }
  }
  if (flag('--idx-only')) return;

  const side = Number(valueOf('--side') ?? 28);
  const what = pngDirArg ? `PNGs of ${path.basename(pngDirArg)}` : `${pngCount} ${side}x${side} PNGs`;
  const pngDir = pngDirArg ?? mkdtempSync(path.join(os.tmpdir(), 'vae-bench-png-'));
  try {
    if (!pngDirArg) {
      const t0 = performance.now();
      const channels = flag('--colour') ? 3 : 1;
      const raw = Buffer.alloc(side * side * channels);
      for (let i = 0; i < pngCount; i++) {
        for (let j = 0; j < raw.length; j++) raw[j] = (j * 7 + i * 13 + ((j * i) >> 5)) & 255;
        raw[0] = i & 255; // every file different: no duplicates to skip
        raw[1] = i >> 8;
        const label = String(i % 10);
        if (i < 10) mkdirSync(path.join(pngDir, label), { recursive: true });
        let img = sharp(raw, { raw: { width: side, height: side, channels } });
        if (flag('--grey')) img = img.toColourspace('b-w');
        writeFileSync(path.join(pngDir, label, `${i}.png`), await img.png().toBuffer());
      }
      const kind = flag('--grey') ? 'greyscale' : channels === 3 ? 'colour RGB' : 'grey-content RGB';
      console.log(`(generated ${pngCount} ${side}x${side} ${kind} PNGs in ${((performance.now() - t0) / 1000).toFixed(1)} s, not timed)`);
    }
    const n = (m: Measured) => m.files / m.seconds;
    const a = measure(`${what}, default (64x64 pad)`, { paths: [pngDir], preprocess: {}, builtinPng: true });
    const b = measure(`${what}, --size 28`, { paths: [pngDir], preprocess: { size: 28 }, builtinPng: true });
    if (reference) {
      const ra = measure(`  reference: sharp decoder, 64x64`, { paths: [pngDir], preprocess: {}, builtinPng: false });
      const rb = measure(`  reference: sharp decoder, --size 28`, { paths: [pngDir], preprocess: { size: 28 }, builtinPng: false });
      console.log(`built-in PNG decoder vs sharp, same run: ${(n(a) / n(ra)).toFixed(1)}x at 64x64, ${(n(b) / n(rb)).toFixed(1)}x at 28x28 (files/s)`);
    }
    const worst = Math.min(n(a), n(b));
    console.log(`PNG: ${Math.round(n(a))} files/s at 64x64, ${Math.round(n(b))} files/s at 28x28 (target >= 1000 at both: ${worst >= 1000 ? 'met' : 'NOT met'})`);
  } finally {
    if (!pngDirArg) rmSync(pngDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]!) as Job);
else await main();
