/**
 * Builds the Svelte renderer (src-renderer) into out/renderer for web mode (`vae-studio serve`, the
 * e2e test). Relative asset paths (base './') so the same files load from app://studio/ in
 * Electron and from the web server's root. `vite --config vite.renderer.config.ts` serves it for
 * development; VAE_STUDIO_PORT points the /ws proxy at a running `vae-studio serve`.
 */
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('./src-renderer', import.meta.url));
const outDir = fileURLToPath(new URL('./out/renderer', import.meta.url));
const studioPort = process.env.VAE_STUDIO_PORT;

export default defineConfig({
  root,
  base: './',
  plugins: [svelte()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One small app: a single chunk loads faster from app:// and localhost than a split graph.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    host: '127.0.0.1',
    ...(studioPort ? { proxy: { '/ws': { target: `ws://127.0.0.1:${studioPort}`, ws: true } } } : {}),
  },
});
