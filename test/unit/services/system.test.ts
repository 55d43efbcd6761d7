import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DoctorReport, ProbeReport, ProbeTarget } from '../../../src-main/contract/index.ts';
import { createStudio } from '../../../src-main/services/studio.ts';
import { DOCTOR_TTL_MS, SystemService } from '../../../src-main/services/system.ts';
import { PROBE_TARGETS } from '../../../src-main/trainer/probes.ts';
import { fakeLauncher } from '../../helpers/fake-trainer.ts';
import { tmpDir } from '../../helpers/tmp.ts';

function probe(target: ProbeTarget, ok: boolean, extra: Partial<ProbeReport> = {}): ProbeReport {
  return {
    target,
    ok,
    reason: ok ? null : `${target}: not installed (Cannot find module)`,
    backend: ok ? (target.startsWith('tensorflow') ? 'tensorflow' : target) : null,
    device: ok ? `CPU (${target})` : null,
    tfjsVersion: ok ? '4.22.0' : null,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    utilShimInstalled: false,
    ms: 5,
    ...extra,
  };
}

/** A prober that answers `loads` (which targets load), counts its calls, and can be held open. */
function fakeProber(loads: ProbeTarget[]) {
  const state = { calls: 0, targets: [] as (readonly ProbeTarget[])[], gate: null as Promise<void> | null };
  const prober = async (targets: readonly ProbeTarget[]) => {
    state.calls++;
    state.targets.push(targets);
    if (state.gate) await state.gate;
    return targets.map((t) => probe(t, loads.includes(t)));
  };
  return { prober, state };
}

describe('system.doctor service', () => {
  test('probes every backend in preference order and chooses the first that loads', async () => {
    const { prober, state } = fakeProber(['onnxruntime', 'wasm', 'cpu']);
    const report = await new SystemService({ prober }).doctor();
    assert.deepEqual(state.targets, [PROBE_TARGETS]);
    assert.deepEqual(PROBE_TARGETS, ['tensorflow-gpu', 'tensorflow-cpu', 'onnxruntime', 'wasm', 'cpu']);
    assert.deepEqual(
      report.backends.map((b) => [b.target, b.ok]),
      [
        ['tensorflow-gpu', false],
        ['tensorflow-cpu', false],
        ['onnxruntime', true],
        ['wasm', true],
        ['cpu', true],
      ],
    );
    assert.deepEqual(report.chosen, { target: 'onnxruntime', backend: 'onnxruntime', device: 'CPU (onnxruntime)', tfjsVersion: '4.22.0' });
    assert.equal(report.node, process.version);
    assert.equal(report.utilShimInstalled, false);

    // Where the native CPU build loads it wins over onnxruntime; where onnxruntime does not, wasm is
    // next; where nothing loads, nothing is chosen.
    const native = await new SystemService({ prober: fakeProber(['tensorflow-cpu', 'onnxruntime', 'wasm', 'cpu']).prober }).doctor();
    assert.equal(native.chosen?.target, 'tensorflow-cpu');
    assert.equal(native.chosen?.backend, 'tensorflow');
    const noOrt = await new SystemService({ prober: fakeProber(['wasm', 'cpu']).prober }).doctor();
    assert.equal(noOrt.chosen?.target, 'wasm');
    assert.equal(noOrt.chosen?.backend, 'wasm');
    const none = await new SystemService({ prober: fakeProber([]).prober }).doctor();
    assert.equal(none.chosen, null);
  });

  test('the report is cached for the TTL, then probed again; refresh probes at once', async () => {
    let now = 1_000_000;
    const { prober, state } = fakeProber(['wasm', 'cpu']);
    const service = new SystemService({ prober, now: () => now });
    assert.equal(service.cachedAt, null);
    const first = await service.doctor();
    assert.equal(state.calls, 1);
    assert.equal(service.cachedAt, now);

    now += DOCTOR_TTL_MS - 1;
    assert.equal(await service.doctor(), first, 'a fresh report is served from the cache');
    assert.equal(state.calls, 1);

    now += 1; // exactly the TTL: stale
    const second = await service.doctor();
    assert.equal(state.calls, 2);
    assert.notEqual(second, first);

    await service.doctor({ refresh: true });
    assert.equal(state.calls, 3);
    assert.equal(service.probeCount, 3);
  });

  test('callers during a probe share it instead of starting another', async () => {
    const { prober, state } = fakeProber(['cpu']);
    let open!: () => void;
    state.gate = new Promise<void>((r) => (open = r));
    const service = new SystemService({ prober });
    const a = service.doctor();
    const b = service.doctor();
    const c = service.doctor({ refresh: true });
    await new Promise((r) => setImmediate(r));
    assert.equal(state.calls, 1);
    open();
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    assert.equal(ra, rb);
    assert.equal(rb, rc);
    assert.equal(ra.chosen?.target, 'cpu');
  });

  test('a failed probe is not cached: the next call probes again', async () => {
    let calls = 0;
    const service = new SystemService({
      prober: (targets) => {
        calls++;
        if (calls === 1) throw new Error('fork failed');
        return Promise.resolve(targets.map((t) => probe(t, t === 'cpu')));
      },
    });
    await assert.rejects(service.doctor(), /fork failed/);
    const report = await service.doctor();
    assert.equal(calls, 2);
    assert.equal(report.chosen?.target, 'cpu');
  });

  test('setProber replaces the prober and drops the cached report', async () => {
    const service = new SystemService({ prober: fakeProber(['cpu']).prober });
    assert.equal((await service.doctor()).chosen?.target, 'cpu');
    service.setProber(fakeProber(['wasm', 'cpu']).prober);
    assert.equal((await service.doctor()).chosen?.target, 'wasm');
  });
});

