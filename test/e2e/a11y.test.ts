/**
 * End to end, accessibility and layout of every page, in Chromium against the real web-mode studio
 * with real trainer processes. Two tiny runs (built-in digits, one epoch of 300 samples) give every
 * page content; then each page (datasets, a dataset, train, runs, a run, compare, latent space,
 * export, compute) is checked for: a non-empty accessible name on every visible control (computed
 * in the page from aria-labelledby, aria-label, <label>, title, text content or alt; a placeholder
 * is not a name), no duplicate ids, exactly one h1, a visible focus ring on every element that Tab
 * reaches, and no sideways overflow of the page at 1440x900 and 1280x800 (the runs table fits too).
 * A keyboard-only pass reaches the navigation with Tab and switches pages with Enter.
 * Screenshots: test-results/screenshots/a11y-<page>-<width>.png.
 *
 * With VAE_STUDIO_DOCS_SHOTS=1 the runs train longer (recognisable digits) and the README's
 * screenshots docs/screenshot-{train,latent,compare,export}.png are written as well.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunSummary } from '../../src-main/contract/index.ts';
import { openStudio, ROOT, SHOTS, trainRuns, until } from '../helpers/e2e.ts';

const DOCS = process.env['VAE_STUDIO_DOCS_SHOTS'] === '1';
const DOCS_DIR = path.join(ROOT, 'docs');

/** What the in-page audit finds on one page. */
interface Audit {
  unnamed: string[];
  duplicateIds: string[];
  h1s: number;
  /** Sideways overflow of the page's scroll container and of each table panel (px). */
  overflow: { what: string; by: number }[];
}

/**
 * The in-page audit, as source so that it runs in the browser untouched by this project's Node types.
 * The accessible name follows the order of the accname spec's main steps (aria-labelledby,
 * aria-label, label elements for form fields, text content and alt for the rest, then title); a
 * placeholder does not count.
 */
const AUDIT = `(() => {
  const doc = document;
  const clean = (s) => (s ?? '').replace(/\\s+/g, ' ').trim();
  const snippet = (el) => clean(el.outerHTML).slice(0, 220);
  const shown = (el) => {
    if (el.closest('[aria-hidden="true"], [hidden], [inert]')) return false;
    if (typeof el.checkVisibility === 'function' && !el.checkVisibility({ visibilityProperty: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 || r.height > 0;
  };
  const contentName = (el) => {
    let s = clean(el.textContent);
    for (const img of el.querySelectorAll('img[alt], [role=img][aria-label]')) s += ' ' + clean(img.getAttribute('alt') ?? img.getAttribute('aria-label'));
    return s.trim();
  };
  const name = (el) => {
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      const s = clean(by.split(/\\s+/).map((id) => doc.getElementById(id)?.textContent ?? '').join(' '));
      if (s) return s;
    }
    const label = clean(el.getAttribute('aria-label'));
    if (label) return label;
    const tag = el.tagName.toLowerCase();
    if (tag === 'input' || tag === 'select' || tag === 'textarea') {
      if (tag === 'input' && ['button', 'submit', 'reset'].includes(el.type) && clean(el.value)) return clean(el.value);
      for (const l of el.labels ?? []) {
        const s = clean(l.textContent);
        if (s) return s;
      }
    } else {
      const s = contentName(el);
      if (s) return s;
    }
    return clean(el.getAttribute('title'));
  };
  const controls = doc.querySelectorAll(
    'button, a[href], input:not([type=hidden]), select, textarea, [role=slider], [role=tab], [role=checkbox], [role=switch], [role=radio], [role=button]',
  );
  const unnamed = [...controls].filter((el) => shown(el) && !name(el)).map(snippet);
  const ids = new Map();
  for (const el of doc.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) ?? 0) + 1);
  const duplicateIds = [...ids].filter(([, n]) => n > 1).map(([id, n]) => id + ' x' + n);
  const h1s = [...doc.querySelectorAll('h1')].filter(shown).length;
  const overflow = [];
  const content = doc.querySelector('main.content');
  if (content && content.scrollWidth > content.clientWidth + 1) overflow.push({ what: 'main', by: content.scrollWidth - content.clientWidth });
  for (const p of doc.querySelectorAll('main .panel')) {
    if (!shown(p) || getComputedStyle(p).overflowX === 'visible') continue;
    if (p.scrollWidth > p.clientWidth + 1) overflow.push({ what: snippet(p).slice(0, 80), by: p.scrollWidth - p.clientWidth });
  }
  return { unnamed, duplicateIds, h1s, overflow };
})()`;

