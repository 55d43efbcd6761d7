/**
 * How long importing a real benchmark dataset takes, and the memory it needs: Fashion-MNIST's four
 * gzipped IDX files (60k + 10k images of 28x28, 30 MB compressed, 55 MB stored) imported into a
 * fresh history, in-process, through the same importDataset the command uses. Target: < 5 s.
 * Needs `apt-get install -y dataset-fashion-mnist` (or pass another MNIST-format folder).
 * Run: node --import tsx bench/import.ts [folder] [repeats]
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importDataset, readDatasetMeta } from '../src-main/services/datasets.ts';
import { openStore } from '../src-main/store/index.ts';

const folder = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const repeats = Number(process.argv[3] ?? 3);
if (!existsSync(folder)) {
  console.log(`${folder} is missing: apt-get install -y dataset-fashion-mnist (or pass an MNIST-format folder)`);
  process.exit(0);
}

const mib = (kib: number) => (kib / 1024).toFixed(0);
const files = readdirSync(folder).length;
console.log(`importing ${folder} (${files} files), ${repeats} times; node ${process.versions.node}, ${os.cpus().length} cores`);
console.log(`RSS before: ${mib(process.memoryUsage().rss / 1024)} MiB`);
console.log('run  seconds  files/s  samples/s  MB/s stored  peak RSS MiB');
const times: number[] = [];
for (let i = 1; i <= repeats; i++) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vae-bench-import-'));
  const store = openStore({ dataDir });
  try {
    const t0 = performance.now();
    const d = await importDataset(store, dataDir, [folder]);
    const s = (performance.now() - t0) / 1000;
    times.push(s);
    const meta = readDatasetMeta(dataDir, d.id)!;
    // maxRSS is the process's peak so far (KiB): monotone over the runs, the first run's is the import's own.
    console.log(
      `${String(i).padEnd(4)} ${s.toFixed(2).padStart(7)}  ${(meta.files.length / s).toFixed(1).padStart(7)}  ${Math.round(d.count / s).toString().padStart(9)}  ${(meta.bytes / 1e6 / s).toFixed(0).padStart(11)}  ${mib(process.resourceUsage().maxRSS).padStart(12)}`,
    );
    if (i === 1) console.log(`     ${d.count} samples ${d.width}x${d.height}x${d.channels}, split ${JSON.stringify(meta.splits)}, sha256 ${meta.sha256.slice(0, 16)}...`);
  } finally {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
console.log(`median ${median.toFixed(2)} s (target < 5 s: ${median < 5 ? 'met' : 'NOT met'})`);
