import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunSummary } from '../../../src-main/contract/index.ts';
import { DEFAULT_CONFIG } from '../../../src-main/contract/index.ts';
import { TOKEN_STORAGE_KEY, socketUrl, takeToken } from '../../../src-renderer/lib/api/token.ts';
import type { ConnectionStatus } from '../../../src-renderer/lib/api/transport.ts';
import { gridImage, previewGrid, sampleToRgba } from '../../../src-renderer/lib/util/pixels.ts';
import { onReconnect } from '../../../src-renderer/lib/util/reconnect.ts';
import { DEFAULT_ROUTE, parseRoute, routeHash } from '../../../src-renderer/lib/util/route.ts';
import { runDuration, sortRuns } from '../../../src-renderer/lib/util/runs.ts';
import { formatDuration, formatLoss } from '../../../src-renderer/lib/util/format.ts';

function memoryStorage(init: Record<string, string> = {}) {
  const m = new Map(Object.entries(init));
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), map: m };
}

test('takeToken saves the URL token, strips it from the address bar and keeps the rest', () => {
  const storage = memoryStorage();
  const replaced: string[] = [];
  const history = { replaceState: (_d: unknown, _u: string, url?: string) => void replaced.push(url ?? '') };
  const token = takeToken('http://127.0.0.1:5170/?token=s3cr%2Bt&x=1#/runs/abc', storage, history);
  assert.equal(token, 's3cr+t');
  assert.equal(storage.map.get(TOKEN_STORAGE_KEY), 's3cr+t');
  assert.deepEqual(replaced, ['/?x=1#/runs/abc']);
});

test('takeToken falls back to sessionStorage after a reload, else null', () => {
  const history = { replaceState: () => assert.fail('nothing to strip') };
  assert.equal(takeToken('http://127.0.0.1:5170/#/train', memoryStorage({ [TOKEN_STORAGE_KEY]: 'kept' }), history), 'kept');
  assert.equal(takeToken('http://127.0.0.1:5170/', memoryStorage(), history), null);
});

test('socketUrl targets /ws on the page host, wss under https, token encoded', () => {
  assert.equal(socketUrl('http://127.0.0.1:5170/#/x', 'a+b/c'), 'ws://127.0.0.1:5170/ws?token=a%2Bb%2Fc');
  assert.equal(socketUrl('https://studio.example:8443/', 't'), 'wss://studio.example:8443/ws?token=t');
  assert.equal(socketUrl('http://localhost:1/', null), 'ws://localhost:1/ws');
});

test('routes parse and print', () => {
  assert.deepEqual(parseRoute('#/runs/run-1%2F2'), { page: 'runs', id: 'run-1/2' });
  assert.deepEqual(parseRoute('#/train'), { page: 'train', id: null });
  assert.deepEqual(parseRoute(''), DEFAULT_ROUTE);
  assert.deepEqual(parseRoute('#/nowhere'), DEFAULT_ROUTE);
  assert.equal(routeHash({ page: 'runs', id: 'a/b' }), '#/runs/a%2Fb');
  assert.deepEqual(parseRoute(routeHash({ page: 'runs', id: 'a b' })), { page: 'runs', id: 'a b' });
});

test('sampleToRgba: grey replicated, RGB copied, opaque', () => {
  assert.deepEqual(Array.from(sampleToRgba([0, 128, 255, 7], 2, 2, 1)), [0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 7, 7, 7, 255]);
  assert.deepEqual(Array.from(sampleToRgba([1, 2, 3], 1, 1, 3)), [1, 2, 3, 255]);
  assert.throws(() => sampleToRgba([1], 1, 1, 4), /channel/);
  assert.throws(() => sampleToRgba([1, 2], 2, 2, 1), /expected 4/);
});

