import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SamplePage } from '../../../src-main/contract/index.ts';
import { bars, composeGrid, groupSkipped, imbalance } from '../../../src-renderer/features/datasets/report-view.ts';
import { decodeBase64 } from '../../../src-renderer/lib/util/base64.ts';
import { gridLayout, SamplePager, visibleRows } from '../../../src-renderer/features/datasets/virtual-grid.ts';

test('skipped files are grouped by reason, largest group first', () => {
  const g = groupSkipped([
    { path: 'a.jpg', reason: 'corrupt', detail: 'bad header' },
    { path: 'b.txt', reason: 'unsupported', detail: '.txt' },
    { path: 'c.txt', reason: 'unsupported', detail: '.txt' },
    { path: 'd.png', reason: 'empty', detail: '0 bytes' },
  ]);
  assert.deepEqual(g.map((x) => [x.reason, x.files.length]), [['unsupported', 2], ['corrupt', 1], ['empty', 1]]);
  assert.equal(g[1]!.title, 'Corrupt (could not be decoded)');
  assert.deepEqual(groupSkipped([]), []);
});

test('bars scale to the largest bin; imbalance is max/min', () => {
  const b = bars([{ label: 'a', count: 50 }, { label: 'b', count: 25 }, { label: 'c', count: 25 }]);
  assert.deepEqual(b.map((x) => x.pct), [100, 50, 50]);
  assert.deepEqual(b.map((x) => x.share), [0.5, 0.25, 0.25]);
  assert.equal(imbalance([{ label: 'a', count: 50 }, { label: 'b', count: 25 }]), 2);
  assert.equal(imbalance([]), null);
  assert.deepEqual(bars([{ label: 'z', count: 0 }]).map((x) => x.pct), [0]);
});

test('composeGrid places grey and RGB samples with transparent gaps', () => {
  const grey = composeGrid({ width: 2, height: 1, channels: 1, samples: [{ pixels: new Uint8Array([10, 20]) }, { pixels: [30, 40] }] }, 2, 1);
  assert.equal(grey.width, 5);
  assert.equal(grey.height, 1);
  assert.deepEqual([...grey.data], [10, 10, 10, 255, 20, 20, 20, 255, 0, 0, 0, 0, 30, 30, 30, 255, 40, 40, 40, 255]);
  const rgb = composeGrid({ width: 1, height: 1, channels: 3, samples: [{ pixels: [1, 2, 3] }] }, 8);
  assert.deepEqual([...rgb.data], [1, 2, 3, 255]);
  assert.deepEqual([...decodeBase64(Buffer.from([0, 127, 255]).toString('base64'))], [0, 127, 255]);
});

test('visible rows: only what the viewport shows, plus overscan, within bounds', () => {
  const layout = gridLayout(70_000, 800, 72, 6);
  assert.equal(layout.columns, 10); // (800 + 6) / 78 = 10.3
  assert.equal(layout.rows, 7000);
  assert.equal(layout.height, 7000 * 78 - 6);
  const top = visibleRows(layout, 70_000, 0, 600, 2);
  assert.deepEqual(top, { start: 0, end: 10, first: 0, last: 100 }); // ceil(600/78) = 8, + 2
  const mid = visibleRows(layout, 70_000, 78 * 3000 + 10, 600, 2);
  assert.deepEqual(mid, { start: 2998, end: 3010, first: 29_980, last: 30_100 });
  const end = visibleRows(layout, 70_000, layout.height, 600, 2);
  assert.equal(end.end, 7000);
  assert.equal(end.last, 70_000);
  // The last row may be partial.
  const odd = gridLayout(25, 800, 72, 6);
  assert.equal(odd.rows, 3);
  assert.equal(visibleRows(odd, 25, 0, 600).last, 25);
  assert.deepEqual(visibleRows(gridLayout(0, 800, 72, 6), 0, 0, 600), { start: 0, end: 0, first: 0, last: 0 });
});

/** A fake dataset of `n` samples (label = index % 3) served page by page, answers released by the test. */
function fakeSource(n: number) {
  const calls: { offset: number; limit: number; label: number | null }[] = [];
  const pending: (() => void)[] = [];
  const fetch = (offset: number, limit: number, label: number | null): Promise<SamplePage> => {
    calls.push({ offset, limit, label });
    const indices = Array.from({ length: n }, (_, i) => i).filter((i) => label === null || i % 3 === label);
    const slice = indices.slice(offset, offset + limit);
    return new Promise((resolve) =>
      pending.push(() =>
        resolve({
          datasetId: 'd',
          width: 1,
          height: 1,
          channels: 1,
          total: indices.length,
          samples: slice.map((i) => ({ index: i, label: i % 3, data: Buffer.from([i % 256]).toString('base64') })),
        }),
      ),
    );
  };
  const release = async () => {
    while (pending.length) {
      pending.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { fetch, calls, release };
}

test('pager: fetches only the pages in view, the latest scroll position wins, filters restart', async () => {
  const src = fakeSource(70_000);
  const pager = new SamplePager(src.fetch, { pageSize: 100, concurrency: 2, maxPages: 8 });
  let notified = 0;
  pager.subscribe(() => notified++);
  pager.setLabel(null);
  assert.deepEqual(src.calls, [{ offset: 0, limit: 100, label: null }]);
  await src.release();
  assert.equal(pager.total, 70_000);
  assert.equal(pager.get(5)?.index, 5);
  assert.equal(pager.get(150), undefined);

  // A fling: many positions wanted in a row; only the last one's pages are fetched.
  for (let pos = 1000; pos < 60_000; pos += 1000) pager.want(pos, pos + 120);
  await src.release();
  const fetched = src.calls.slice(1).map((c) => c.offset);
  assert.ok(fetched.includes(59_000) && fetched.includes(59_100), `fetched ${fetched.join(',')}`);
  assert.ok(fetched.length <= 6, `a fling fetched ${fetched.length} pages`);
  assert.equal(pager.get(59_050)?.index, 59_050);
  assert.ok(pager.cachedPages <= 8);
  assert.ok(notified > 0);

  // Filter by label 2: positions now index the filtered list; the old answers are ignored.
  pager.want(0, 50);
  pager.setLabel(2);
  await src.release();
  assert.equal(pager.total, Math.ceil((70_000 - 2) / 3));
  assert.equal(pager.get(0)?.index, 2);
  assert.equal(pager.get(1)?.index, 5);
  assert.equal(pager.get(0)?.label, 2);
  assert.equal(src.calls.at(-1)!.label, 2);
});

test('pager: a failing page is reported, not retried in a loop', async () => {
  let n = 0;
  const pager = new SamplePager(async () => {
    n++;
    throw new Error('NOT_FOUND');
  });
  pager.setLabel(null);
  await new Promise((r) => setImmediate(r));
  assert.equal(pager.error, 'NOT_FOUND');
  assert.equal(n, 1);
});
