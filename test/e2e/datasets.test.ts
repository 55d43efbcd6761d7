/**
 * End to end: importing a folder through the real UI in Chromium against web mode. A folder of
 * PNGs in two labelled subfolders plus one corrupt file (made with sharp) is dropped on the window
 * (a synthetic drop: the overlay and the dialog), then picked through the folder input (uploaded
 * to the server, as a browser must); the preview follows the size control; the import runs with
 * progress; the health report lists the corrupt file; the dataset page filters by label; the
 * dataset is deleted. Screenshots: test-results/screenshots/datasets-*.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { openStudio, SHOTS, until } from '../helpers/e2e.ts';

const NAME = 'E2E shapes';

/** 6 circles and 6 squares (RGB, 40x30 so the import has to resize), and one corrupt PNG. */
async function makeFolder(dir: string): Promise<string> {
  const root = path.join(dir, 'shapes');
  for (const label of ['circle', 'square']) {
    mkdirSync(path.join(root, label), { recursive: true });
    for (let i = 0; i < 6; i++) {
      const w = 40;
      const h = 30;
      const px = Buffer.alloc(w * h * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const dx = x - 20 + i;
          const dy = y - 15;
          const inside = label === 'circle' ? dx * dx + dy * dy < 100 : Math.abs(dx) < 9 && Math.abs(dy) < 9;
          const o = (y * w + x) * 3;
          px[o] = inside ? 240 : 20;
          px[o + 1] = inside ? 60 + 30 * i : 20;
          px[o + 2] = inside ? 90 : 30;
        }
      }
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(root, label, `${label}-${i}.png`));
    }
  }
  // A PNG signature followed by garbage: found, then skipped as corrupt.
  writeFileSync(path.join(root, 'circle', 'broken.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really a png')]));
  return root;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `datasets-${name}.png`) });
}

