/**
 * End to end: the latent explorer in Chromium against the real web studio. A tiny run trains on the
 * built-in digits (through the studio's dispatch, 2 epochs, 1000 samples), then the Latent space page
 * encodes its validation split with a real trainer process: the map is drawn (point count, lit
 * pixels), hovering decodes with tfjs in the page (a non-blank image), the traversal grid decodes,
 * outliers locate points that the keyboard picks, the interpolation strip and animation decode,
 * and the map, the strip (PNG) and the animation (GIF) download. Screenshots in
 * test-results/screenshots/latent-*.png. Headless Chromium has no GPU: WebGL2 runs on SwiftShader
 * with the shared launch flags (--disable-gpu included), so no extra flags are needed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { openStudio, SHOTS, trainRuns, until } from '../helpers/e2e.ts';

/** Browser-side shapes this Node project's types do not include. */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { drawImage(c: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}
interface DocLike {
  createElement(tag: 'canvas'): CanvasLike;
}

/** Pixels of the first canvas inside `scope` that differ from its first pixel, and the total. */
async function inkOf(scope: Locator): Promise<{ lit: number; total: number; distinct: number }> {
  return scope.locator('canvas').first().evaluate((el) => {
    const src = el as unknown as CanvasLike;
    // Copy through a 2-D canvas: it works for WebGL canvases too.
    const c = (globalThis as unknown as { document: DocLike }).document.createElement('canvas');
    c.width = src.width;
    c.height = src.height;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(src, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    let lit = 0;
    for (let i = 0; i < d.length; i += 4) {
      const key = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
      seen.add(key);
      if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) lit++;
    }
    return { lit, total: d.length / 4, distinct: seen.size };
  });
}

async function expectDownload(page: Page, click: () => Promise<void>, ext: string, magic: Buffer): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const name = download.suggestedFilename();
  assert.ok(name.endsWith(ext), `download ${name} should end with ${ext}`);
  const file = await download.path();
  assert.ok(file, 'the download was saved');
  const bytes = readFileSync(file);
  assert.ok(bytes.subarray(0, magic.length).equals(magic), `${name} does not start with the ${ext} signature`);
  assert.ok(bytes.length > 100, `${name} is only ${bytes.length} bytes`);
  return name;
}

