/** Native notifications of finished runs (electron/notify.ts) with a fake Notification and studio. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventName, Events, Result, RunSummary } from '../../../src-main/contract/index.ts';
import { describeFinishedRun, formatDuration, subscribeRunNotifications, type NotificationLike } from '../../../src-main/electron/notify.ts';
import { epochPoint } from '../../helpers/fake-trainer.ts';

const finished = (over: Partial<Events['runs.finished']> = {}): Events['runs.finished'] => ({
  runId: 'run-1',
  name: 'Digits #3',
  status: 'completed',
  error: null,
  durationMs: 125_000,
  ...over,
});

test('durations read as a person would say them', () => {
  assert.equal(formatDuration(45_400), '45 s');
  assert.equal(formatDuration(125_000), '2 min 5 s');
  assert.equal(formatDuration(120_000), '2 min');
  assert.equal(formatDuration(3_780_000), '1 h 3 min');
});

test('a completed run shows its final validation -ELBO; a failed run its error, shortened', () => {
  const last = { ...epochPoint(4, 40, 101.234), valNegElbo: 103.456 };
  const run = { last } as unknown as RunSummary;
  assert.deepEqual(describeFinishedRun(finished(), run), {
    title: 'Digits #3 finished',
    body: 'Final validation -ELBO 103.46 nats, 4 epochs after 2 min 5 s.',
  });
  const noVal = { last: { ...last, valNegElbo: null } } as unknown as RunSummary;
  assert.match(describeFinishedRun(finished(), noVal).body, /^Final -ELBO 101\.23 nats/);
  assert.equal(describeFinishedRun(finished({ durationMs: null }), null).body, 'The run ended.');
  const f = describeFinishedRun(finished({ status: 'failed', error: `training diverged\n at epoch 3 ${'x'.repeat(300)}` }), null);
  assert.equal(f.title, 'Digits #3 failed');
  assert.match(f.body, /^Failed after 2 min 5 s: training diverged at epoch 3 x+…$/);
  assert.ok(f.body.length < 240);
});

test('each runs.finished event shows one notification; clicking it focuses the run; other events show none', async () => {
  let listener: ((event: EventName, payload: unknown) => void) | null = null;
  const studio = {
    subscribe: (l: (event: EventName, payload: unknown) => void) => {
      listener = l;
      return () => (listener = null);
    },
    dispatch: async (command: string, input: unknown): Promise<Result<unknown>> => {
      assert.equal(command, 'runs.get');
      assert.deepEqual(input, { id: 'run-1' });
      return { ok: true, value: { last: { ...epochPoint(2, 20, 99), valNegElbo: null } } };
    },
  };
  const shown: { options: { title: string; body: string }; click: () => void }[] = [];
  const focused: string[] = [];
  let supported = true;
  const off = subscribeRunNotifications(studio as never, {
    isSupported: () => supported,
    create: (options) => {
      const entry = { options, click: () => {} };
      const n: NotificationLike = {
        on: (event: string, l: () => void) => {
          if (event === 'click') entry.click = l;
          return n;
        },
        show: () => shown.push(entry),
      };
      return n;
    },
    focus: (runId) => (focused.push(runId), null),
  });
  listener!('training.status', { runId: 'run-1', status: 'completed', error: null });
  listener!('runs.finished', finished());
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(shown.length, 1);
  assert.deepEqual(shown[0]!.options, { title: 'Digits #3 finished', body: 'Final -ELBO 99.00 nats, 2 epochs after 2 min 5 s.' });
  shown[0]!.click();
  assert.deepEqual(focused, ['run-1']);
  supported = false;
  listener!('runs.finished', finished());
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(shown.length, 1, 'nothing where notifications are not supported');
  off();
  assert.equal(listener, null);
});