test('web studio: drop and pick a folder, preview, import with progress, report, browse, filter, delete', { timeout: 90_000 }, async (t) => {
  const work = mkdtempSync(path.join(tmpdir(), 'vae-studio-e2e-ds-'));
  const dataDir = path.join(work, 'data');
  const folder = await makeFolder(work);
  const { server, page, consoleErrors } = await openStudio(t, { dataDir, cleanup: work });

  // Progress frames from the server, and whether the dialog ever showed a progress bar (an import
  // of 13 files can be over between two polls, so the page records it itself).
  const progressFrames: { jobId: string; phase: string; done: number; total: number }[] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      const text = typeof f.payload === 'string' ? f.payload : f.payload.toString();
      if (!text.includes('datasets.importProgress')) return;
      progressFrames.push((JSON.parse(text) as { payload: { jobId: string; phase: string; done: number; total: number } }).payload);
    }),
  );
  await page.addInitScript({
    content: `new MutationObserver(() => {
      const bar = document.querySelector('[role="progressbar"]');
      if (bar) window.__progressSeen = (window.__progressSeen || 0) + 1;
    }).observe(document, { subtree: true, childList: true, attributes: true });`,
  });

  await page.goto(server.url);
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor();

  // 1. A drop anywhere: the overlay shows while dragging; the dialog lists what was dropped.
  const files = [
    { name: 'circle-0.png', bytes: [...readFileSync(path.join(folder, 'circle', 'circle-0.png'))] },
    { name: 'square-0.png', bytes: [...readFileSync(path.join(folder, 'square', 'square-0.png'))] },
  ];
  // Page-side code as strings: this Node project compiles without the DOM types.
  await page.evaluate(`(() => {
    const dt = new DataTransfer();
    for (const f of ${JSON.stringify(files)}) dt.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: 'image/png' }));
    const target = document.querySelector('main') ?? document.body;
    target.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    window.__dt = dt;
  })()`);
  await page.getByTestId('drop-overlay').waitFor();
  await shot(page, '1-drop-overlay');
  await page.evaluate(`(document.querySelector('main') ?? document.body).dispatchEvent(new DragEvent('drop', { dataTransfer: window.__dt, bubbles: true, cancelable: true }))`);
  const dialog = page.getByRole('dialog', { name: 'Import a dataset' });
  await dialog.waitFor();
  const sources = dialog.getByRole('list', { name: 'Dropped files and folders' });
  await sources.getByText('circle-0.png').waitFor();
  await sources.getByText('square-0.png').waitFor();
  await dialog.getByRole('list', { name: 'Preview samples' }).locator('li').first().waitFor();
  // Escape closes it (and the uploaded copy is removed).
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await until('the dropped upload is removed', async () => !existsSync(path.join(dataDir, 'uploads')) || readdirSync(path.join(dataDir, 'uploads')).length === 0);

  // 2. The folder picker: upload, live preview, preprocessing, name.
  await page.getByLabel('Choose a folder to import').setInputFiles(folder);
  await dialog.waitFor();
  await sources.getByText('shapes').waitFor();
  const grid = dialog.getByRole('list', { name: 'Preview samples' });
  await grid.locator('li').first().waitFor();
  const found = dialog.getByTestId('preview-found');
  await until('the preview counts 13 files', async () => /\b13\b/.test((await found.textContent()) ?? ''));
  assert.match((await found.textContent()) ?? '', /2 labels/);
  await dialog.getByLabel('Size', { exact: true }).selectOption('32');
  await until('the preview is 32 x 32', async () => /32 × 32/.test((await found.textContent()) ?? ''));
  const canvas = grid.locator('canvas').first();
  assert.equal(await canvas.evaluate((c) => `${(c as unknown as { width: number }).width}x${(c as unknown as { height: number }).height}`), '32x32');
  assert.equal(await dialog.getByLabel('Name', { exact: true }).inputValue(), 'shapes');
  await dialog.getByLabel('Name', { exact: true }).fill(NAME);
  // Focus stays inside the dialog.
  for (let i = 0; i < 12; i++) await page.keyboard.press('Tab');
  assert.ok(await page.evaluate(`document.querySelector('dialog[open]').contains(document.activeElement)`), 'Tab left the dialog');
  await shot(page, '2-import-preview');

  // 3. Import: progress events reach the dialog, then the report replaces it.
  await dialog.getByRole('button', { name: 'Import', exact: true }).click();
  const done = page.getByRole('dialog', { name: `Imported “${NAME}”` });
  await done.waitFor({ timeout: 30_000 });
  const report = done.getByRole('region', { name: `Health report of ${NAME}` });
  assert.equal((await report.getByTestId('report-found').textContent())?.trim(), '13');
  assert.equal((await report.getByTestId('report-imported').textContent())?.trim(), '12');
  assert.equal((await report.getByTestId('report-skipped').textContent())?.trim(), '1');
  const corrupt = report.getByText('Corrupt (could not be decoded)');
  await corrupt.waitFor();
  const group = report.locator('details').filter({ hasText: 'Corrupt' });
  if ((await group.getAttribute('open')) === null) await group.locator('summary').click();
  await report.getByText(/broken\.png/).first().waitFor();
  await report.getByRole('list', { name: 'Samples per class' }).getByLabel('circle: 6').waitFor();
  await report.getByRole('img', { name: `Mean image of ${NAME}` }).waitFor();
  await shot(page, '3-report');
  assert.ok(Number(await page.evaluate('window.__progressSeen || 0')) > 0, 'the dialog showed a progress bar');
  const jobs = new Set(progressFrames.map((p) => p.jobId));
  assert.equal(jobs.size, 1, 'one import job');
  assert.ok(progressFrames.some((p) => p.phase === 'decoding' && p.total === 13), JSON.stringify(progressFrames));

  // 4. The dataset page: a virtual grid, filtered by label.
  await done.getByRole('button', { name: 'Open dataset' }).click();
  await page.getByRole('heading', { name: NAME, level: 1 }).waitFor();
  const samples = page.getByRole('list', { name: `Samples of ${NAME}` });
  await until('12 samples are listed', async () => (await samples.getAttribute('data-total')) === '12').catch(async (e: unknown) => {
    await shot(page, 'failed');
    throw e;
  });
  await until('the grid draws its cells', async () => (await samples.locator('[role=listitem][data-ready]').count()) === 12);
  await shot(page, '4-dataset-page');
  await page.getByLabel('Filter by label').selectOption({ label: 'circle (6)' });
  await until('6 circles are listed', async () => (await samples.getAttribute('data-total')) === '6' && (await samples.locator('[role=listitem][data-ready]').count()) === 6);
  const labels = await samples.getByRole('listitem').evaluateAll((els) => els.map((e) => e.getAttribute('data-label')));
  assert.deepEqual(labels, Array(6).fill('circle'));
  await page.getByRole('button', { name: 'Health report' }).click();
  await page.getByRole('region', { name: `Health report of ${NAME}` }).waitFor();
  await page.getByRole('button', { name: 'Samples' }).click();
  await shot(page, '5-filtered');

  // 5. Delete, with confirmation; back in the library it is gone, and the uploaded files too.
  await page.getByRole('button', { name: 'Delete…' }).click();
  const confirm = page.getByRole('dialog', { name: `Delete “${NAME}”?` });
  await confirm.waitFor();
  await shot(page, '6-delete-confirm');
  await confirm.getByRole('button', { name: 'Delete dataset' }).click();
  await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor();
  await until('the card is gone', async () => (await page.getByRole('heading', { name: NAME }).count()) === 0);
  assert.equal(existsSync(path.join(dataDir, 'uploads')) ? readdirSync(path.join(dataDir, 'uploads')).length : 0, 0, 'uploads are removed after the import');

  assert.deepEqual(consoleErrors, [], 'console errors on the page');
});
