/**
 * End to end: the Export page in Chromium against the real web studio. A tiny run trains on the
 * built-in digits (through the studio's dispatch), then the page exports its latest checkpoint as a
 * TensorFlow.js model and a report into a chosen folder, shows the progress, the verification table
 * (every check passing) and the files, and the folder holds them; the exported model then imports
 * back as a new run, which opens on the runs page.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { RunSummary } from '../../src-main/contract/index.ts';
import { openStudio, SHOTS, trainRuns, until } from '../helpers/e2e.ts';

test('export page: tfjs + report with verification, then import the model back', { timeout: 180_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vae-studio-e2e-export-'));
  const { server, page, consoleErrors, call } = await openStudio(t, { dataDir, defaultTimeoutMs: 40_000 });
  const [run] = (await trainRuns(call, [
    { name: 'export e2e', config: { epochs: 1, maxSamples: 400, batchSize: 100, model: { hidden: [32], latentDim: 4 }, backend: 'auto' } },
  ])) as [RunSummary];

  await page.goto(server.url);
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Export' }).click();
  await page.getByRole('heading', { name: 'Export', level: 1 }).waitFor();

  // The run and its latest checkpoint are chosen; TensorFlow.js and the report are the default formats.
  const runSelect = page.getByLabel('Run', { exact: true });
  await until('the run is listed', async () => (await runSelect.inputValue()) === run.id);
  await until('its checkpoint is listed', async () => /Latest \(epoch 1\)/.test((await page.getByLabel('Checkpoint').textContent()) ?? ''));
  assert.ok(await page.getByRole('checkbox', { name: /TensorFlow\.js model/ }).isChecked());
  assert.ok(await page.getByRole('checkbox', { name: /Report/ }).isChecked());
  assert.ok(!(await page.getByRole('checkbox', { name: /ONNX model/ }).isChecked()));
  await page.screenshot({ path: path.join(SHOTS, 'export-1-form.png') });

  const out = path.join(mkdtempSync(path.join(tmpdir(), 'vae-studio-e2e-export-out-')), 'my export');
  await page.getByLabel('Output folder').fill(out);
  await page.getByRole('button', { name: 'Export', exact: true }).click();
  await page.getByRole('button', { name: 'Cancel' }).waitFor();
  await page.getByRole('progressbar', { name: 'Export progress' }).waitFor();

  const checks = page.getByRole('table', { name: 'Verification' });
  await checks.waitFor({ timeout: 120_000 });
  const rows = checks.locator('tbody tr');
  assert.ok((await rows.count()) >= 2, 'encoder and decoder are verified');
  for (const text of await rows.allTextContents()) assert.match(text, /tfjs.*pass/);
  const files = await page.getByRole('table', { name: 'Exported files' }).locator('tbody td:first-child').allTextContents();
  assert.ok(files.includes('report.html'), files.join(', '));
  assert.ok(existsSync(path.join(out, 'report.html')));
  assert.ok(readFileSync(path.join(out, 'report.html'), 'utf8').includes('export e2e'));
  assert.equal(await page.getByRole('alert').count(), 0);
  await page.getByRole('table', { name: 'Exported files' }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, 'export-2-result.png') });

  // Import the exported model back: a new run opens on the runs page.
  await page.getByLabel('Model folder').fill(out);
  await page.getByLabel('Run name (optional)').fill('imported e2e');
  await page.getByRole('button', { name: 'Import and open' }).click();
  await until('the runs page opens on the new run', async () => /#\/runs\/.+/.test(page.url()));
  const imported = (await call<RunSummary[]>('runs.list', {})).find((r) => r.name === 'imported e2e');
  assert.ok(imported, 'the imported run is in the history');
  assert.ok(page.url().endsWith(encodeURIComponent(imported.id)));
  assert.deepEqual(consoleErrors, []);
});
