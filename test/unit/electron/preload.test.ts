import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BRIDGE_GLOBAL, COMMAND_NAMES, EVENT_NAMES, commandChannel, eventChannel } from '../../../src-main/contract/index.ts';
import { createPreloadApi, exposeBridge } from '../../../src-main/preload/api.ts';
import type { BridgeDeps, BridgeFiles, BridgeIpc } from '../../../src-main/preload/api.ts';

type Listener = (event: unknown, ...args: unknown[]) => void;

function fakeIpcRenderer() {
  const invoked: [string, unknown[]][] = [];
  const listeners = new Map<string, Set<Listener>>();
  const ipc = {
    invoked,
    listeners,
    invoke(channel: string, ...args: unknown[]) {
      invoked.push([channel, args]);
      return Promise.resolve({ ok: true, value: channel });
    },
    on(channel: string, fn: Listener) {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(fn);
      return ipc;
    },
    removeListener(channel: string, fn: Listener) {
      listeners.get(channel)?.delete(fn);
      return ipc;
    },
    emit(channel: string, payload: unknown) {
      // What Electron passes: the IpcRendererEvent first (whose `sender` is the ipcRenderer itself).
      for (const fn of listeners.get(channel) ?? []) fn({ sender: ipc, senderId: 0 }, payload);
    },
    count: (channel: string) => listeners.get(channel)?.size ?? 0,
  };
  return ipc;
}
const files: BridgeFiles = { getPathForFile: (f) => `/dropped/${(f as { name: string }).name}` };

describe('preload bridge', () => {
  test('exposes exactly one function per command and nothing else', () => {
    const api = createPreloadApi(fakeIpcRenderer() as unknown as BridgeIpc, files);
    assert.deepEqual(Object.keys(api).sort(), ['commands', 'getPathForFile', 'on']);
    assert.deepEqual(Object.keys(api.commands).sort(), [...COMMAND_NAMES].sort());
    for (const name of COMMAND_NAMES) assert.equal(typeof api.commands[name], 'function', name);
    assert.ok(Object.isFrozen(api.commands), 'the page cannot add or swap commands');
  });

  test('each command invokes its own channel with the input, and returns the Result', async () => {
    const ipc = fakeIpcRenderer();
    const api = createPreloadApi(ipc as unknown as BridgeIpc, files);
    for (const name of COMMAND_NAMES) {
      const result = await (api.commands[name] as (i: unknown) => Promise<unknown>)({ probe: name });
      assert.deepEqual(result, { ok: true, value: commandChannel(name) });
    }
    assert.deepEqual(
      ipc.invoked,
      COMMAND_NAMES.map((name) => [commandChannel(name), [{ probe: name }]]),
    );
  });

  test('on() delivers only the payload, and its return value unsubscribes', () => {
    const ipc = fakeIpcRenderer();
    const api = createPreloadApi(ipc as unknown as BridgeIpc, files);
    const got: unknown[][] = [];
    const off = api.on('training.progress', (...args: unknown[]) => got.push(args));
    const channel = eventChannel('training.progress');
    assert.equal(ipc.count(channel), 1);
    ipc.emit(channel, { runId: 'r1', points: [] });
    assert.deepEqual(got, [[{ runId: 'r1', points: [] }]], 'no IPC event object reaches the page');
    off();
    off();
    assert.equal(ipc.count(channel), 0);
    ipc.emit(channel, { runId: 'r1', points: [] });
    assert.equal(got.length, 1);
  });

  test('on() listens on evt:<name> for every event, and refuses unknown ones', () => {
    const ipc = fakeIpcRenderer();
    const api = createPreloadApi(ipc as unknown as BridgeIpc, files);
    for (const name of EVENT_NAMES) api.on(name, () => undefined);
    for (const name of EVENT_NAMES) assert.equal(ipc.count(eventChannel(name)), 1, name);
    assert.throws(() => api.on('cmd:runs.delete' as never, () => undefined), /unknown event/);
    assert.throws(() => api.on('training.progress', 42 as never), TypeError);
  });

  test('getPathForFile goes through webUtils', () => {
    const api = createPreloadApi(fakeIpcRenderer() as unknown as BridgeIpc, files);
    assert.equal(api.getPathForFile({ name: 'digits.zip' } as unknown as File), '/dropped/digits.zip');
  });

  test('exposeBridge puts the api on window.vaeStudio and never exposes ipcRenderer', () => {
    const ipc = fakeIpcRenderer();
    const exposed: [string, unknown][] = [];
    const deps = {
      contextBridge: { exposeInMainWorld: (key: string, value: unknown) => exposed.push([key, value]) },
      ipcRenderer: ipc,
      webUtils: files,
    };
    exposeBridge(deps as unknown as BridgeDeps);
    assert.equal(exposed.length, 1);
    assert.equal(exposed[0]![0], BRIDGE_GLOBAL);
    assert.equal(BRIDGE_GLOBAL, 'vaeStudio');
    // Walk everything reachable from the exposed value: the ipcRenderer must not be among it.
    const seen = new Set<unknown>();
    const walk = (v: unknown): void => {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) return;
      seen.add(v);
      assert.notEqual(v, ipc, 'ipcRenderer reachable from window.vaeStudio');
      for (const k of Object.keys(v as object)) walk((v as Record<string, unknown>)[k]);
    };
    walk(exposed[0]![1]);
  });
});
