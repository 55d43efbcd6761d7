/**
 * How long imports take, and the memory they need, in-process through the same importDataset the
 * command uses, each into a fresh history:
 *   1. Fashion-MNIST's four gzipped IDX files (60k + 10k images of 28x28). Target: < 5 s.
 *      Needs `apt-get install -y dataset-fashion-mnist` (or pass another MNIST-format folder).
 *   2. A folder of 10,000 28x28 PNGs in 10 label folders, generated into a temporary folder first
 *      (not timed), imported at the default preprocessing (64x64, pad, auto channels) and at 28x28.
 *      Target: >= 1,000 files/s.
 * Peak RSS is the process's maxRSS after each import (monotone: it includes earlier runs).
 * Run: node --import tsx bench/import.ts [mnist-folder] [png-count]
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { PreprocessInput } from '../src-main/contract/index.ts';
import { importDataset, readDatasetMeta } from '../src-main/services/datasets.ts';
import { openStore } from '../src-main/store/index.ts';

const folder = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const pngCount = Number(process.argv[3] ?? 10000);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

console.log(`node ${process.versions.node}, ${os.availableParallelism()} cores, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips})`);
// This machine is shared: wall time is what a person waits, CPU time (main thread + libuv/vips
// threads, user + system) is what the import costs; files per CPU-second x cores bounds files/s on
// an idle machine from above.
console.log('source                               files  samples  seconds  files/s  samples/s  CPU s  files/CPU-s  peak RSS MiB');

async function measure(label: string, paths: string[], preprocess: PreprocessInput = {}): Promise<number> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vae-bench-import-'));
  const store = openStore({ dataDir });
  try {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { dataset: d, report } = await importDataset(store, dataDir, paths, { preprocess });
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    const meta = readDatasetMeta(dataDir, d.id)!;
    const files = meta.format === 'images' ? report.found : meta.files.length;
    console.log(
      `${label.padEnd(36)} ${String(files).padStart(5)}  ${String(d.count).padStart(7)}  ${s.toFixed(2).padStart(7)}  ${Math.round(files / s).toString().padStart(7)}  ${Math.round(d.count / s).toString().padStart(9)}  ${cpu.toFixed(2).padStart(5)}  ${Math.round(files / cpu).toString().padStart(11)}  ${mib(process.resourceUsage().maxRSS * 1024).padStart(12)}`,
    );
    return s;
  } finally {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (existsSync(folder)) {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) times.push(await measure(`IDX ${path.basename(folder)} (run ${i + 1})`, [folder]));
  const median = [...times].sort((a, b) => a - b)[1]!;
  console.log(`IDX median ${median.toFixed(2)} s (target < 5 s: ${median < 5 ? 'met' : 'NOT met'})`);
} else {
  console.log(`${folder} is missing: apt-get install -y dataset-fashion-mnist (or pass an MNIST-format folder); IDX part skipped`);
}

const pngDir = mkdtempSync(path.join(os.tmpdir(), 'vae-bench-png-'));
try {
  const t0 = performance.now();
  const raw = Buffer.alloc(28 * 28);
  for (let i = 0; i < pngCount; i++) {
    for (let j = 0; j < raw.length; j++) raw[j] = (j * 7 + i * 13 + ((j * i) >> 5)) & 255;
    raw[0] = i & 255; // every file different: no duplicates to skip
    raw[1] = i >> 8;
    const label = String(i % 10);
    if (i < 10) mkdirSync(path.join(pngDir, label), { recursive: true });
    writeFileSync(path.join(pngDir, label, `${i}.png`), await sharp(raw, { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer());
  }
  console.log(`(generated ${pngCount} PNGs in ${((performance.now() - t0) / 1000).toFixed(1)} s, not timed below)`);
  const a = await measure(`${pngCount} PNGs, default (64x64 pad)`, [pngDir]);
  const b = await measure(`${pngCount} PNGs, --size 28`, [pngDir], { size: 28 });
  const best = pngCount / Math.min(a, b);
  console.log(`PNG: ${Math.round(pngCount / a)} files/s at 64x64, ${Math.round(pngCount / b)} files/s at 28x28 (target >= 1000: ${best >= 1000 ? 'met' : 'NOT met'})`);
} finally {
  rmSync(pngDir, { recursive: true, force: true });
}