test('previewGrid places samples row by row with transparent gaps', () => {
  const samples = [10, 20, 30].map((v, index) => ({ index, label: null, pixels: [v, v, v, v] }));
  const g = previewGrid({ width: 2, height: 2, channels: 1, samples }, 2, 1);
  assert.deepEqual([g.width, g.height, g.columns, g.rows], [5, 5, 2, 2]);
  const at = (x: number, y: number) => Array.from(g.data.subarray((y * g.width + x) * 4, (y * g.width + x) * 4 + 4));
  assert.deepEqual(at(0, 0), [10, 10, 10, 255]);
  assert.deepEqual(at(2, 0), [0, 0, 0, 0], 'gap column');
  assert.deepEqual(at(3, 1), [20, 20, 20, 255]);
  assert.deepEqual(at(1, 4), [30, 30, 30, 255]);
  assert.deepEqual(at(4, 4), [0, 0, 0, 0], 'missing fourth sample');
});

test('sampleToRgba scales values in [0, 1] by 255; gridImage fills gaps with an opaque colour and skips empty cells', () => {
  assert.deepEqual(Array.from(sampleToRgba([0.5, 0, 1], 1, 1, 3, 255)), [128, 0, 255, 255]);
  const g = gridImage(3, 3, 1, 1, (k) => (k === 1 ? null : sampleToRgba([k * 100], 1, 1, 1)), 1, [1, 2, 3]);
  assert.deepEqual([g.width, g.height, g.columns, g.rows], [5, 1, 3, 1]);
  assert.deepEqual(Array.from(g.data), [0, 0, 0, 255, 1, 2, 3, 255, 1, 2, 3, 255, 1, 2, 3, 255, 200, 200, 200, 255]);
});

test('onReconnect fires only when a lost link comes back', () => {
  let listener: (s: ConnectionStatus) => void = () => {};
  const src = {
    status: { state: 'connecting', attempts: 0, retryInMs: null } as ConnectionStatus,
    onStatus: (l: (s: ConnectionStatus) => void) => ((listener = l), () => {}),
  };
  let n = 0;
  onReconnect(src, () => n++);
  const s = (state: ConnectionStatus['state']) => listener({ state, attempts: 0, retryInMs: null });
  s('connected');
  assert.equal(n, 0, 'the first connection is not a reconnect');
  s('reconnecting');
  s('reconnecting');
  s('connected');
  assert.equal(n, 1);
  s('connected');
  assert.equal(n, 1);
});

test('runs sort newest first; durations of finished and running runs', () => {
  const run = (id: string, createdAt: number, extra: Partial<RunSummary> = {}): RunSummary => ({
    id,
    name: id,
    datasetId: 'd',
    datasetName: 'D',
    status: 'completed',
    config: DEFAULT_CONFIG,
    seed: 42,
    backend: null,
    device: null,
    appVersion: '0',
    tfjsVersion: null,
    createdAt,
    startedAt: null,
    finishedAt: null,
    error: null,
    epochsDone: 0,
    last: null,
    notes: '',
    tags: [],
    paused: false,
    ...extra,
  });
  assert.deepEqual(sortRuns([run('a', 1), run('c', 3), run('b', 3)]).map((r) => r.id), ['c', 'b', 'a']);
  assert.equal(runDuration(run('a', 0, { startedAt: 1000, finishedAt: 4000 }), 99_999), 3000);
  assert.equal(runDuration(run('a', 0, { startedAt: 1000, status: 'running' }), 6000), 5000);
  assert.equal(runDuration(run('a', 0, { startedAt: 1000, status: 'interrupted' }), 6000), null);
  assert.equal(runDuration(run('a', 0), 6000), null);
});

test('formatting', () => {
  assert.equal(formatDuration(59_999), '59s');
  assert.equal(formatDuration(61_000), '1m 01s');
  assert.equal(formatDuration(3_726_000), '1h 02m');
  assert.equal(formatDuration(null), '—');
  assert.equal(formatLoss(123.456), '123.46');
  assert.equal(formatLoss(1.23456), '1.235');
  assert.equal(formatLoss(null), '—');
});