/**
 * The focused element: a snippet, and whether it draws a focus ring (an outline or a box-shadow),
 * itself or on the field box that wraps it (a tag input inside its chips box).
 */
const FOCUSED = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const ringed = (e) => {
    const cs = getComputedStyle(e);
    return (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || (cs.boxShadow !== 'none' && cs.boxShadow !== '');
  };
  const visible = ringed(el) || (el.parentElement !== null && el.parentElement.matches(':focus-within') && ringed(el.parentElement));
  return { key: el.outerHTML.slice(0, 160), snippet: el.outerHTML.replace(/\\s+/g, ' ').slice(0, 220), visible };
})()`;

/** Tabs through the page from its start (at most `max` stops); the elements that show no focus ring. */
async function focusOffenders(page: Page, max = 45): Promise<string[]> {
  await page.evaluate('document.activeElement && document.activeElement.blur && document.activeElement.blur()');
  const bad: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = (await page.evaluate(FOCUSED)) as { key: string; snippet: string; visible: boolean } | null;
    if (!f) continue;
    if (seen.has(f.key)) break;
    seen.add(f.key);
    if (!f.visible) bad.push(f.snippet);
  }
  return bad;
}

/** Progress lines on stderr with A11Y_TRACE=1 (to see where a slow run spends its time). */
function trace(msg: string): void {
  if (process.env['A11Y_TRACE'] === '1') process.stderr.write(`[a11y ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/**
 * The runs table's "Columns" menu from the keyboard: Enter opens it, a ticked box shows a hidden
 * column (Likelihood, hidden by default), Escape closes it and gives the focus back; then undone.
 */
async function checkColumnsMenu(page: Page, problems: string[]): Promise<void> {
  const table = page.getByRole('table', { name: 'Runs' });
  const button = page.getByRole('button', { name: /^Columns/ });
  assert.equal(await table.getByRole('columnheader', { name: /Likelihood/ }).count(), 0, 'Likelihood is hidden by default');
  await button.focus();
  await page.keyboard.press('Enter');
  assert.equal(await button.getAttribute('aria-expanded'), 'true');
  const menu = page.getByRole('group', { name: 'Shown columns' });
  const box = menu.getByRole('checkbox', { name: 'Likelihood' });
  await box.focus();
  await page.keyboard.press('Space');
  await table.getByRole('columnheader', { name: /Likelihood/ }).waitFor();
  await page.keyboard.press('Escape');
  await menu.waitFor({ state: 'detached' });
  assert.equal(await button.evaluate((el) => el === (el.ownerDocument as unknown as { activeElement: unknown }).activeElement), true, 'Escape gives the focus back');
  const a = (await page.evaluate(AUDIT)) as Audit;
  for (const o of a.overflow) problems.push(`runs with Likelihood shown @1440: overflows sideways by ${o.by}px: ${o.what}`);
  await button.click();
  await menu.getByRole('checkbox', { name: 'Likelihood' }).uncheck();
  await page.keyboard.press('Escape');
  assert.equal(await table.getByRole('columnheader', { name: /Likelihood/ }).count(), 0);
}

async function goHash(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

test('accessibility and layout of every page: names, ids, one h1, focus rings, no overflow, keyboard navigation', { timeout: 300_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vae-studio-e2e-a11y-'));
  const { server, page, consoleErrors, call } = await openStudio(t, { dataDir, defaultTimeoutMs: 40_000 });
  // First the empty studio: the pages that list runs say what to do instead of showing nothing.
  await page.goto(server.url);
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  const emptyProblems: string[] = [];
  for (const [id, hash] of [
    ['runs', '#/runs'],
    ['compare', '#/compare'],
    ['latent', '#/latent'],
    ['export', '#/export'],
  ] as const) {
    await goHash(page, hash);
    await page.waitForTimeout(700);
    await page.screenshot({ path: path.join(SHOTS, `a11y-empty-${id}.png`) });
    const a = (await page.evaluate(AUDIT)) as Audit;
    for (const u of a.unnamed) emptyProblems.push(`empty ${id}: control without an accessible name: ${u}`);
    for (const d of a.duplicateIds) emptyProblems.push(`empty ${id}: duplicate id ${d}`);
    if (a.h1s !== 1) emptyProblems.push(`empty ${id}: ${a.h1s} h1 elements (want exactly 1)`);
  }
  assert.deepEqual(emptyProblems, [], emptyProblems.join('\n'));

  // Two runs to list, open and compare. For the README the runs train long enough to draw digits.
  const base = DOCS
    ? { epochs: 3, maxSamples: 0, batchSize: 100, optimizer: { learningRate: 0.005 }, backend: 'auto' }
    : { epochs: 1, maxSamples: 300, batchSize: 100, backend: 'auto' };
  const [runA, runB] = (await trainRuns(
    call,
    [
      { name: 'digits z8', config: { ...base, model: { hidden: [128], latentDim: 8 } } },
      { name: 'digits z2 beta 2', config: { ...base, beta: 2, model: { hidden: [128], latentDim: 2 } } },
    ],
    180_000,
  )) as [RunSummary, RunSummary];

  // Tags make the name cell taller and the table wider: the layout check sees a realistic row.
  await call('runs.update', { id: runA.id, tags: ['baseline', 'digits'] });

  await page.goto(server.url);
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();

  // Keyboard only: from the page's start Tab reaches the navigation, Enter switches pages.
  const nav = page.getByRole('navigation', { name: 'Main' });
  await page.keyboard.press('Tab');
  assert.equal(await nav.getByRole('link', { name: 'Datasets' }).evaluate((el) => el === (el.ownerDocument as unknown as { activeElement: unknown }).activeElement), true, 'the first Tab stop is the first page of the navigation');
  for (const [link, heading] of [
    ['Train', 'Train'],
    ['Runs', 'Runs'],
    ['Compute', 'Compute'],
  ] as const) {
    for (let i = 0; i < 8; i++) {
      if (await nav.getByRole('link', { name: link }).evaluate((el) => el === (el.ownerDocument as unknown as { activeElement: unknown }).activeElement)) break;
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    assert.equal(await nav.getByRole('link', { name: link }).getAttribute('aria-current'), 'page');
    // Back to the top of the navigation for the next one.
    await nav.getByRole('link', { name: 'Datasets' }).focus();
  }

  /** Pages in order; `more` opens states of the page that are hidden at first (tabs, advanced fields), audited too. */
  const pages: { id: string; open: () => Promise<void>; more?: { id: string; open: () => Promise<void> }[] }[] = [
    {
      id: 'datasets',
      open: async () => {
        await nav.getByRole('link', { name: 'Datasets' }).click();
        await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor();
      },
    },
    {
      id: 'dataset',
      open: async () => {
        await goHash(page, '#/datasets/builtin-digits');
        await page.getByTestId('samples-shown').waitFor();
      },
      more: [{ id: 'report', open: () => page.getByRole('button', { name: 'Health report' }).click() }],
    },
    {
      id: 'train',
      open: async () => {
        await nav.getByRole('link', { name: 'Train' }).click();
        await page.getByRole('heading', { name: 'Train', level: 1 }).waitFor();
      },
      more: [
        {
          id: 'advanced',
          open: async () => {
            const more = page.getByRole('button', { name: /^Advanced .* settings/, expanded: false });
            while ((await more.count()) > 0) await more.first().click();
          },
        },
      ],
    },
    {
      id: 'runs',
      open: async () => {
        await nav.getByRole('link', { name: 'Runs' }).click();
        await until('the runs are listed', async () => (await page.getByRole('table', { name: 'Runs' }).locator('tbody td.name-cell').count()) === 2);
      },
    },
    {
      id: 'run',
      open: async () => {
        await goHash(page, `#/runs/${runA.id}`);
        await until('the run detail shows run A', async () => (await page.getByRole('textbox', { name: 'Run name' }).inputValue()) === runA.name);
      },
    },
    {
      id: 'compare',
      open: async () => {
        await goHash(page, `#/compare/${runA.id},${runB.id}`);
        await page.getByRole('heading', { name: 'Compare 2 runs' }).waitFor();
        await page.getByRole('img', { name: `Prior samples of ${runB.name}` }).waitFor();
      },
    },
    {
      id: 'latent',
      open: async () => {
        await nav.getByRole('link', { name: 'Latent space' }).click();
        await page.getByRole('heading', { name: 'Latent space', level: 1 }).waitFor();
        await until('the map has points', async () => Number(await page.getByTestId('point-count').getAttribute('data-count')) > 0, 90_000);
      },
      more: ['Sliders', 'Manifold', 'Interpolate', 'Prior', 'Attribute', 'Outliers'].map((tab) => ({
        id: tab.toLowerCase(),
        open: async () => {
          await page.getByRole('tab', { name: tab }).click();
          await page.waitForTimeout(200);
        },
      })),
    },
    {
      id: 'export',
      open: async () => {
        await nav.getByRole('link', { name: 'Export' }).click();
        await page.getByRole('heading', { name: 'Export', level: 1 }).waitFor();
        await until('a checkpoint is listed', async () => /Latest/.test((await page.getByLabel('Checkpoint').textContent()) ?? ''));
      },
    },
    {
      id: 'compute',
      open: async () => {
        await nav.getByRole('link', { name: 'Compute' }).click();
        await page.getByRole('heading', { name: 'Compute', level: 1 }).waitFor();
        await until('the backends are probed', async () => (await page.locator('[data-testid^="backend-state-"]').count()) > 0, 90_000);
      },
    },
  ];

  const problems: string[] = [];
  for (const p of pages) {
    await page.setViewportSize({ width: 1440, height: 900 });
    trace(`open ${p.id}`);
    await p.open();
    await page.evaluate('document.activeElement && document.activeElement.blur && document.activeElement.blur()');
    await page.mouse.move(0, 0);
    await page.waitForTimeout(300);
    trace(`audit ${p.id}`);
    await page.screenshot({ path: path.join(SHOTS, `a11y-${p.id}-1440.png`) });
    const a = (await page.evaluate(AUDIT)) as Audit;
    for (const u of a.unnamed) problems.push(`${p.id}: control without an accessible name: ${u}`);
    for (const d of a.duplicateIds) problems.push(`${p.id}: duplicate id ${d}`);
    if (a.h1s !== 1) problems.push(`${p.id}: ${a.h1s} h1 elements (want exactly 1)`);
    for (const o of a.overflow) problems.push(`${p.id} @1440: overflows sideways by ${o.by}px: ${o.what}`);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(SHOTS, `a11y-${p.id}-1280.png`) });
    const narrow = (await page.evaluate(AUDIT)) as Audit;
    for (const o of narrow.overflow) problems.push(`${p.id} @1280: overflows sideways by ${o.by}px: ${o.what}`);
    trace(`focus ${p.id}`);
    await page.setViewportSize({ width: 1440, height: 900 });
    for (const m of p.more ?? []) {
      await m.open();
      const b = (await page.evaluate(AUDIT)) as Audit;
      for (const u of b.unnamed) problems.push(`${p.id} (${m.id}): control without an accessible name: ${u}`);
      for (const d of b.duplicateIds) problems.push(`${p.id} (${m.id}): duplicate id ${d}`);
      for (const o of b.overflow) problems.push(`${p.id} (${m.id}) @1440: overflows sideways by ${o.by}px: ${o.what}`);
    }
    for (const f of await focusOffenders(page)) problems.push(`${p.id}: no visible focus ring: ${f}`);
    if (p.id === 'runs') await checkColumnsMenu(page, problems);
  }
  await page.setViewportSize({ width: 1440, height: 900 });
  assert.deepEqual(problems, [], `accessibility or layout problems:\n${problems.join('\n')}`);

  if (DOCS) await docsShots(page, call, runA, runB);
  assert.deepEqual(consoleErrors, [], 'console errors on the page');
});

/**
 * The README's screenshots (only with VAE_STUDIO_DOCS_SHOTS=1): the latent map with a decoded image,
 * the compare page, a finished export, and a training run in progress (charts and previews).
 */
async function docsShots(page: Page, call: <T>(command: string, input: unknown) => Promise<T>, runA: RunSummary, runB: RunSummary): Promise<void> {
  const nav = page.getByRole('navigation', { name: 'Main' });
  // Latent: hover the map until the decoded image shows.
  await nav.getByRole('link', { name: 'Latent space' }).click();
  await page.getByLabel('Run', { exact: true }).selectOption(runA.id);
  await until('the map has points', async () => Number(await page.getByTestId('point-count').getAttribute('data-count')) > 0, 90_000);
  const map = page.getByRole('application', { name: /Latent map/ });
  await until('the decoder loads', async () => /Decoder: tfjs/.test((await page.getByTestId('decoder-backend').textContent()) ?? ''));
  const box = (await map.boundingBox())!;
  // Sweep rows across the middle of the map until the cursor rests on a point (its image shows too).
  const nearest = page.getByRole('img', { name: 'Dataset image of the hovered point' });
  search: for (const fy of [0.45, 0.5, 0.4, 0.55, 0.35, 0.6]) {
    for (let fx = 0.35; fx <= 0.65; fx += 0.01) {
      await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
      if ((await nearest.count()) > 0) break search;
    }
  }
  await page.getByRole('img', { name: 'Decoded image at the cursor' }).waitFor();
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(DOCS_DIR, 'screenshot-latent.png') });
  await page.mouse.move(0, 0);

  // Compare: the curves, the config diff and the samples of both runs.
  await goHash(page, `#/compare/${runA.id},${runB.id}`);
  await page.getByRole('img', { name: `Prior samples of ${runB.name}` }).waitFor();
  // Tall enough to show the prior samples under the curves and the config diff.
  await page.setViewportSize({ width: 1440, height: 1320 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(DOCS_DIR, 'screenshot-compare.png') });
  await page.setViewportSize({ width: 1440, height: 900 });

  // Export: tfjs and the report, verified.
  await nav.getByRole('link', { name: 'Export' }).click();
  await page.getByLabel('Run', { exact: true }).selectOption(runA.id);
  await until('a checkpoint is listed', async () => /Latest/.test((await page.getByLabel('Checkpoint').textContent()) ?? ''));
  const outRoot = mkdtempSync(path.join(tmpdir(), 'vae-studio-docs-export-'));
  await page.getByLabel('Output folder').fill(path.join(outRoot, 'digits z8'));
  await page.getByRole('checkbox', { name: /ONNX model/ }).check();
  await page.getByRole('button', { name: 'Export', exact: true }).click();
  await page.getByRole('table', { name: 'Verification' }).waitFor({ timeout: 120_000 });
  // A tall window: the form and the verified result in one picture.
  await page.setViewportSize({ width: 1440, height: 1480 });
  await page.getByRole('heading', { name: 'Export', level: 1 }).scrollIntoViewIfNeeded();
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(DOCS_DIR, 'screenshot-export.png') });
  await page.setViewportSize({ width: 1440, height: 900 });
  rmSync(outRoot, { recursive: true, force: true });

  // Train: a run started from the form, a few epochs in, with its charts and previews.
  await nav.getByRole('link', { name: 'Train' }).click();
  await page.getByLabel('Latent size').fill('16');
  await page.getByLabel('Hidden layers').fill('256');
  await page.getByLabel('Learning rate').fill('0.005');
  await page.getByLabel('Epochs', { exact: true }).fill('40');
  await page.getByLabel('Run name').fill('digits z16');
  await page.getByRole('button', { name: 'Start training' }).click();
  const previews = page.getByRole('region', { name: 'Previews' });
  await until('previews of epoch 8', async () => Number(await previews.getAttribute('data-epoch')) >= 8, 180_000);
  await page.mouse.move(0, 0);
  await page.evaluate('document.activeElement && document.activeElement.blur && document.activeElement.blur()');
  await page.screenshot({ path: path.join(DOCS_DIR, 'screenshot-train.png') });
  await page.getByRole('button', { name: 'Stop training' }).click();
  await until('the run stops', async () => (await call<RunSummary[]>('runs.list', {})).every((r) => r.status !== 'running'), 60_000);
}
