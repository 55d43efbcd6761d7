/**
 * Faster matrix products for the tfjs 'wasm' backend. Its BatchMatMul / _FusedMatMul use the fast
 * XNNPACK path only when neither input is transposed and fall back to a naive loop otherwise
 * (measured here: ~13 vs ~1 GFLOP/s). Backpropagation through a dense layer always asks for one
 * transposed input (dW = x^T dy, dx = dy W^T), so an MLP VAE spends most of its step in the slow
 * path. These wrappers transpose the input explicitly first (a cheap memory pass) and then call the
 * original kernel without transposes. Results equal the original kernels' up to float32 rounding.
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../core/tf.ts';

interface Backend {
  disposeData(dataId: object): void;
}

let installed = false;

/** Re-registers BatchMatMul and _FusedMatMul for 'wasm'. Idempotent; call before tf.setBackend('wasm'). */
export function installWasmMatMulKernels(tf: Tf): void {
  if (installed) return;
  const transpose = tf.getKernel('Transpose', 'wasm');
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const original = tf.getKernel(name, 'wasm');
    if (!original || !transpose) continue;
    const replacement: KernelConfig = { ...original, kernelFunc: transposingFirst(original.kernelFunc, transpose.kernelFunc) };
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(replacement);
  }
  installed = true;
}

function transposingFirst(matMul: KernelFunc, transpose: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as NamedAttrMap & { transposeA?: boolean; transposeB?: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return matMul(args);
    const backend = args.backend as unknown as Backend;
    const inputs = { ...args.inputs };
    const temporaries: TensorInfo[] = [];
    const swapLastTwo = (t: TensorInfo): TensorInfo => {
      const rank = t.shape.length;
      const perm = [...Array(rank).keys()];
      perm[rank - 2] = rank - 1;
      perm[rank - 1] = rank - 2;
      const out = transpose({ inputs: { x: t }, backend: args.backend, attrs: { perm } }) as TensorInfo;
      temporaries.push(out);
      return out;
    };
    if (attrs.transposeA) inputs['a'] = swapLastTwo(inputs['a']!);
    if (attrs.transposeB) inputs['b'] = swapLastTwo(inputs['b']!);
    try {
      return matMul({ inputs, backend: args.backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
}
