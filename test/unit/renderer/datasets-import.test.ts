import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImportPreview, Result } from '../../../src-main/contract/index.ts';
import { Client } from '../../../src-renderer/lib/api/client.ts';
import { TransportError } from '../../../src-renderer/lib/api/transport.ts';
import type { ConnectionStatus, EventListener, Transport } from '../../../src-renderer/lib/api/transport.ts';
import { ImportFlow, toPreprocess, DEFAULT_FORM } from '../../../src-renderer/features/datasets/import-flow.ts';
import type { Preparer } from '../../../src-renderer/features/datasets/import-flow.ts';
import { deleteDataset, deleteRunsLabel } from '../../../src-renderer/features/datasets/delete-flow.ts';

/** A scripted transport: a handler per command, calls recorded, events pushed on demand. */
class FakeTransport implements Transport {
  readonly description = 'fake';
  readonly status: ConnectionStatus = { state: 'connected', attempts: 0, retryInMs: null };
  calls: { command: string; input: Record<string, unknown> }[] = [];
  listeners = new Set<EventListener>();
  constructor(readonly handlers: Record<string, (input: Record<string, unknown>) => Promise<Result<unknown>> | Result<unknown>>) {}
  // (a handler may also reject, as the WebSocket transport does when a request times out)
  async invoke(command: string, input: unknown): Promise<Result<unknown>> {
    this.calls.push({ command, input: input as Record<string, unknown> });
    const h = this.handlers[command];
    if (!h) return { ok: false, error: { code: 'UNKNOWN_COMMAND', message: command } };
    return h(input as Record<string, unknown>);
  }
  subscribe(l: EventListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  onStatus(): () => void {
    return () => {};
  }
  emit(event: string, payload: unknown): void {
    for (const l of this.listeners) l(event, payload);
  }
  count(command: string): number {
    return this.calls.filter((c) => c.command === command).length;
  }
}

/** Manual timers: the test decides when the debounce fires. */
function manualTimers() {
  const pending = new Map<number, () => void>();
  let next = 1;
  return {
    setTimeout: (cb: () => void) => {
      const id = next++;
      pending.set(id, cb);
      return id;
    },
    clearTimeout: (h: unknown) => void pending.delete(h as number),
    flush() {
      const cbs = [...pending.values()];
      pending.clear();
      for (const cb of cbs) cb();
    },
    get size() {
      return pending.size;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

function preview(found: number, width = 28): ImportPreview {
  return { width, height: width, channels: 1, format: 'images', found, complete: true, labels: ['a', 'b'], samples: [{ source: 'a/1.png', label: 0, data: Buffer.alloc(width * width).toString('base64') }], skipped: [] };
}

const pathsPreparer: Preparer = {
  prepare: async (s) => ({ paths: s.kind === 'paths' ? s.paths : [], uploadId: null }),
  discard: async () => {},
};

test('toPreprocess maps the form to the contract and refuses an out-of-range custom size', () => {
  assert.deepEqual(toPreprocess(DEFAULT_FORM), { ok: true, value: { resize: 'pad', channels: 'auto', background: '#000000', valueRange: '0..1' } });
  assert.deepEqual(toPreprocess({ ...DEFAULT_FORM, size: '32' }), { ok: true, value: { size: 32, resize: 'pad', channels: 'auto', background: '#000000', valueRange: '0..1' } });
  const custom = toPreprocess({ ...DEFAULT_FORM, size: 'custom', customSize: 300 });
  assert.equal(custom.ok, false);
  assert.equal(!custom.ok && custom.field, 'customSize');
  assert.equal(toPreprocess({ ...DEFAULT_FORM, size: 'custom', customSize: 48 }).ok, true);
  assert.equal(toPreprocess({ ...DEFAULT_FORM, background: 'red' }).ok, false);
});

test('preview: immediate on open, debounced on changes, stale answers dropped', async () => {
  const answers: ((r: Result<unknown>) => void)[] = [];
  const t = new FakeTransport({
    'datasets.previewImport': () => new Promise((resolve) => answers.push(resolve)),
  });
  const timers = manualTimers();
  const flow = new ImportFlow(new Client(t), { kind: 'paths', paths: ['/data/digits'] }, { preparer: pathsPreparer, ...timers });
  await tick();
  assert.equal(flow.view.phase, 'ready');
  assert.equal(t.count('datasets.previewImport'), 1, 'the first preview is asked at once');
  assert.deepEqual(t.calls[0]!.input, { paths: ['/data/digits'], preprocess: { resize: 'pad', channels: 'auto', background: '#000000', valueRange: '0..1' }, count: 16 });

  // Three quick changes: one request, with the last values, once the debounce fires.
  flow.setForm({ size: '32' });
  flow.setForm({ channels: 'rgb' });
  flow.setForm({ size: '64' });
  assert.equal(t.count('datasets.previewImport'), 1);
  assert.equal(flow.view.preview.status, 'loading');
  timers.flush();
  assert.equal(t.count('datasets.previewImport'), 2);
  assert.deepEqual((t.calls[1]!.input.preprocess as Record<string, unknown>).size, 64);
  assert.equal((t.calls[1]!.input.preprocess as Record<string, unknown>).channels, 'rgb');

  // The newer answer arrives first; the older must not overwrite it.
  answers[1]!({ ok: true, value: preview(10, 64) });
  await tick();
  answers[0]!({ ok: true, value: preview(3, 28) });
  await tick();
  const shown = flow.view.preview as { status: string; preview?: ImportPreview };
  assert.equal(shown.status, 'ready');
  assert.equal(shown.preview?.width, 64);

  // An invalid form asks nothing and says why.
  flow.setForm({ size: 'custom', customSize: 4 });
  timers.flush();
  assert.equal(t.count('datasets.previewImport'), 2);
  assert.equal(flow.view.formError?.field, 'customSize');
  assert.equal(flow.canImport, false);
  flow.dispose();
});

test('import: progress events of its own job only, then the report; the upload is discarded', async () => {
  let finish: (r: Result<unknown>) => void = () => {};
  const t = new FakeTransport({
    'datasets.previewImport': () => ({ ok: true, value: preview(3) }),
    'datasets.import': () => new Promise((r) => (finish = r)),
  });
  const discarded: string[] = [];
  const uploads: Preparer = {
    prepare: async (_s, onProgress) => {
      onProgress({ files: 2, totalFiles: 2, bytes: 20, totalBytes: 20 });
      return { paths: ['/data/uploads/u1/digits'], uploadId: 'u1' };
    },
    discard: async (id) => void discarded.push(id),
  };
  const file = { name: 'a.png', size: 10 };
  const flow = new ImportFlow(new Client(t), { kind: 'files', files: [{ file, path: 'digits/a/a.png' }, { file, path: 'digits/b/b.png' }] }, { preparer: uploads, newJobId: () => 'job-1', ...manualTimers() });
  assert.equal(flow.view.phase, 'uploading');
  assert.equal(flow.view.name, 'digits');
  assert.deepEqual(flow.view.sources, [{ name: 'digits', folder: true, files: 2, bytes: 20 }]);
  await tick();
  assert.equal(flow.view.phase, 'ready');
  assert.deepEqual(flow.view.upload, { files: 2, totalFiles: 2, bytes: 20, totalBytes: 20 });
  flow.setName('  My digits ');
  const done = flow.start();
  assert.equal(flow.view.phase, 'importing');
  const call = t.calls.find((c) => c.command === 'datasets.import')!;
  assert.deepEqual(call.input, { paths: ['/data/uploads/u1/digits'], preprocess: { resize: 'pad', channels: 'auto', background: '#000000', valueRange: '0..1' }, jobId: 'job-1', name: 'My digits' });

  t.emit('datasets.importProgress', { jobId: 'other', phase: 'decoding', done: 99, total: 100, current: null });
  assert.equal(flow.view.progress?.done, 0, 'another job is ignored');
  t.emit('datasets.importProgress', { jobId: 'job-1', phase: 'decoding', done: 1, total: 2, current: 'a/a.png' });
  assert.deepEqual(flow.view.progress, { jobId: 'job-1', phase: 'decoding', done: 1, total: 2, current: 'a/a.png' });

  const dataset = { id: 'd1', name: 'My digits', kind: 'imported', source: '/x', count: 2, width: 28, height: 28, channels: 1, labels: ['a', 'b'], createdAt: 1 };
  finish({ ok: true, value: { dataset, report: { datasetId: 'd1', imported: 2 } } });
  await done;
  assert.equal(flow.view.phase, 'done');
  assert.equal(flow.view.result?.dataset.id, 'd1');
  assert.deepEqual(discarded, ['u1'], 'the uploaded copy is removed once imported');
  flow.dispose();
});

test('cancel: asks main to cancel the job; CANCELLED ends as cancelled and the import can run again', async () => {
  let finish: (r: Result<unknown>) => void = () => {};
  const t = new FakeTransport({
    'datasets.previewImport': () => ({ ok: true, value: preview(3) }),
    'datasets.import': () => new Promise((r) => (finish = r)),
    'datasets.cancelImport': (input) => {
      finish({ ok: false, error: { code: 'CANCELLED', message: 'cancelled' } });
      return { ok: true, value: { jobId: input.jobId, cancelled: true } };
    },
  });
  const flow = new ImportFlow(new Client(t), { kind: 'paths', paths: ['/d'] }, { preparer: pathsPreparer, newJobId: () => 'job-9', ...manualTimers() });
  await tick();
  const done = flow.start();
  await flow.cancel();
  await done;
  assert.deepEqual(t.calls.find((c) => c.command === 'datasets.cancelImport')!.input, { jobId: 'job-9' });
  assert.equal(flow.view.phase, 'cancelled');
  assert.equal(flow.view.error, null);
  assert.equal(flow.canImport, true);
  flow.dispose();
});

test('a failed import keeps the message; a failed upload says so', async () => {
  const t = new FakeTransport({
    'datasets.previewImport': () => ({ ok: true, value: preview(3) }),
    'datasets.import': () => ({ ok: false, error: { code: 'INVALID_INPUT', message: 'no images found' } }),
  });
  const flow = new ImportFlow(new Client(t), { kind: 'paths', paths: ['/d'] }, { preparer: pathsPreparer, ...manualTimers() });
  await tick();
  await flow.start();
  assert.equal(flow.view.phase, 'failed');
  assert.equal(flow.view.error, 'no images found');

  const broken: Preparer = { prepare: async () => Promise.reject(new Error('HTTP 413')), discard: async () => {} };
  const f2 = new ImportFlow(new Client(t), { kind: 'files', files: [{ file: { name: 'x', size: 1 }, path: 'x' }] }, { preparer: broken, ...manualTimers() });
  await tick();
  assert.equal(f2.view.phase, 'failed');
  assert.match(f2.view.error ?? '', /upload.*HTTP 413/);
  flow.dispose();
  f2.dispose();
});

test('delete: CONFLICT becomes an offer naming the runs; deleteRuns is passed through', async () => {
  let refuse = true;
  const t = new FakeTransport({
    'datasets.delete': (input) =>
      refuse && !input.deleteRuns
        ? { ok: false, error: { code: 'CONFLICT', message: '2 runs use this dataset' } }
        : { ok: true, value: { id: input.id, deletedRuns: input.deleteRuns ? ['r1', 'r2'] : [] } },
    'runs.list': () => ({ ok: true, value: [{ datasetId: 'd1' }, { datasetId: 'd2' }, { datasetId: 'd1' }] }),
  });
  const client = new Client(t);
  assert.deepEqual(await deleteDataset(client, 'd1', false), { status: 'in-use', runs: 2, message: '2 runs use this dataset' });
  assert.deepEqual(await deleteDataset(client, 'd1', true), { status: 'deleted', deletedRuns: ['r1', 'r2'] });
  refuse = false;
  assert.deepEqual(await deleteDataset(client, 'd2', false), { status: 'deleted', deletedRuns: [] });
  assert.equal(deleteRunsLabel(1), 'Delete the dataset and its run');
  assert.equal(deleteRunsLabel(3), 'Delete the dataset and its 3 runs');
  const missing = new FakeTransport({ 'datasets.delete': () => ({ ok: false, error: { code: 'NOT_FOUND', message: 'no dataset x' } }) });
  assert.deepEqual(await deleteDataset(new Client(missing), 'x', false), { status: 'error', message: 'no dataset x' });
});

test('an import whose answer is lost to the transport timeout still ends with its report, from progress events', async () => {
  const dataset = { id: 'big', name: 'Big', kind: 'imported', source: '/x', count: 70000, width: 28, height: 28, channels: 1, labels: null, createdAt: Date.now() + 10 };
  const t = new FakeTransport({
    'datasets.previewImport': () => ({ ok: true, value: preview(3) }),
    'datasets.list': () => ({ ok: true, value: [{ ...dataset, id: 'old', createdAt: 1 }, dataset] }),
    'datasets.report': (input) => ({ ok: true, value: { datasetId: input.id, imported: 70000 } }),
  });
  // The web transport rejects with this after a minute without an answer.
  t.handlers['datasets.import'] = () => Promise.reject(new TransportError('datasets.import: no answer from the studio within 60 s'));
  const flow = new ImportFlow(new Client(t), { kind: 'paths', paths: ['/big'] }, { preparer: pathsPreparer, newJobId: () => 'job-big', ...manualTimers() });
  await tick();
  await flow.start();
  assert.equal(flow.view.phase, 'importing', 'a lost answer is not a failure while main goes on');
  t.emit('datasets.importProgress', { jobId: 'job-big', phase: 'decoding', done: 50000, total: 70000, current: null });
  assert.equal(flow.view.progress?.done, 50000);
  t.emit('datasets.importProgress', { jobId: 'job-big', phase: 'done', done: 70000, total: 70000, current: null });
  await tick();
  await tick();
  assert.equal(flow.view.phase, 'done');
  assert.equal(flow.view.result?.dataset.id, 'big');
  assert.deepEqual(t.calls.find((c) => c.command === 'datasets.report')!.input, { id: 'big' });
  flow.dispose();
});
