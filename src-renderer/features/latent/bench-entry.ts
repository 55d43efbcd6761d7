/**
 * The benchmark page's script (bench/latent-page, run by bench/latent.ts in headless Chromium):
 * 70k synthetic points (ten Gaussian clusters) through the explorer's own scatter renderer while
 * the view pans, hover picks through the grid index, and decoding one latent vector per frame with
 * an MLP decoder (8 -> 256 -> 784, random weights) loaded through the explorer's decoder loader
 * (tf.io.fromMemory). Results land in window.__latentBench.
 */
import type { io } from '@tensorflow/tfjs';
import type { DecoderWeights } from '../../../src-main/contract/latent.ts';
import { loadDecoder, loadTf } from './decoder.ts';
import { base64OfBytes, pointColours, priorSamples } from './latent-math.ts';
import { createScatter } from './scatter.ts';
import { fitView, GridIndex, pan, toData } from './view.ts';

interface Stats {
  median: number;
  p95: number;
  n: number;
}

function stats(v: number[]): Stats {
  const s = [...v].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!;
  return { median: q(0.5), p95: q(0.95), n: s.length };
}

const nextFrame = () => new Promise<number>((r) => requestAnimationFrame(r));

async function run(): Promise<unknown> {
  const params = new URLSearchParams(location.search);
  const N = Number(params.get('points') ?? 70000);
  const FRAMES = Number(params.get('frames') ?? 240);
  const canvas = document.getElementById('map') as HTMLCanvasElement;
  canvas.width = 1200;
  canvas.height = 800;

  // Ten clusters, labels 0..9.
  const z = priorSamples(N, 2, 1, 11);
  const xs = new Float32Array(N);
  const ys = new Float32Array(N);
  const label = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const k = i % 10;
    label[i] = k;
    xs[i] = Math.cos((k / 10) * 2 * Math.PI) * 6 + z[i * 2]!;
    ys[i] = Math.sin((k / 10) * 2 * Math.PI) * 6 + z[i * 2 + 1]!;
  }
  const { rgba } = pointColours('label', label, new Float32Array(N));
  const { renderer, reason } = createScatter(canvas, { forceCanvas2d: params.has('canvas2d') });
  const t0 = performance.now();
  renderer.setPoints(xs, ys, rgba);
  const index = new GridIndex(xs, ys);
  const setupMs = performance.now() - t0;
  let view = fitView(index.bounds, 1200, 800);

  // Panning: per frame the draw call plus a sync (the GPU work done), and the rAF interval.
  const drawMs: number[] = [];
  const intervalMs: number[] = [];
  const pickMs: number[] = [];
  let last = await nextFrame();
  for (let f = 0; f < FRAMES; f++) {
    view = pan(view, Math.cos(f / 20) * 6, Math.sin(f / 30) * 4);
    const a = performance.now();
    renderer.draw(view, 4);
    renderer.sync();
    drawMs.push(performance.now() - a);
    // Hover picking at a moving cursor.
    const b = performance.now();
    const [dx, dy] = toData(view, 600 + Math.cos(f) * 300, 400 + Math.sin(f) * 200);
    index.nearest(dx, dy, 10 / view.scale);
    pickMs.push(performance.now() - b);
    const now = await nextFrame();
    intervalMs.push(now - last);
    last = now;
  }

  // The decoder: an MLP of the default shape with random weights, serialised and loaded like the
  // explorer loads a checkpoint's decoder (model.json + weight bytes through tf.io.fromMemory).
  const tf = await loadTf('webgl');
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [8], units: 256, activation: 'relu' }), tf.layers.dense({ units: 784 })],
  });
  let artifacts: io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  model.dispose();
  const art = artifacts! as io.ModelArtifacts;
  const weights: DecoderWeights = {
    runId: 'bench',
    epoch: 1,
    latentDim: 8,
    width: 28,
    height: 28,
    channels: 1,
    likelihood: 'bernoulli',
    modelJson: { modelTopology: art.modelTopology, weightsManifest: [{ paths: [], weights: art.weightSpecs ?? [] }] },
    weights: base64OfBytes(new Uint8Array(art.weightData as ArrayBuffer)),
  };
  const decoder = await loadDecoder(weights);
  const decodeMs: number[] = [];
  const gridMs: number[] = [];
  for (let f = 0; f < 10; f++) await decoder.decode(priorSamples(1, 8, 1, f), 1); // warm-up (shader compile)
  for (let f = 0; f < 120; f++) {
    const zz = priorSamples(1, 8, 1, 100 + f);
    const a = performance.now();
    await decoder.decode(zz, 1);
    decodeMs.push(performance.now() - a);
    await nextFrame();
  }
  for (let f = 0; f < 20; f++) {
    const a = performance.now();
    await decoder.decode(priorSamples(81, 8, 1, 500 + f), 81);
    gridMs.push(performance.now() - a);
  }
  const gl = document.createElement('canvas').getContext('webgl2');
  const dbg = gl?.getExtension('WEBGL_debug_renderer_info');
  return {
    points: N,
    renderer: renderer.kind,
    fallbackReason: reason,
    glRenderer: gl && dbg ? String(gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL)) : null,
    setupMs,
    draw: stats(drawMs),
    frameInterval: stats(intervalMs),
    pick: stats(pickMs),
    decodeBackend: decoder.backend,
    decode1: stats(decodeMs),
    decode81: stats(gridMs),
  };
}

const w = window as unknown as { __latentBench?: unknown; __latentBenchError?: string };
run().then(
  (r) => (w.__latentBench = r),
  (e: unknown) => (w.__latentBenchError = e instanceof Error ? `${e.message}\n${e.stack}` : String(e)),
);
