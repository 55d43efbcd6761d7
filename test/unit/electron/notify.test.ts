/**
 * Clicking the native notification of a finished run (electron/notify.ts) with the injected
 * Electron surface faked: the window comes forward and its renderer is told to open the run (the
 * 'app.open' event on its event channel), at once or, for a window still loading, once loaded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventChannel, EVENT_NAMES, type EventName, type Events, type Result } from '../../../src-main/contract/index.ts';
import { openRunInWindow, subscribeRunNotifications, type NotificationLike, type OpenTarget } from '../../../src-main/electron/notify.ts';

/** A window's web contents: records what is sent; `load()` finishes a pending load. */
function fakeContents(loading = false) {
  const sent: { channel: string; payload: unknown }[] = [];
  const onLoad: (() => void)[] = [];
  const state = { loading, destroyed: false };
  const target: OpenTarget = {
    send: (channel, payload) => sent.push({ channel, payload }),
    isDestroyed: () => state.destroyed,
    isLoading: () => state.loading,
    once: (event, listener) => {
      assert.equal(event, 'did-finish-load');
      onLoad.push(listener);
    },
  };
  const load = () => {
    state.loading = false;
    for (const l of onLoad.splice(0)) l();
  };
  return { target, sent, state, load };
}

/** A studio that emits the events given to `emit`, and a Notification whose click the test triggers. */
function harness(focus: (runId: string) => OpenTarget | null) {
  let listener: ((event: EventName, payload: unknown) => void) | null = null;
  const studio = {
    subscribe: (l: (event: EventName, payload: unknown) => void) => {
      listener = l;
      return () => (listener = null);
    },
    dispatch: async (): Promise<Result<unknown>> => ({ ok: true, value: { last: null } }),
  };
  const clicks: (() => void)[] = [];
  const focused: string[] = [];
  const off = subscribeRunNotifications(studio as never, {
    isSupported: () => true,
    create: () => {
      const n: NotificationLike = {
        on: (event: string, l: () => void) => {
          if (event === 'click') clicks.push(l);
          return n;
        },
        show: () => {},
      };
      return n;
    },
    focus: (runId) => {
      focused.push(runId);
      return focus(runId);
    },
  });
  const finished = async (runId: string) => {
    const p: Events['runs.finished'] = { runId, name: 'Digits', status: 'completed', error: null, durationMs: 60_000 };
    listener!('runs.finished', p);
    await new Promise((r) => setTimeout(r, 10));
  };
  return { clicks, focused, finished, off };
}

test("'app.open' is a contract event, so the preload lets the window subscribe to it", () => {
  assert.ok((EVENT_NAMES as readonly string[]).includes('app.open'));
  assert.equal(eventChannel('app.open'), 'evt:app.open');
});

test('clicking the notification focuses the window and opens the run in it', async () => {
  const w = fakeContents();
  const h = harness(() => w.target);
  await h.finished('run-7');
  assert.equal(w.sent.length, 0, 'nothing is opened before the click');
  assert.equal(h.clicks.length, 1);
  h.clicks[0]!();
  assert.deepEqual(h.focused, ['run-7']);
  assert.deepEqual(w.sent, [{ channel: 'evt:app.open', payload: { page: 'runs', id: 'run-7' } }]);
  h.off();
});

test('a window created for the click gets the run once its page has loaded', async () => {
  const w = fakeContents(true);
  const h = harness(() => w.target);
  await h.finished('run-8');
  h.clicks[0]!();
  assert.deepEqual(w.sent, [], 'not while the page loads (its App has not subscribed yet)');
  w.load();
  assert.deepEqual(w.sent, [{ channel: 'evt:app.open', payload: { page: 'runs', id: 'run-8' } }]);
  h.off();
});

test('no window, or one destroyed before its page loaded: nothing is sent', async () => {
  const h = harness(() => null);
  await h.finished('run-9');
  assert.doesNotThrow(() => h.clicks[0]!());
  assert.deepEqual(h.focused, ['run-9']);
  h.off();
  const w = fakeContents(true);
  openRunInWindow(w.target, 'run-10');
  w.state.destroyed = true;
  w.load();
  assert.deepEqual(w.sent, []);
});