test('the studio answers system.doctor with real probes: onnxruntime, wasm and cpu load here, named reasons for the others', { timeout: 60_000 }, async () => {
  const studio = createStudio({ dataDir: tmpDir(), mode: 'cli', launcher: fakeLauncher(() => {}) });
  try {
    const refused = await studio.dispatch('system.doctor', { refresh: true });
    assert.ok(!refused.ok && refused.error.code === 'INVALID_INPUT', 'the input stays empty');
    const r = await studio.dispatch('system.doctor', {});
    assert.ok(r.ok, JSON.stringify(r));
    const report = r.value as DoctorReport;
    assert.deepEqual(
      report.backends.map((b) => b.target),
      ['tensorflow-gpu', 'tensorflow-cpu', 'onnxruntime', 'wasm', 'cpu'],
    );
    const by = Object.fromEntries(report.backends.map((b) => [b.target, b]));
    for (const t of ['onnxruntime', 'wasm', 'cpu']) {
      assert.equal(by[t]!.ok, true, by[t]!.reason ?? '');
      assert.equal(by[t]!.backend, t);
    }
    assert.match(by['onnxruntime']!.device ?? '', /ONNX Runtime \d+\.\d+\.\d+/);
    for (const b of report.backends) assert.equal(b.ok, b.reason === null, `${b.target}: reason iff it does not load`);
    assert.equal(report.chosen?.target, report.backends.find((b) => b.ok)?.target);
    // Without the native tensorflow packages (as here), onnxruntime is the first that loads.
    if (!by['tensorflow-gpu']!.ok && !by['tensorflow-cpu']!.ok) {
      assert.equal(report.chosen?.target, 'onnxruntime');
      assert.equal(report.chosen?.device, by['onnxruntime']!.device);
    }
    // A second call within the minute answers from the cache, equal in content.
    const again = await studio.dispatch('system.doctor', {});
    assert.ok(again.ok);
    assert.deepEqual(again.value, report);
  } finally {
    await studio.close();
  }
});
