/**
 * Latent explorer benchmark (`npm run bench:latent`): builds bench/latent-page with vite (the
 * explorer's own scatter renderer, grid index and decoder loader on synthetic data), serves it on
 * 127.0.0.1 and runs it in headless Chromium (the e2e launch flags: no GPU, WebGL2 on SwiftShader).
 * Prints: scatter frame time while panning 70k points (draw + GPU sync, and the requestAnimationFrame
 * interval), hover picking time, and decode latency per frame (one z) and per 81-image grid for the
 * MLP decoder, with the backends used. Options: --points N, --frames N, --canvas2d (the fallback).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/e2e.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAGE_DIR = path.join(ROOT, 'bench', 'latent-page');
const OUT = path.join(ROOT, 'out', 'bench-latent');

function arg(name: string): string | null {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '') : null;
}

interface Stats {
  median: number;
  p95: number;
  n: number;
}
interface Result {
  points: number;
  renderer: string;
  fallbackReason: string | null;
  glRenderer: string | null;
  setupMs: number;
  draw: Stats;
  frameInterval: Stats;
  pick: Stats;
  decodeBackend: string;
  decode1: Stats;
  decode81: Stats;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json', '.css': 'text/css', '.wasm': 'application/wasm' };

async function main(): Promise<void> {
  const points = Number(arg('points') ?? 70000);
  const frames = Number(arg('frames') ?? 240);
  await build({ configFile: false, root: PAGE_DIR, base: './', logLevel: 'warn', build: { outDir: OUT, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 } });

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = path.join(OUT, url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
    if (!file.startsWith(OUT) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1240, height: 840 } });
    const q = new URLSearchParams({ points: String(points), frames: String(frames) });
    if (process.argv.includes('--canvas2d')) q.set('canvas2d', '1');
    await page.goto(`http://127.0.0.1:${port}/?${q}`);
    const handle = await page.waitForFunction(
      () => {
        const w = globalThis as unknown as { __latentBench?: unknown; __latentBenchError?: string };
        return w.__latentBench ?? (w.__latentBenchError ? { error: w.__latentBenchError } : null);
      },
      null,
      { timeout: 300_000, polling: 250 },
    );
    const r = (await handle.jsonValue()) as Result | { error: string };
    if ('error' in r) throw new Error(`the bench page failed: ${r.error}`);
    const f = (v: number) => v.toFixed(2);
    console.log(`Latent explorer bench: ${r.points.toLocaleString('en-US')} points, Chromium headless (${CHROMIUM_ARGS.includes('--disable-gpu') ? '--disable-gpu' : 'gpu'})`);
    console.log(`scatter renderer: ${r.renderer}${r.fallbackReason ? ` (${r.fallbackReason})` : ''}; WebGL device: ${r.glRenderer ?? 'none'}`);
    console.log(`setup (buffers + grid index): ${f(r.setupMs)} ms\n`);
    console.log('| measure | median ms | p95 ms | n |');
    console.log('|---|---|---|---|');
    console.log(`| scatter draw + GPU sync, panning | ${f(r.draw.median)} | ${f(r.draw.p95)} | ${r.draw.n} |`);
    console.log(`| frame interval (rAF), panning | ${f(r.frameInterval.median)} | ${f(r.frameInterval.p95)} | ${r.frameInterval.n} |`);
    console.log(`| hover pick (grid index) | ${f(r.pick.median)} | ${f(r.pick.p95)} | ${r.pick.n} |`);
    console.log(`| decode 1 z, MLP 8-256-784 (${r.decodeBackend}) | ${f(r.decode1.median)} | ${f(r.decode1.p95)} | ${r.decode1.n} |`);
    console.log(`| decode 81 z (a 9x9 grid, ${r.decodeBackend}) | ${f(r.decode81.median)} | ${f(r.decode81.p95)} | ${r.decode81.n} |`);
    console.log(`\n60 fps budget: 16.7 ms per frame; the draw median is ${(r.draw.median / 16.7 * 100).toFixed(0)} % of it.`);
  } finally {
    await browser.close();
    server.close();
  }
}

await main();
