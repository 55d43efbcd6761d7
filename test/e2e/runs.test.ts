/**
 * End to end: the runs view and the compare view, in Chromium against the real web-mode studio
 * with real trainer processes. Three tiny runs (builtin digits, one epoch of 300 samples) and one
 * run whose trainer is killed mid-run (interrupted). Flows: sort, search, interrupted row with its
 * reason and Resume, notes + tags + rename persisting after a reload, tag filter, "Re-run with…"
 * prefilling the Train page, compare (curves, config diff, rate-distortion, sample grids) reached
 * and driven from the keyboard alone, delete with its files. Controls are found by role and
 * accessible name. Screenshots go to test-results/screenshots/runs-*.png.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunSummary } from '../../src-main/contract/index.ts';
import { openStudio, SHOTS, until as waitUntil } from '../helpers/e2e.ts';

/** The shared polling with this file's longer default wait. */
const until = (what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => waitUntil(what, check, timeoutMs);

const TINY = { epochs: 1, maxSamples: 300, batchSize: 100, model: { hidden: [64] }, backend: 'auto' };

/** The run names in the table, top to bottom. */
async function rowNames(page: Page): Promise<string[]> {
  const table = page.getByRole('table', { name: 'Runs' });
  return table.locator('tbody td.name-cell button.link').allTextContents();
}

/** Presses Tab (or Shift+Tab) until the focused element has this accessible label; keyboard only. */
async function tabTo(page: Page, label: string, back = false, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    const focused = await page.evaluate(() => {
      type El = { getAttribute(n: string): string | null; textContent: string | null; labels?: ArrayLike<{ textContent: string | null }> | null };
      const el = (globalThis as unknown as { document: { activeElement: El | null } }).document.activeElement;
      if (!el) return '';
      return (el.getAttribute('aria-label') ?? (el.labels && el.labels.length > 0 ? el.labels[0]!.textContent : el.textContent) ?? '').trim();
    });
    if (focused === label) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`Tab never reached "${label}"`);
}

