/**
 * Decoding in the renderer: the checkpoint's decoder (served by latent.decoder as model.json and
 * its weight bytes) loaded with tfjs from memory, on the WebGL backend where it loads, else on
 * 'cpu'. tfjs is imported lazily, so the rest of the app does not pay for it. Where tfjs cannot
 * load at all, decoding goes to main (latent.decode).
 */
import type { io } from '@tensorflow/tfjs';
import type { DecoderWeights } from '../../../src-main/contract/latent.ts';
import { likelihoodMean } from '../../../src-main/contract/likelihood.ts';
import { decodeBase64 } from '../../lib/util/base64.ts';
import { base64OfF32 } from './latent-math.ts';

export interface ImageShape {
  width: number;
  height: number;
  channels: number;
}

export interface LatentDecoder extends ImageShape {
  /** Where decoding runs: 'webgl', 'cpu' (tfjs in the renderer) or 'main'. */
  readonly backend: string;
  readonly latentDim: number;
  readonly likelihood: string;
  /** Pixel means in [0, 1] of `count` latent vectors (`count * latentDim` values), HWC per image. */
  decode(z: Float32Array, count: number): Promise<Float32Array>;
  dispose(): void;
}

// eslint-disable-next-line @typescript-eslint/consistent-type-imports -- a type-only view of the lazily imported module
type Tf = typeof import('@tensorflow/tfjs');
let tfPromise: Promise<Tf> | null = null;

/** tfjs with the best backend that initialises here ('webgl', else 'cpu'); loaded once. */
export function loadTf(prefer: 'webgl' | 'cpu' = 'webgl'): Promise<Tf> {
  tfPromise ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    let ok = false;
    if (prefer === 'webgl') {
      try {
        ok = await tf.setBackend('webgl');
        await tf.ready();
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      await tf.setBackend('cpu');
      await tf.ready();
    }
    return tf;
  })();
  return tfPromise;
}

/** The decoder of `w` as a tfjs LayersModel in the renderer. */
export async function loadDecoder(w: DecoderWeights, prefer: 'webgl' | 'cpu' = 'webgl'): Promise<LatentDecoder> {
  const tf = await loadTf(prefer);
  const bytes = decodeBase64(w.weights);
  const weightSpecs = w.modelJson.weightsManifest.flatMap((g) => g.weights) as io.WeightsManifestEntry[];
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: w.modelJson.modelTopology as object, weightSpecs, weightData }));
  const backend = tf.getBackend();
  return {
    backend,
    latentDim: w.latentDim,
    likelihood: w.likelihood,
    width: w.width,
    height: w.height,
    channels: w.channels,
    async decode(z, count) {
      if (z.length !== count * w.latentDim) throw new Error(`expected ${count * w.latentDim} latent values, got ${z.length}`);
      const out = tf.tidy(() => {
        const y = model.predict(tf.tensor2d(z, [count, w.latentDim]));
        return Array.isArray(y) ? y[0]! : y;
      });
      // Read outside the tidy (a tidy walks the arrays it returns).
      const raw = await out.data();
      out.dispose();
      return likelihoodMean(w.likelihood, raw);
    },
    dispose() {
      model.dispose();
    },
  };
}

/** Decoding through main (latent.decode): the fallback where tfjs does not load in the renderer. */
export function mainDecoder(
  call: (z: string) => Promise<{ count: number; width: number; height: number; channels: number; pixels: string }>,
  info: ImageShape & { latentDim: number; likelihood: string },
): LatentDecoder {
  return {
    backend: 'main',
    ...info,
    async decode(z) {
      const r = await call(base64OfF32(z));
      const px = decodeBase64(r.pixels);
      const out = new Float32Array(px.length);
      for (let i = 0; i < px.length; i++) out[i] = px[i]! / 255;
      return out;
    },
    dispose() {},
  };
}