test('latent explorer: map, hover decoding, traversal, outliers, interpolation, downloads', { timeout: 180_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vae-studio-e2e-latent-'));
  const { server, page, consoleErrors, call } = await openStudio(t, { dataDir, defaultTimeoutMs: 40_000 });

  await trainRuns(call, [
    {
      name: 'latent e2e',
      // A higher learning rate than the default so 2 short epochs already decode digit-like images.
      config: { epochs: 2, maxSamples: 1000, batchSize: 100, model: { hidden: [64], latentDim: 8 }, optimizer: { learningRate: 0.005 }, backend: 'auto' },
    },
  ]);

  await page.goto(server.url);
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Latent space' }).click();
  await page.getByRole('heading', { name: 'Latent space', level: 1 }).waitFor();

  // The map: the run is chosen, its latest checkpoint encoded and projected with PCA.
  const count = page.getByTestId('point-count');
  await until('the map has points', async () => Number(await count.getAttribute('data-count')) > 0, 90_000);
  const points = Number(await count.getAttribute('data-count'));
  assert.ok(points >= 30 && points <= 600, `unexpected point count ${points}`);
  assert.match((await count.textContent()) ?? '', new RegExp(`^${points} points`));
  assert.equal(await page.getByTestId('epoch').textContent(), 'epoch 2');
  await page.getByTestId('explained-variance').waitFor();
  assert.match((await page.getByTestId('explained-variance').textContent()) ?? '', /PC1 \d+\.\d % · PC2 \d+\.\d %/);
  const map = page.getByRole('application', { name: /Latent map/ });
  const mapInk = await inkOf(map);
  assert.ok(mapInk.lit > 200, `the map looks empty: ${mapInk.lit} lit pixels`);
  assert.equal(await page.getByText('Canvas 2D', { exact: true }).count(), 0, 'WebGL2 should be available (SwiftShader)');
  await until('the decoder loads', async () => /Decoder: tfjs (webgl|cpu)/.test((await page.getByTestId('decoder-backend').textContent()) ?? ''));

  // Hover: the decoded image at the cursor is drawn and not blank.
  const box = (await map.boundingBox())!;
  for (let k = 0; k < 6; k++) await page.mouse.move(box.x + box.width * (0.4 + k * 0.03), box.y + box.height * 0.5, { steps: 2 });
  const decoded = page.getByRole('img', { name: 'Decoded image at the cursor' });
  await decoded.waitFor();
  const dInk = await inkOf(decoded);
  assert.ok(dInk.distinct > 8, `the decoded image looks blank: ${dInk.distinct} distinct colours`);
  await page.screenshot({ path: path.join(SHOTS, 'latent-1-map.png') });

  // Traversal grid (the default tool): top 6 dimensions by KL x 9 steps.
  const traversal = page.getByRole('img', { name: 'Traversal grid' });
  await until('the traversal grid is drawn', async () => (await traversal.count()) > 0 && (await traversal.getAttribute('data-count')) === '54');
  const tInk = await inkOf(traversal);
  assert.ok(tInk.distinct > 16, `the traversal grid looks blank: ${tInk.distinct} distinct colours`);
  await traversal.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, 'latent-2-traversal.png'), fullPage: false });

  // Outliers locate points on the map; Enter on the focused map picks the point at its centre.
  await page.getByRole('tab', { name: 'Outliers' }).click();
  const outliers = page.getByRole('list', { name: 'Outliers' }).getByRole('button');
  await until('outliers are listed', async () => (await outliers.count()) >= 2);
  for (const k of [0, 1]) {
    await outliers.nth(k).click();
    await map.focus();
    await page.keyboard.press('Enter');
  }
  const picked = page.getByRole('list', { name: 'Picked images' }).getByRole('listitem');
  await until('two images are picked', async () => (await picked.count()) === 2);

  // Interpolation: 2 images, 8 steps -> 8 frames; play, pause; PNG strip and GIF downloads.
  await page.getByRole('tab', { name: 'Interpolate' }).click();
  const strip = page.getByRole('img', { name: 'Interpolation strip' });
  await until('the interpolation strip is drawn', async () => (await strip.count()) > 0 && (await strip.getAttribute('data-count')) === '8');
  const sInk = await inkOf(strip);
  assert.ok(sInk.distinct > 16, `the strip looks blank: ${sInk.distinct} distinct colours`);
  await page.getByRole('radio', { name: 'Spherical' }).check();
  await page.getByRole('button', { name: 'Play the animation' }).click();
  const anim = page.getByRole('img', { name: /Interpolation animation/ });
  const f0 = await anim.getAttribute('data-frame');
  await until('the animation advances', async () => (await anim.getAttribute('data-frame')) !== f0, 5_000);
  await page.getByRole('button', { name: 'Pause the animation' }).click();
  await page.screenshot({ path: path.join(SHOTS, 'latent-3-interpolate.png') });
  const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const stripName = await expectDownload(page, () => page.getByRole('button', { name: 'Save Interpolation strip as PNG' }).click(), '.png', PNG);
  assert.match(stripName, /interpolation-spherical\.png$/);
  await expectDownload(page, () => page.getByRole('button', { name: 'Save the interpolation as an animated GIF' }).click(), '.gif', Buffer.from('GIF89a'));
  await expectDownload(page, () => page.getByRole('button', { name: 'Save the map as PNG' }).click(), '.png', PNG);

  // Zoomed in around a picked point, thumbnails of the points are drawn over the map.
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let k = 0; k < 10; k++) await page.mouse.wheel(0, -300);
  await page.waitForTimeout(600);
  await page.screenshot({ path: path.join(SHOTS, 'latent-4-zoomed.png') });

  // Scrub to the first checkpoint: the map is encoded again with that encoder.
  await page.getByRole('slider', { name: 'Checkpoint epoch' }).focus();
  await page.keyboard.press('Home');
  await until('epoch 1 is shown', async () => (await page.getByTestId('epoch').textContent()) === 'epoch 1');
  await until('the epoch 1 map is loaded', async () => (await page.getByRole('status', { name: 'Latent progress' }).count()) === 0 && /epoch 1 encoder/.test((await page.locator('.page-head p').first().textContent()) ?? ''), 60_000);

  assert.deepEqual(consoleErrors, []);
});
