/**
 * Measures what a web-mode user waits for and what the studio costs while training:
 *  - `vae-studio serve` started -> URL printed -> page interactive (connected, datasets listed) in Chromium;
 *  - resident memory of the serving (main) process and of the trainer process while training the
 *    default MLP on the built-in digits.
 * Run: node --import tsx bench/startup.ts   (needs the renderer built: npm run build:renderer)
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vae-bench-startup-'));

const rssMiB = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
};
const childrenOf = (pid: number): number[] =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map(Number).filter(Boolean);

const t0 = performance.now();
const server = spawn(process.execPath, [path.join(root, 'bin/vae-studio.js'), '--data-dir', dataDir, 'serve', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (line) resolve((JSON.parse(line) as { url: string }).url);
  });
  server.on('exit', (c) => reject(new Error(`serve exited ${c}`)));
});
const tUrl = performance.now();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const tBrowser = performance.now();
const page = await browser.newPage();
await page.goto(url);
await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
await page.getByRole('heading', { name: 'Sample digits' }).waitFor();
const tReady = performance.now();

// Train with the default config (784-400-20) and sample memory for ~15 s.
await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Train' }).click();
await page.getByRole('button', { name: 'Start training' }).click();
let mainPeak = 0;
let trainerPeak = 0;
const tTrain = performance.now();
while (performance.now() - tTrain < 15_000) {
  mainPeak = Math.max(mainPeak, rssMiB(server.pid!));
  for (const c of childrenOf(server.pid!)) trainerPeak = Math.max(trainerPeak, rssMiB(c));
  await new Promise((r) => setTimeout(r, 250));
}
await page.getByRole('button', { name: 'Stop training' }).click();
await browser.close();
server.kill('SIGINT');
await new Promise((r) => server.on('exit', r));
rmSync(dataDir, { recursive: true, force: true });

const row = (k: string, v: string) => console.log(`| ${k.padEnd(46)} | ${v.padStart(10)} |`);
console.log(`| ${'measure'.padEnd(46)} | ${'value'.padStart(10)} |\n|${'-'.repeat(48)}|${'-'.repeat(12)}|`);
row('serve started -> URL printed', `${(tUrl - t0).toFixed(0)} ms`);
row('page opened -> interactive (connected, data)', `${(tReady - tBrowser).toFixed(0)} ms`);
row('serve started -> interactive (incl. browser)', `${(tReady - t0).toFixed(0)} ms`);
row('main (server) RSS peak while training', `${mainPeak.toFixed(0)} MiB`);
row('trainer RSS peak while training', `${trainerPeak.toFixed(0)} MiB`);
