import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Result } from '../../../src-main/contract/index.ts';
import { Client, ClientError } from '../../../src-renderer/lib/api/client.ts';
import { TransportError } from '../../../src-renderer/lib/api/transport.ts';
import type { ConnectionStatus, EventListener, Transport } from '../../../src-renderer/lib/api/transport.ts';

/** A scripted transport: answers from a table, records calls, emits events on demand. */
class FakeTransport implements Transport {
  readonly description = 'fake';
  readonly status: ConnectionStatus = { state: 'connected', attempts: 0, retryInMs: null };
  calls: [string, unknown][] = [];
  listeners = new Set<EventListener>();
  subscribeCount = 0;
  constructor(private readonly answer: (command: string, input: unknown) => Promise<Result<unknown>>) {}
  invoke(command: string, input: unknown): Promise<Result<unknown>> {
    this.calls.push([command, input]);
    return this.answer(command, input);
  }
  subscribe(l: EventListener): () => void {
    this.subscribeCount++;
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  onStatus(): () => void {
    return () => {};
  }
  emit(event: string, payload: unknown): void {
    for (const l of this.listeners) l(event, payload);
  }
}

test('call resolves with the value of an ok result', async () => {
  const tr = new FakeTransport(async () => ({ ok: true, value: ['run-1'] }));
  const c = new Client(tr);
  const ids: string[] = await c.call('training.active', {});
  assert.deepEqual(ids, ['run-1']);
  assert.deepEqual(tr.calls, [['training.active', {}]]);
});

test('call throws a ClientError carrying code, field and command for an error result', async () => {
  const tr = new FakeTransport(async () => ({
    ok: false,
    error: { code: 'INVALID_INPUT', message: 'config: epochs: Too small', field: 'epochs' },
  }));
  const c = new Client(tr);
  await assert.rejects(c.call('training.start', { datasetId: 'd', config: { epochs: 0 } }), (e: unknown) => {
    assert.ok(e instanceof ClientError);
    assert.equal(e.code, 'INVALID_INPUT');
    assert.equal(e.field, 'epochs');
    assert.equal(e.command, 'training.start');
    assert.match(e.message, /Too small/);
    return true;
  });
});

test('a lost link becomes DISCONNECTED, any other failure INTERNAL', async () => {
  const lost = new Client(new FakeTransport(() => Promise.reject(new TransportError('gone'))));
  await assert.rejects(lost.call('runs.list', {}), (e: unknown) => e instanceof ClientError && e.code === 'DISCONNECTED');
  const broken = new Client(new FakeTransport(() => Promise.reject(new Error('boom'))));
  await assert.rejects(broken.call('runs.list', {}), (e: unknown) => e instanceof ClientError && e.code === 'INTERNAL');
});

test('on() delivers only its event, shares one transport subscription, and unsubscribes', () => {
  const tr = new FakeTransport(async () => ({ ok: true, value: null }));
  const c = new Client(tr);
  const progress: unknown[] = [];
  const changed: unknown[] = [];
  const off = c.on('training.progress', (p) => progress.push(p.runId));
  c.on('runs.changed', (p) => changed.push(p.runId));
  c.on('runs.changed', () => {
    throw new Error('a broken view');
  });
  assert.equal(tr.subscribeCount, 1);
  const warn = console.warn;
  console.warn = () => {};
  try {
    tr.emit('training.progress', { runId: 'a', points: [] });
    tr.emit('runs.changed', { runId: 'b' });
    off();
    tr.emit('training.progress', { runId: 'c', points: [] });
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(progress, ['a']);
  assert.deepEqual(changed, ['b'], 'a throwing listener does not stop the others');
});
