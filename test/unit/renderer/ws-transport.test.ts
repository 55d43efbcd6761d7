import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransportError } from '../../../src-renderer/lib/api/transport.ts';
import type { ConnectionStatus } from '../../../src-renderer/lib/api/transport.ts';
import { WebSocketTransport, backoffDelay } from '../../../src-renderer/lib/api/ws-transport.ts';
import type { SocketLike, Timers } from '../../../src-renderer/lib/api/ws-transport.ts';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.closed = true;
  }
  // Test controls
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop(): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006, reason: '' });
  }
  receive(msg: unknown): void {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
}

/** Manual clock: timers fire only when the test advances time. */
class FakeTimers implements Timers {
  now = 0;
  #next = 1;
  readonly pending = new Map<number, { at: number; cb: () => void }>();
  setTimeout(cb: () => void, ms: number): unknown {
    const id = this.#next++;
    this.pending.set(id, { at: this.now + ms, cb });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].cb();
    }
    this.now = until;
  }
}

function setup(requestTimeoutMs = 5000) {
  const sockets: FakeSocket[] = [];
  const timers = new FakeTimers();
  const statuses: ConnectionStatus[] = [];
  const t = new WebSocketTransport({
    url: 'ws://127.0.0.1:1234/ws?token=abc',
    createSocket: (u) => {
      const s = new FakeSocket(u);
      sockets.push(s);
      return s;
    },
    timers,
    random: () => 0.5, // no jitter
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 },
    requestTimeoutMs,
  });
  t.onStatus((s) => statuses.push(s));
  const last = () => sockets[sockets.length - 1]!;
  return { t, sockets, timers, statuses, last };
}

test('backoffDelay doubles up to the cap, with bounded jitter', () => {
  const o = { initialMs: 500, maxMs: 10_000, factor: 2, jitter: 0 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, o)), [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  const j = { ...o, jitter: 0.2 };
  assert.equal(backoffDelay(1, j, () => 0), 400);
  assert.equal(backoffDelay(1, j, () => 1), 600);
});

test('requests made before the socket opens are sent on open and resolved by id', async () => {
  const { t, last, statuses } = setup();
  assert.equal(t.status.state, 'connecting');
  assert.equal(last().url, 'ws://127.0.0.1:1234/ws?token=abc');
  const a = t.invoke('runs.list', {});
  const b = t.invoke('runs.get', { id: 'x' });
  assert.deepEqual(last().sent, []);
  last().open();
  assert.equal(t.status.state, 'connected');
  assert.deepEqual(statuses.map((s) => s.state), ['connected']);
  const sent = last().sent as { id: number; command: string; input: unknown }[];
  assert.deepEqual(sent.map((m) => [m.command, m.input]), [
    ['runs.list', {}],
    ['runs.get', { id: 'x' }],
  ]);
  // Replies may come in any order.
  last().receive({ id: sent[1]!.id, result: { ok: false, error: { code: 'NOT_FOUND', message: 'no run' } } });
  last().receive({ id: sent[0]!.id, result: { ok: true, value: [1, 2] } });
  assert.deepEqual(await a, { ok: true, value: [1, 2] });
  assert.deepEqual(await b, { ok: false, error: { code: 'NOT_FOUND', message: 'no run' } });
});

test('events reach every subscriber until it unsubscribes; junk frames are ignored', () => {
  const { t, last } = setup();
  last().open();
  const got: [string, unknown][] = [];
  const off = t.subscribe((e, p) => got.push([e, p]));
  last().receive({ event: 'runs.changed', payload: { runId: 'r1' } });
  last().receive('not json');
  last().receive({ id: 999, result: { ok: true, value: 1 } }); // reply to nobody
  off();
  last().receive({ event: 'runs.changed', payload: { runId: 'r2' } });
  assert.deepEqual(got, [['runs.changed', { runId: 'r1' }]]);
});

test('a dropped link rejects requests in flight, keeps unsent ones, and reconnects with backoff', async () => {
  const { t, sockets, last, timers, statuses } = setup(60_000);
  last().open();
  const inFlight = t.invoke('training.start', { datasetId: 'd' });
  const rejected = assert.rejects(inFlight, (e: unknown) => e instanceof TransportError && /lost/.test((e as Error).message));
  last().drop();
  await rejected;
  assert.equal(t.status.state, 'reconnecting');
  assert.equal(t.status.retryInMs, 100);

  const queued = t.invoke('runs.list', {});
  timers.advance(99);
  assert.equal(sockets.length, 1, 'waits for the backoff delay');
  timers.advance(1);
  assert.equal(sockets.length, 2);
  // The second attempt fails too: the next delay doubles.
  last().drop();
  assert.equal(t.status.attempts, 2);
  assert.equal(t.status.retryInMs, 200);
  timers.advance(200);
  assert.equal(sockets.length, 3);
  last().open();
  assert.equal(t.status.state, 'connected');
  assert.equal(t.status.attempts, 0, 'a success resets the backoff');
  const msg = last().sent[0] as { id: number; command: string };
  assert.equal(msg.command, 'runs.list');
  last().receive({ id: msg.id, result: { ok: true, value: [] } });
  assert.deepEqual(await queued, { ok: true, value: [] });
  assert.deepEqual(
    statuses.map((s) => s.state),
    ['connected', 'reconnecting', 'reconnecting', 'connected'],
  );
});

test('a request without an answer times out; dispose fails the rest and stops reconnecting', async () => {
  const { t, timers, last, sockets } = setup(1000);
  const slow = t.invoke('runs.list', {});
  const timedOut = assert.rejects(slow, /no answer from the studio within 1 s/);
  timers.advance(1000);
  await timedOut;

  const pending = t.invoke('runs.list', {});
  const closed = assert.rejects(pending, TransportError);
  t.dispose();
  await closed;
  assert.equal(t.status.state, 'closed');
  assert.ok(last().closed);
  timers.advance(60_000);
  assert.equal(sockets.length, 1, 'no reconnect after dispose');
  await assert.rejects(t.invoke('runs.list', {}), TransportError);
});

test('long jobs (an import) get no request deadline; their answer still arrives', async () => {
  const { t, timers, last } = setup(1000);
  last().open();
  const job = t.invoke('datasets.import', { paths: ['/x'] });
  let settled = false;
  void job.then(() => (settled = true), () => (settled = true));
  timers.advance(10 * 60_000);
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'a ten-minute import is not cut off');
  const msg = last().sent.at(-1) as { id: number };
  last().receive({ id: msg.id, result: { ok: true, value: 'done' } });
  assert.deepEqual(await job, { ok: true, value: 'done' });
  t.dispose();
});
