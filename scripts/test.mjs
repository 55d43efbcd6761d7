#!/usr/bin/env node
// Runs the whole suite the way CI does: typecheck, lint, unit, integration and end-to-end tests
// (node:test, spec reporter), then prints one closing line "N passed, N failed" over all suites.
// `node scripts/test.mjs unit` (or integration, e2e, static) runs one part.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

// Node 20's test runner takes no globs: list the files here.
const testFiles = (dir) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.test.ts'))
        .sort()
        .map((f) => path.join(dir, f))
    : [];

const want = new Set(process.argv.slice(2));
const all = want.size === 0;
const steps = [
  { name: 'static', cmd: 'npx', args: ['tsc', '--noEmit', '-p', 'tsconfig.json'] },
  { name: 'static', cmd: 'npx', args: ['svelte-check', '--tsconfig', 'tsconfig.renderer.json', '--fail-on-warnings', '--output', 'human'] },
  { name: 'static', cmd: 'npx', args: ['eslint', '.'] },
  { name: 'unit', cmd: 'node', args: ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...testFiles('test/unit')], tests: true },
  // The renderer build serves both the e2e tests and the integration tests that start `vae-studio serve`.
  { name: 'build', parts: ['integration', 'e2e'], cmd: 'npx', args: ['vite', 'build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn'] },
  { name: 'integration', cmd: 'node', args: ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...testFiles('test/integration')], tests: true },
  { name: 'e2e', cmd: 'node', args: ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...testFiles('test/e2e')], tests: true },
];

let passed = 0;
let failed = 0;
let broken = [];
const t0 = Date.now();
for (const s of steps) {
  if (!all && !want.has(s.name) && !(s.parts ?? []).some((p) => want.has(p))) continue;
  if (s.tests && !s.args.some((a) => a.endsWith('.test.ts'))) {
    process.stdout.write(`\n(no ${s.name} tests)\n`);
    continue;
  }
  const label = `${s.cmd} ${s.args.join(' ')}`;
  process.stdout.write(`\n▶ ${label}\n`);
  const t = Date.now();
  const { code, out } = await run(s.cmd, s.args);
  process.stdout.write(`◀ ${s.name} finished in ${((Date.now() - t) / 1000).toFixed(1)} s (exit ${code})\n`);
  if (s.tests) {
    const p = /ℹ pass (\d+)/.exec(out);
    const f = /ℹ fail (\d+)/.exec(out);
    passed += p ? Number(p[1]) : 0;
    failed += f ? Number(f[1]) : 0;
    if (code !== 0 && !(f && Number(f[1]) > 0)) {
      failed += 1; // the runner itself failed (e.g. a file that does not load)
      broken.push(label);
    }
  } else if (code !== 0) {
    failed += 1;
    broken.push(label);
  }
}
process.stdout.write(`\nsuite time ${((Date.now() - t0) / 1000).toFixed(1)} s${broken.length ? `; failed steps: ${broken.join(' | ')}` : ''}\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}
