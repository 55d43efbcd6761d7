/**
 * electron-vite build of the desktop app (`npm run build`, `npm start`):
 *   out/main/index.js      the Electron main process (src-main/electron/main.ts), ESM
 *   out/main/trainer.js    the trainer entry that utilityProcess.fork runs (src-main/trainer/main.ts)
 *   out/main/probe.js      the backend probe that `vae-studio doctor` forks once per backend
 *   out/main/step-worker.js  the worker thread of data-parallel wasm training (one per extra core)
 *   out/preload/index.cjs  the window's preload: CommonJS because a sandboxed preload cannot be ESM,
 *                          and self-contained because it may require nothing but 'electron'
 *   out/renderer/          the Svelte app, loaded as app://studio/index.html (relative base)
 * Runtime dependencies stay external to main (node_modules ships with the app; better-sqlite3 and
 * tfjs-node are native and cannot be bundled).
 */
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const r = (p: string): string => path.resolve(root, p);

export default defineConfig(({ command }) => ({
  main: {
    build: {
      outDir: r('out/main'),
      // package.json dependencies are external by default; the optional native tfjs packages are not
      // in `dependencies`, and must never be bundled either (the trainer loads them if present).
      externalizeDeps: { include: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'] },
      sourcemap: true,
      rolldownOptions: {
        input: {
          index: r('src-main/electron/main.ts'),
          trainer: r('src-main/trainer/main.ts'),
          probe: r('src-main/trainer/probe.ts'),
          'step-worker': r('src-main/trainer/step-worker.ts'),
        },
        output: {
          format: 'es',
          entryFileNames: '[name].js',
          chunkFileNames: 'chunks/[name]-[hash].js',
        },
      },
    },
  },
  preload: {
    build: {
      outDir: r('out/preload'),
      // Bundle everything (zod and the contract included): a sandboxed preload's require() only
      // knows 'electron' and a few Node built-ins.
      externalizeDeps: false,
      // Inline maps only while developing: they would triple the file every window parses.
      sourcemap: command === 'serve' ? 'inline' : false,
      rolldownOptions: {
        input: { index: r('src-main/preload/index.ts') },
        output: {
          format: 'cjs',
          entryFileNames: '[name].cjs',
          codeSplitting: false,
        },
      },
    },
  },
  renderer: {
    root: r('src-renderer'),
    // Relative asset URLs: the page is served as app://studio/index.html.
    base: './',
    plugins: [svelte()],
    build: {
      outDir: r('out/renderer'),
      emptyOutDir: true,
      rolldownOptions: {
        input: r('src-renderer/index.html'),
      },
    },
  },
}));
