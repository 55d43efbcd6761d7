#!/usr/bin/env node
// The vae-studio command. The CLI runs from the TypeScript sources through tsx's loader, so a
// checkout needs no build step for it; the desktop app bundles its own copy with electron-vite.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
