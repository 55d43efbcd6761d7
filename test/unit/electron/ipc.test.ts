import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COMMAND_NAMES, EVENT_NAMES, commandChannel, eventChannel } from '../../../src-main/contract/index.ts';
import type { Result } from '../../../src-main/contract/index.ts';
import { createSenderCheck, forwardStudioEvents, registerIpc } from '../../../src-main/electron/ipc.ts';
import type { EventSink, IpcHost, SenderCheck } from '../../../src-main/electron/ipc.ts';
import type { Studio, StudioListener } from '../../../src-main/services/studio-api.ts';

type Handler = (event: unknown, ...args: unknown[]) => Promise<Result<unknown>>;

function fakeIpcMain() {
  const handlers = new Map<string, Handler>();
  return {
    handlers,
    handle(channel: string, fn: Handler) {
      assert.ok(!handlers.has(channel), `second handler for ${channel}`);
      handlers.set(channel, fn);
    },
    removeHandler(channel: string) {
      handlers.delete(channel);
    },
  };
}

function fakeStudio() {
  const calls: [string, unknown][] = [];
  const listeners = new Set<StudioListener>();
  const studio = {
    calls,
    async dispatch(command: string, input: unknown): Promise<Result<unknown>> {
      calls.push([command, input]);
      return { ok: true, value: { echoed: command } };
    },
    subscribe(l: StudioListener) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    emit(event: string, payload: unknown) {
      for (const l of listeners) (l as (e: string, p: unknown) => void)(event, payload);
    },
    listenerCount: () => listeners.size,
  };
  return studio;
}

interface FakeFrame {
  url: string;
  parent: FakeFrame | null;
}
const topFrame = (url: string): FakeFrame => ({ url, parent: null });
const invokeEvent = (senderId: number, frame: FakeFrame | null) => ({ sender: { id: senderId }, senderFrame: frame });

describe('registerIpc', () => {
  test('registers exactly one handler per command, on cmd:<name>', () => {
    const ipc = fakeIpcMain();
    registerIpc(ipc as unknown as IpcHost, fakeStudio() as unknown as Studio, () => true);
    assert.deepEqual([...ipc.handlers.keys()].sort(), COMMAND_NAMES.map((n) => commandChannel(n)).sort());
    assert.equal(ipc.handlers.size, COMMAND_NAMES.length);
  });

  test('a trusted sender is dispatched to the studio with its input', async () => {
    const ipc = fakeIpcMain();
    const studio = fakeStudio();
    const seen: unknown[] = [];
    const check: SenderCheck = (e) => {
      seen.push(e);
      return true;
    };
    registerIpc(ipc as unknown as IpcHost, studio as unknown as Studio, check);
    const event = invokeEvent(1, topFrame('app://studio/index.html'));
    const result = await ipc.handlers.get('cmd:runs.get')!(event, { id: 'r1' });
    assert.deepEqual(result, { ok: true, value: { echoed: 'runs.get' } });
    assert.deepEqual(studio.calls, [['runs.get', { id: 'r1' }]]);
    assert.equal(seen[0], event, 'the check sees the IPC event');
  });

  test('an untrusted sender gets FORBIDDEN and the studio is never called', async () => {
    const ipc = fakeIpcMain();
    const studio = fakeStudio();
    registerIpc(ipc as unknown as IpcHost, studio as unknown as Studio, () => false);
    for (const name of COMMAND_NAMES) {
      const result = await ipc.handlers.get(commandChannel(name))!(invokeEvent(1, null), {});
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.error.code, 'FORBIDDEN');
    }
    assert.deepEqual(studio.calls, []);
  });

  test('a throwing sender check counts as untrusted; a throwing dispatch becomes INTERNAL', async () => {
    const ipc = fakeIpcMain();
    const studio = fakeStudio();
    registerIpc(ipc as unknown as IpcHost, studio as unknown as Studio, () => {
      throw new Error('frame gone');
    });
    const r1 = await ipc.handlers.get('cmd:app.info')!(invokeEvent(1, null), {});
    assert.equal(!r1.ok && r1.error.code, 'FORBIDDEN');

    const ipc2 = fakeIpcMain();
    const broken = { dispatch: () => Promise.reject(new Error('boom')) };
    registerIpc(ipc2 as unknown as IpcHost, broken as unknown as Studio, () => true);
    const r2 = await ipc2.handlers.get('cmd:app.info')!(invokeEvent(1, null), {});
    assert.deepEqual(r2, { ok: false, error: { code: 'INTERNAL', message: 'boom' } });
  });

  test('the returned function removes every handler', () => {
    const ipc = fakeIpcMain();
    const dispose = registerIpc(ipc as unknown as IpcHost, fakeStudio() as unknown as Studio, () => true);
    dispose();
    assert.equal(ipc.handlers.size, 0);
  });
});

describe('createSenderCheck', () => {
  const check = createSenderCheck({ windows: () => [{ id: 7 }] });
  const run = (e: unknown) => check(e as Parameters<SenderCheck>[0]);

  test('trusts the top frame of our window on app://studio', () => {
    assert.equal(run(invokeEvent(7, topFrame('app://studio/index.html'))), true);
  });

  test('refuses other windows, subframes, other origins and vanished frames', () => {
    assert.equal(run(invokeEvent(8, topFrame('app://studio/index.html'))), false, 'another web contents');
    const sub = { url: 'app://studio/index.html', parent: topFrame('app://studio/index.html') };
    assert.equal(run(invokeEvent(7, sub)), false, 'a subframe');
    assert.equal(run(invokeEvent(7, topFrame('https://evil.example/'))), false, 'remote page');
    assert.equal(run(invokeEvent(7, topFrame('file:///tmp/x.html'))), false, 'file page');
    assert.equal(run(invokeEvent(7, topFrame('app://studio.evil/index.html'))), false, 'look-alike host');
    assert.equal(run(invokeEvent(7, null)), false, 'senderFrame null');
  });

  test('trusts the dev server only when its origin is given', () => {
    const dev = createSenderCheck({ windows: () => [{ id: 7 }], extraOrigins: ['http://localhost:5173'] });
    assert.equal(dev(invokeEvent(7, topFrame('http://localhost:5173/')) as never), true);
    assert.equal(run(invokeEvent(7, topFrame('http://localhost:5173/'))), false);
  });
});

describe('forwardStudioEvents', () => {
  const sink = (url: string, destroyed = false) => {
    const sent: [string, unknown][] = [];
    return {
      sent,
      isDestroyed: () => destroyed,
      getURL: () => url,
      send: (channel: string, payload: unknown) => sent.push([channel, payload]),
    };
  };

  test('sends each event on evt:<name> to live windows showing the app', () => {
    const studio = fakeStudio();
    const ok = sink('app://studio/index.html');
    const gone = sink('app://studio/index.html', true);
    const foreign = sink('https://example.com/');
    const off = forwardStudioEvents(studio as unknown as Studio, () => [ok, gone, foreign] as unknown as EventSink[]);
    for (const name of EVENT_NAMES) studio.emit(name, { runId: 'r1', name });
    studio.emit('not.an.event', {});
    assert.deepEqual(
      ok.sent,
      EVENT_NAMES.map((name) => [eventChannel(name), { runId: 'r1', name }]),
    );
    assert.deepEqual(gone.sent, []);
    assert.deepEqual(foreign.sent, []);
    off();
    assert.equal(studio.listenerCount(), 0);
  });
});
