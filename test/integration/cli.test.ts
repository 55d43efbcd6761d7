import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tmpDir } from '../helpers/tmp.ts';
import { jsonLines, runCli } from '../helpers/cli.ts';



const lines = jsonLines;
const cli = (args: string[], opts: { killAfterFirstStep?: boolean } = {}) =>
  runCli(args, opts.killAfterFirstStep ? { interruptWhen: (out) => out.includes('"type":"step"') } : {});

describe('vae-studio CLI', () => {
  const dataDir = tmpDir();
  const tiny = ['--set', 'maxSamples=600', '--set', 'batchSize=100', '--set', 'model.hidden=[64]', '--set', 'model.latentDim=2'];

  test('datasets ls lists the built-in sample data', async () => {
    const r = await cli(['--data-dir', dataDir, 'datasets', 'ls', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { id: string; count: number }[];
    assert.ok(list.some((d) => d.id === 'builtin-digits' && d.count > 0));
  });

  let runId = '';
  test('train --json streams steps and epochs and ends with one result object', async () => {
    const r = await cli(['--data-dir', dataDir, 'train', '--dataset', 'digits', '--epochs', '2', ...tiny, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    const steps = out.filter((o) => o.type === 'step');
    const epochs = out.filter((o) => o.type === 'epoch');
    assert.equal(epochs.length, 2);
    assert.equal(steps.length, 2 * Math.ceil(540 / 100), 'every step of both epochs is streamed');
    assert.equal(out.filter((o) => o.type === 'backend').length, 1);
    const result = out[out.length - 1]!;
    assert.equal(result.type, 'result');
    assert.equal(result.status, 'completed');
    const final = result.final as { negElbo: number; epoch: number };
    assert.equal(final.epoch, 2);
    assert.ok(Number.isFinite(final.negElbo) && final.negElbo > 0);
    runId = String(result.runId);
  });

  test('runs ls and runs show find the run in the shared history', async () => {
    const ls = await cli(['--data-dir', dataDir, 'runs', 'ls', '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    const runs = JSON.parse(ls.stdout) as { id: string; status: string; backend: string }[];
    const run = runs.find((x) => x.id === runId);
    assert.ok(run, 'the run is listed');
    assert.equal(run.status, 'completed');
    assert.ok(run.backend, 'the backend is recorded');
    const show = await cli(['--data-dir', dataDir, 'runs', 'show', runId]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /status:\s+completed/);
    assert.match(show.stdout, /"latentDim":2/);
  });

  test('Ctrl+C stops the run cleanly: recorded as stopped, exit 130', async () => {
    const r = await cli(['--data-dir', dataDir, 'train', '--dataset', 'digits', '--epochs', '50', ...tiny, '--json'], { killAfterFirstStep: true });
    assert.equal(r.code, 130, r.stderr);
    const result = lines(r.stdout).pop()!;
    assert.equal(result.status, 'stopped');
  });

  test('bad input: a clear reason on stderr and a non-zero exit', async () => {
    const cases: [string[], number, RegExp][] = [
      [['frobnicate'], 2, /unknown command "frobnicate"/],
      [['train'], 2, /needs --dataset/],
      [['train', '--dataset', 'nope'], 1, /no dataset "nope"/],
      [['train', '--dataset', 'digits', '--set', 'model.latentDim=0'], 2, /model\.latentDim/],
      [['train', '--dataset', 'digits', '--set', 'optimizer.nesterov=true'], 2, /nesterov/],
      [['train', '--dataset', 'digits', '--set', 'oops'], 2, /key=value/],
      [['runs', 'show', 'run-missing'], 1, /no run with id "run-missing"/],
      [['--bogus-flag'], 2, /Unknown option/],
    ];
    for (const [args, code, re] of cases) {
      const r = await cli(['--data-dir', dataDir, ...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
  });
});
