/** Names and explanations of the compute backends, shared by the compute page and the status bar. */
import type { ProbeTarget } from '../../../src-main/contract/index.ts';

export interface TargetInfo {
  /** What a person calls it. */
  label: string;
  /** The npm package that provides it. */
  pkg: string;
  /** One sentence: what it is and when it is worth having. */
  about: string;
}

export const TARGETS: Record<ProbeTarget, TargetInfo> = {
  'tensorflow-gpu': {
    label: 'TensorFlow GPU',
    pkg: '@tensorflow/tfjs-node-gpu',
    about: 'Native TensorFlow on an NVIDIA GPU (CUDA). The fastest by far where it loads.',
  },
  'tensorflow-cpu': {
    label: 'TensorFlow CPU',
    pkg: '@tensorflow/tfjs-node',
    about: 'Native TensorFlow on the processor, using every core.',
  },
  onnxruntime: {
    label: 'ONNX Runtime CPU',
    pkg: 'onnxruntime-node',
    about:
      'Ships with the studio; trains on ONNX Runtime’s native CPU kernels (one thread per core by default), with evaluation and previews on WebAssembly. The fastest without TensorFlow.',
  },
  wasm: {
    label: 'WebAssembly',
    pkg: '@tensorflow/tfjs-backend-wasm',
    about: 'Ships with the studio; SIMD kernels with the studio’s faster matrix products, data-parallel over worker threads.',
  },
  cpu: {
    label: 'Plain JavaScript',
    pkg: '@tensorflow/tfjs',
    about: 'Ships with the studio; slow, the last resort.',
  },
};

/** The first line of a reason; errors from loading native modules can run to many lines. */
export function firstLine(reason: string): string {
  return reason.split('\n', 1)[0]?.trim() ?? '';
}

/**
 * Whether a reason has more than its first line to show. (One that is merely too wide for the
 * window is detected by measuring it: the page shows its toggle then too.)
 */
export function isLongReason(reason: string): boolean {
  return reason.trim().includes('\n');
}

/** A short hint for a backend that did not load, from what its reason says. */
export function hintFor(target: ProbeTarget, reason: string): string | null {
  const missing = /not installed|Cannot find module/i.test(reason);
  if (target === 'tensorflow-gpu') {
    return missing
      ? 'GPU training needs Linux or Windows on x64 with an NVIDIA GPU, CUDA 11.2 and cuDNN 8.1, then this package.'
      : 'Installed but not loading: check that CUDA 11.2 and cuDNN 8.1 libraries are on the library path and the NVIDIA driver works (nvidia-smi).';
  }
  if (target === 'tensorflow-cpu') {
    return missing ? 'Its install downloads libtensorflow, so installing it needs internet access.' : null;
  }
  if (target === 'onnxruntime') {
    return missing
      ? 'It ships with the studio: reinstalling the studio should bring it back. Until then runs train on WebAssembly.'
      : 'Its native library did not load or compute on this machine; runs train on WebAssembly instead.';
  }
  return null;
}
