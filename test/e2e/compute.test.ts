/**
 * End to end: the Compute page of the real Svelte UI (out/renderer, built by `npm run
 * build:renderer`) in Debian Chromium against the real web-mode server, whose system.doctor probes
 * the real backends, each in a process of its own. Here (no libtensorflow, no GPU) ONNX Runtime,
 * WebAssembly and plain JavaScript must load and ONNX Runtime be chosen, and both TensorFlow builds
 * must be shown as not loading, with their reason.
 * Screenshots go to test-results/screenshots/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { ProbeTarget } from '../../src-main/contract/index.ts';
import { system } from '../../src-main/services/system.ts';
import { probeBackends } from '../../src-main/trainer/probes.ts';
import { openStudio, SHOTS } from '../helpers/e2e.ts';


/** Whether a package can be resolved from the project (the native tfjs packages are optional). */
function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** Browser-side element bits used by evaluate (this Node project does not load DOM types). */
interface BoxLike {
  scrollWidth: number;
  clientWidth: number;
}

/**
 * A screenshot of the whole page: the shell scrolls inside <main>, so the window is made as tall as
 * its content first (a full-page screenshot would only show the viewport).
 */
async function shootWhole(page: Page, file: string): Promise<void> {
  const size = page.viewportSize()!;
  const needed = await page.locator('main').evaluate((el) => {
    const m = el as unknown as { scrollHeight: number; clientHeight: number };
    return m.scrollHeight - m.clientHeight;
  });
  await page.setViewportSize({ width: size.width, height: size.height + Math.max(0, needed) });
  await page.screenshot({ path: path.join(SHOTS, file) });
  await page.setViewportSize(size);
}

const backendItem = (page: Page, label: string) =>
  page.getByRole('list', { name: 'Compute backends' }).getByRole('listitem').filter({ has: page.getByRole('heading', { name: label, exact: true }) });