test('runs view: sort, search, notes and tags, re-run, compare from the keyboard, interrupted run, delete', { timeout: 240_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vae-studio-e2e-runs-'));
  const { server, page, consoleErrors, call } = await openStudio(t, { dataDir, defaultTimeoutMs: 30_000 });

  const t0 = performance.now();
  // Three tiny runs that differ in latent size, beta and learning rate.
  const specs = [
    { name: 'tiny z2', config: { ...TINY, model: { ...TINY.model, latentDim: 2 } } },
    { name: 'tiny z8 beta4', config: { ...TINY, beta: 4, model: { ...TINY.model, latentDim: 8 } } },
    { name: 'tiny z4 lr3e-3', config: { ...TINY, optimizer: { learningRate: 0.003 }, model: { ...TINY.model, latentDim: 4 } } },
  ];
  const started: RunSummary[] = [];
  for (const s of specs) started.push(await call<RunSummary>('training.start', { datasetId: 'builtin-digits', ...s }));
  // And, alongside, a long run whose trainer process dies after its first epoch: the studio marks it interrupted.
  const doomed = await call<RunSummary>('training.start', {
    datasetId: 'builtin-digits',
    name: 'killed run',
    config: { ...TINY, epochs: 5000, model: { ...TINY.model, latentDim: 2 } },
  });
  await until('the three runs complete and the long one finishes an epoch', async () => {
    const all = await call<RunSummary[]>('runs.list', {});
    const failed = all.find((r) => r.status === 'failed');
    assert.equal(failed, undefined, `a run failed: ${failed?.error}`);
    return all.filter((r) => r.status === 'completed').length === 3 && (all.find((r) => r.id === doomed.id)?.epochsDone ?? 0) >= 1;
  }, 120_000);
  const [runA, runB, runC] = started as [RunSummary, RunSummary, RunSummary];
  t.diagnostic(`three runs trained in ${Math.round(performance.now() - t0)} ms`);
  // Once the finished runs' processes have exited, the long run's trainer is the only child trainer left.
  const trainerPids = () =>
    execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => /trainer[/\\]main|out[/\\]main[/\\]trainer/.test(l))
      .map((l) => Number(l.trim().split(/\s+/)[0]));
  await until('one trainer process is left', async () => trainerPids().length === 1, 20_000);
  process.kill(trainerPids()[0]!, 'SIGKILL');
  await until('the killed run is interrupted', async () => (await call<RunSummary>('runs.get', { id: doomed.id })).status === 'interrupted');

  t.diagnostic(`interrupted run ready at ${Math.round(performance.now() - t0)} ms`);
  await page.goto(server.url);
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
  const table = page.getByRole('table', { name: 'Runs' });
  await until('the table lists the four runs', async () => (await rowNames(page)).length === 4);

  // Every control of the toolbar and the header has a name.
  const search = page.getByRole('searchbox', { name: 'Search runs' });
  for (const name of ['Status', 'Dataset', 'Tag']) await page.getByRole('combobox', { name }).waitFor();
  await page.getByRole('checkbox', { name: 'Select all shown runs' }).waitFor();
  for (const r of [runA, runB, runC]) await page.getByRole('checkbox', { name: `Select run ${r.name}` }).waitFor();
  const compareBtn = page.getByRole('button', { name: /^Compare/ });
  assert.ok(await compareBtn.isDisabled(), 'Compare needs two runs');

  // The interrupted run: highlighted, says why, offers Resume.
  const killedRow = table.getByRole('row').filter({ hasText: 'killed run' });
  await killedRow.getByText('interrupted', { exact: true }).waitFor();
  assert.match((await killedRow.locator('.why').textContent()) ?? '', /trainer process/);
  await killedRow.getByRole('button', { name: 'Resume run killed run' }).waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'runs-table.png') });
  // Its detail says why it ended and offers Resume too.
  await page.getByRole('button', { name: 'Open run killed run' }).click();
  const why = page.getByRole('note', { name: 'Why the run ended' });
  assert.match((await why.textContent()) ?? '', /Interrupted[\s\S]*trainer process[\s\S]*latest checkpoint \(epoch \d+\)/);
  await page.getByRole('region', { name: 'Run details' }).getByRole('button', { name: 'Resume', exact: true }).waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'runs-interrupted.png') });
  await page.getByRole('button', { name: 'Close run details' }).click();

  // Sort by latent size: descending first, then ascending; aria-sort says which.
  const latentHeader = table.getByRole('columnheader', { name: /Latent/ });
  await page.getByRole('button', { name: 'Sort by Latent size' }).click();
  assert.equal(await latentHeader.getAttribute('aria-sort'), 'descending');
  assert.deepEqual((await rowNames(page)).slice(0, 2), ['tiny z8 beta4', 'tiny z4 lr3e-3']);
  await page.getByRole('button', { name: 'Sort by Latent size' }).click();
  assert.equal(await latentHeader.getAttribute('aria-sort'), 'ascending');
  assert.equal((await rowNames(page)).at(-1), 'tiny z8 beta4');
  await page.getByRole('button', { name: 'Sort by Name' }).click();
  assert.equal(await latentHeader.getAttribute('aria-sort'), 'none');
  assert.deepEqual(await rowNames(page), ['killed run', 'tiny z2', 'tiny z4 lr3e-3', 'tiny z8 beta4']);

  // Search: a config field, then free text; the status filter.
  await search.fill('latentDim=8');
  await until('only the z8 run is shown', async () => (await rowNames(page)).join() === 'tiny z8 beta4');
  await search.fill('tiny lr3e');
  await until('only the lr run is shown', async () => (await rowNames(page)).join() === 'tiny z4 lr3e-3');
  await search.fill('');
  await page.getByRole('combobox', { name: 'Status' }).selectOption('interrupted');
  await until('only the interrupted run is shown', async () => (await rowNames(page)).join() === 'killed run');
  await page.getByRole('combobox', { name: 'Status' }).selectOption('');

  // Detail of run A: rename, notes (saved on blur), tags (Enter adds, Backspace removes).
  await page.getByRole('button', { name: `Open run ${runA.name}` }).click();
  const detail = page.getByRole('region', { name: 'Run details' });
  const nameBox = detail.getByRole('textbox', { name: 'Run name' });
  await until('the detail shows run A', async () => (await nameBox.inputValue()) === runA.name);
  await nameBox.fill('tiny z2 renamed');
  await nameBox.press('Enter');
  await detail.getByText('Name saved', { exact: true }).waitFor();
  const notes = detail.getByRole('textbox', { name: 'Notes' });
  await notes.fill('Two latent dimensions: blurry but a clean map.');
  await notes.press('Control+Enter');
  await detail.getByText('Notes saved', { exact: true }).waitFor();
  const tagBox = detail.getByRole('textbox', { name: 'Add tag' });
  await tagBox.fill('baseline');
  await tagBox.press('Enter');
  await detail.getByRole('button', { name: 'Remove tag baseline' }).waitFor();
  await tagBox.fill('oops');
  await tagBox.press('Enter');
  await detail.getByRole('button', { name: 'Remove tag oops' }).waitFor();
  await tagBox.press('Backspace');
  await until('Backspace removed the last tag', async () => (await detail.getByRole('button', { name: 'Remove tag oops' }).count()) === 0);
  await tagBox.fill('2d');
  await tagBox.press('Enter');
  await detail.getByRole('button', { name: 'Remove tag 2d' }).waitFor();
  await page.waitForTimeout(300);
  // Every button of the detail has a name.
  for (const name of ['Re-run with…', 'Evaluate', 'Delete', 'Close run details']) await detail.getByRole('button', { name, exact: true }).waitFor();
  // Evaluate: the result joins the run's evaluations table (-ELBO, IWAE bound, PSNR, SSIM).
  await detail.getByRole('button', { name: 'Evaluate', exact: true }).click();
  const evals = detail.getByRole('table', { name: /^Evaluations of / });
  await evals.waitFor({ timeout: 60_000 });
  const evalCells = await evals.getByRole('row').nth(1).getByRole('cell').allTextContents();
  assert.equal(evalCells.length, 8, evalCells.join(' | '));
  assert.ok(Number(evalCells[3]) > 0, `a positive -ELBO: ${evalCells.join(' | ')}`);
  assert.match(evalCells[4]!, /^\d+(\.\d+)? ± \d/);

  // After a reload (the route keeps the run open) the edits are there, from main.
  await page.reload();
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  await until('the renamed run is open again', async () => (await nameBox.inputValue()) === 'tiny z2 renamed');
  assert.equal(await notes.inputValue(), 'Two latent dimensions: blurry but a clean map.');
  await detail.getByRole('button', { name: 'Remove tag baseline' }).waitFor();
  await detail.getByRole('button', { name: 'Remove tag 2d' }).waitFor();
  assert.equal(await detail.getByRole('button', { name: 'Remove tag oops' }).count(), 0);
  const stored = await call<RunSummary>('runs.get', { id: runA.id });
  assert.deepEqual({ name: stored.name, tags: stored.tags }, { name: 'tiny z2 renamed', tags: ['baseline', '2d'] });
  await page.screenshot({ path: path.join(SHOTS, 'runs-detail.png') });

  // The tag filter and the search find it by tag.
  await page.getByRole('combobox', { name: 'Tag' }).selectOption('baseline');
  await until('the tag filter keeps run A', async () => (await rowNames(page)).join() === 'tiny z2 renamed');
  await page.getByRole('combobox', { name: 'Tag' }).selectOption('');
  await search.fill('clean map');
  await until('notes are searched', async () => (await rowNames(page)).join() === 'tiny z2 renamed');
  await search.fill('');

  // Re-run with…: the Train page, prefilled with run A's dataset and settings.
  await detail.getByRole('button', { name: 'Re-run with…' }).click();
  await page.getByRole('heading', { name: 'Train', level: 1 }).or(page.getByLabel('Latent size')).first().waitFor();
  assert.equal(await page.getByLabel('Latent size').inputValue(), '2');
  assert.equal(await page.getByLabel('Max samples').inputValue(), '300');
  assert.equal(await page.getByLabel('Dataset').inputValue(), 'builtin-digits');
  await page.screenshot({ path: path.join(SHOTS, 'runs-rerun-prefilled.png') });

  // Keyboard only from here to the compare view: tick A and B, reach Compare, press Enter.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).focus();
  await page.keyboard.press('Enter');
  await until('the runs page is back', async () => (await rowNames(page)).length === 4);
  await tabTo(page, 'Select run tiny z2 renamed');
  await page.keyboard.press('Space');
  await tabTo(page, `Select run ${runB.name}`);
  await page.keyboard.press('Space');
  await tabTo(page, 'Compare 2 runs', true);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Compare 2 runs' }).waitFor();
  assert.match(page.url(), new RegExp(`#/compare/${runA.id}(%2C|,)${runB.id}`));

  // Curves: one series per run, each with points; the metric and x axis follow the arrow keys.
  const curves = page.getByRole('region', { name: 'Curves' });
  const chart = curves.locator('figure.chart');
  await until('both curves have points', async () => Number(await chart.getAttribute('data-points')) > 0);
  await curves.getByRole('button', { name: 'Show tiny z2 renamed' }).waitFor();
  await curves.getByRole('button', { name: `Show ${runB.name}` }).waitFor();
  await tabTo(page, '-ELBO');
  await page.keyboard.press('ArrowRight');
  assert.ok(await curves.getByRole('radio', { name: 'Reconstruction' }).isChecked(), 'ArrowRight picks the next metric');
  await tabTo(page, 'Step');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.ok(await curves.getByRole('radio', { name: 'Wall time' }).isChecked());
  assert.match((await curves.getByRole('img').first().textContent()) ?? '', /x axis wall time/);
  await curves.getByRole('radio', { name: 'Val -ELBO' }).check();
  await curves.getByRole('radio', { name: 'Epoch' }).check();
  await until('the validation curve has its epoch points', async () => Number(await chart.getAttribute('data-points')) >= 1);

  // Config diff: exactly what differs (latent size and beta), nothing that is the same.
  const diff = page.getByRole('table', { name: 'Config differences' });
  const diffRows = await diff.locator('tbody tr th').allTextContents();
  assert.deepEqual(diffRows.map((s) => s.replace(/\s+/g, ' ').trim()).sort(), ['Model Latent size', 'Objective & schedules β (KL weight)'].sort());
  await diff.getByRole('row', { name: /Latent size/ }).getByRole('cell', { name: '8' }).waitFor();

  // Rate-distortion: one point per run with finite KL and reconstruction.
  const rd = page.getByRole('table', { name: 'Rate and distortion per run' });
  for (const name of ['tiny z2 renamed', runB.name]) {
    const cells = await rd.getByRole('row', { name: new RegExp(name) }).getByRole('cell').allTextContents();
    assert.equal(cells.length, 3);
    for (const c of cells) assert.ok(Number.isFinite(Number(c)), `${name}: ${cells.join(', ')}`);
  }
  await page.getByRole('img', { name: /Rate-distortion scatter/ }).waitFor();

  // Prior samples side by side (the previews of the latest epoch).
  await page.getByRole('img', { name: 'Prior samples of tiny z2 renamed' }).waitFor();
  await page.getByRole('img', { name: `Prior samples of ${runB.name}` }).waitFor();
  await page.getByText(/runs of different latent sizes cannot share z/).waitFor();
  await curves.getByRole('radio', { name: '-ELBO', exact: true }).check();
  await curves.getByRole('radio', { name: 'Step' }).check();
  await page.setViewportSize({ width: 1440, height: 1500 });
  await page.screenshot({ path: path.join(SHOTS, 'runs-compare.png'), fullPage: true });
  await page.setViewportSize({ width: 1440, height: 900 });

  t.diagnostic(`compare checked at ${Math.round(performance.now() - t0)} ms`);
  // Delete run C with its files, after a confirmation.
  await page.getByRole('button', { name: 'Back to runs' }).click();
  await until('the runs page is back', async () => (await rowNames(page)).length === 4);
  const checkpoints = path.join(dataDir, 'checkpoints', runC.id);
  assert.ok(existsSync(checkpoints), 'run C has checkpoints before the delete');
  await page.getByRole('checkbox', { name: 'Select run tiny z2 renamed' }).uncheck();
  await page.getByRole('checkbox', { name: `Select run ${runB.name}` }).uncheck();
  await page.getByRole('checkbox', { name: `Select run ${runC.name}` }).check();
  await page.getByRole('button', { name: 'Delete selected runs' }).click();
  const dialog = page.getByRole('dialog', { name: `Delete “${runC.name}”?` });
  await dialog.waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'runs-delete-confirm.png') });
  await dialog.getByRole('button', { name: 'Delete run' }).click();
  await until('run C left the table', async () => !(await rowNames(page)).includes(runC.name));
  assert.ok(!existsSync(checkpoints), 'its checkpoints are gone');
  const left = await call<RunSummary[]>('runs.list', {});
  assert.ok(!left.some((r) => r.id === runC.id));

  // Resume the interrupted run from the table; it trains again (then stop it).
  await table.getByRole('button', { name: 'Resume run killed run' }).click();
  await until('the resumed run trains', async () => (await call<RunSummary>('runs.get', { id: doomed.id })).status === 'running');
  await table.getByRole('button', { name: 'Stop run killed run' }).click();
  await until('the resumed run stops', async () => (await call<RunSummary>('runs.get', { id: doomed.id })).status === 'stopped');

  assert.deepEqual(consoleErrors, []);
});