test('compute page: onnxruntime loads and is chosen, wasm and cpu load, tensorflow does not and says why; refresh probes again', { timeout: 120_000 }, async (t) => {
  // Counts the real probes the server runs (the service is this process's singleton).
  let probes = 0;
  system.setProber((targets: readonly ProbeTarget[]) => {
    probes++;
    return probeBackends(targets);
  });

  const dataDir = mkdtempSync(path.join(tmpdir(), 'vae-studio-e2e-compute-'));
  const { server, page, consoleErrors } = await openStudio(t, { dataDir, defaultTimeoutMs: 30_000 });

  await page.goto(server.url);
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();

  // Compute sits in the navigation after Export.
  const nav = page.getByRole('navigation', { name: 'Main' });
  const links = await nav.getByRole('link').allTextContents();
  const names = links.map((s) => s.trim());
  assert.ok(names.indexOf('Compute') === names.indexOf('Export') + 1, `Compute follows Export in ${JSON.stringify(names)}`);
  await nav.getByRole('link', { name: 'Compute' }).click();
  await page.getByRole('heading', { name: 'Compute', level: 1 }).waitFor();
  assert.equal(await page.title(), 'Compute · VAE Studio');
  assert.match(page.url(), /#\/compute$/);

  // The first visit probes (1-3 s): the page shows its progress, then the report.
  const refresh = page.getByRole('button', { name: 'Refresh compute backends' });
  const progress = page.getByRole('progressbar', { name: 'Probing compute backends' });
  if (await progress.isVisible()) {
    assert.ok(await refresh.isDisabled(), 'Refresh is disabled while probing');
    await page.screenshot({ path: path.join(SHOTS, 'compute-probing.png') });
  }
  const ort = backendItem(page, 'ONNX Runtime CPU');
  await ort.getByTestId('backend-state-onnxruntime').filter({ hasText: 'Loads' }).waitFor();
  await progress.waitFor({ state: 'hidden' });
  assert.ok(await refresh.isEnabled());
  assert.equal(probes, 1, 'the page and the status bar share one probe');

  // Five backends, in preference order, each with its own row.
  const headings = await page.getByRole('list', { name: 'Compute backends' }).getByRole('heading', { level: 3 }).allTextContents();
  assert.deepEqual(
    headings.map((h) => h.trim()),
    ['TensorFlow GPU', 'TensorFlow CPU', 'ONNX Runtime CPU', 'WebAssembly', 'Plain JavaScript'],
  );

  // Without tensorflow (as here) training uses ONNX Runtime, with its device, threads and versions.
  const tensorflowHere = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');
  const chosen = page.getByRole('region', { name: 'Training uses' });
  if (!tensorflowHere) {
    await chosen.getByText('ONNX Runtime CPU', { exact: true }).waitFor();
    const chosenText = (await chosen.textContent()) ?? '';
    assert.match(chosenText, /ONNX Runtime \d+\.\d+\.\d+ native kernels/);
    assert.match(chosenText, /\d+ threads?/);
    assert.match(chosenText, /tfjs \(evaluation\)\s*\d+\.\d+\.\d+/);
    assert.match(chosenText, /onnxruntime-node/);
    assert.equal(await ort.getByText('Chosen', { exact: true }).count(), 1);
  }
  assert.match((await ort.textContent()) ?? '', /CPU \(.*ONNX Runtime \d+\.\d+\.\d+.*evaluation on tfjs WebAssembly\).*tfjs \d+\.\d+\.\d+/);
  const wasm = backendItem(page, 'WebAssembly');
  assert.equal(((await wasm.getByTestId('backend-state-wasm').textContent()) ?? '').trim(), 'Loads');
  assert.match((await wasm.textContent()) ?? '', /CPU.*tfjs \d+\.\d+\.\d+/);
  assert.equal(await wasm.getByText('Chosen', { exact: true }).count(), 0, 'wasm loads but is not chosen');
  assert.match((await backendItem(page, 'Plain JavaScript').getByTestId('backend-state-cpu').textContent()) ?? '', /^Loads$/);

  for (const [target, label, pkg] of [
    ['tensorflow-gpu', 'TensorFlow GPU', '@tensorflow/tfjs-node-gpu'],
    ['tensorflow-cpu', 'TensorFlow CPU', '@tensorflow/tfjs-node'],
  ] as const) {
    if (installed(pkg)) continue; // where it is installed it may load; here (offline) it never is
    const item = backendItem(page, label);
    assert.equal(((await item.getByTestId(`backend-state-${target}`).textContent()) ?? '').trim(), 'Does not load');
    const reason = (await item.getByTestId(`backend-reason-${target}`).textContent()) ?? '';
    assert.ok(reason.includes(pkg), `${label}'s reason names ${pkg}: ${reason}`);
    assert.match(reason, /not installed/);
  }
  // GPU instructions: the versions that tfjs-node-gpu needs.
  const howto = page.getByRole('region', { name: 'How the backend is chosen' });
  const howtoText = (await howto.textContent()) ?? '';
  assert.match(howtoText, /TensorFlow with a GPU, TensorFlow on the CPU, ONNX Runtime .*WebAssembly, plain JavaScript/s);
  assert.match(howtoText, /CUDA 11\.2.*cuDNN 8\.1.*@tensorflow\/tfjs-node-gpu/s);
  const machine = page.getByRole('region', { name: 'This machine' });
  const machineText = (await machine.textContent()) ?? '';
  assert.ok(machineText.includes(process.version), machineText);
  assert.match(machineText, /util shim/);
  assert.match(machineText, Number(process.versions.node.split('.')[0]) >= 23 ? /Installed/ : /Not needed/);

  // The status bar names the chosen backend and links to this page.
  const footerLink = page.getByRole('contentinfo').getByRole('link', { name: tensorflowHere ? /^Compute backend: tensorflow/ : /^Compute backend: onnxruntime/ });
  await footerLink.waitFor();
  await shootWhole(page, 'compute.png');

  // Refresh probes again (the cache is dropped first; within a minute it would answer from it).
  system.setProber((targets: readonly ProbeTarget[]) => {
    probes++;
    return new Promise((resolve) => setTimeout(() => resolve(probeBackends(targets)), 300));
  });
  await refresh.click();
  await progress.waitFor();
  assert.ok(await refresh.isDisabled(), 'Refresh is disabled while probing');
  await progress.waitFor({ state: 'hidden' });
  assert.equal(probes, 2);
  await ort.getByTestId('backend-state-onnxruntime').filter({ hasText: 'Loads' }).waitFor();

  // In a narrow window a reason that no longer fits is cut off, and can be expanded to its full text.
  await page.setViewportSize({ width: 820, height: 900 });
  const gpu = backendItem(page, 'TensorFlow GPU');
  const more = gpu.getByRole('button', { name: 'Show the full reason for TensorFlow GPU' });
  await more.waitFor();
  const gpuReason = gpu.getByTestId('backend-reason-tensorflow-gpu');
  const cut = await gpuReason.evaluate((el) => {
    const b = el as unknown as BoxLike;
    return b.scrollWidth > b.clientWidth;
  });
  assert.ok(cut, 'the reason is cut off before expanding');
  await more.click();
  const less = gpu.getByRole('button', { name: 'Show less for TensorFlow GPU' });
  assert.equal(await less.getAttribute('aria-expanded'), 'true');
  const fits = await gpuReason.evaluate((el) => {
    const b = el as unknown as BoxLike;
    return b.scrollWidth <= b.clientWidth;
  });
  assert.ok(fits, 'the expanded reason wraps instead of being cut off');
  await shootWhole(page, 'compute-narrow-expanded.png');
  await less.click();
  await more.waitFor();

  // The status bar link leads back here from another page.
  await nav.getByRole('link', { name: 'Datasets' }).click();
  await footerLink.click();
  await page.getByRole('heading', { name: 'Compute', level: 1 }).waitFor();

  assert.deepEqual(consoleErrors, [], 'console errors on the page');
});
