/**
 * Kernels registered for the tfjs 'wasm' backend (4.22) so that it trains fast and trains at all:
 *
 * - BatchMatMul / _FusedMatMul: the stock kernels use the fast XNNPACK path only when neither input
 *   is transposed and fall back to a naive loop otherwise (measured here: ~13 vs ~1 GFLOP/s).
 *   Backpropagation through a dense layer always asks for one transposed input (dW = x^T dy,
 *   dx = dy W^T), so an MLP VAE spent most of its step in the slow path. The wrappers transpose the
 *   input explicitly first (a cheap memory pass) and then call the original kernel without
 *   transposes.
 * - Conv2DBackpropFilter: missing from the package, so no convolution could be trained on 'wasm'.
 *   dW = im2col(x)^T dy, with the patch matrix built in JS straight into the wasm heap and the
 *   product done by the fast matMul above.
 * - Conv2DBackpropInput (the input gradient of a convolution and the forward pass of a transposed
 *   convolution, i.e. the conv decoder): the stock kernel is a direct loop; here it is
 *   cols = dy W^T by the fast matMul, then col2im (a scatter-add of the patches) in JS.
 * - Sum over leading axes (bias gradients): without the stock kernel's transpose.
 * Results equal the 'cpu' backend's up to float32 rounding (test/unit/core/wasm-*.test.ts).
 * Only NHWC with dilation 1 is handled (what tfjs-layers' Conv2D / Conv2DTranspose use); anything
 * else goes to the stock kernel, or fails as before for the filter gradient.
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../core/tf.ts';

/** The parts of the wasm backend (BackendWasm) these kernels use. */
interface Backend {
  disposeData(dataId: object): void;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

let installed = false;
let convInstalled = false;

/** Every kernel of this file. Idempotent; call before tf.setBackend('wasm'). */
export function installWasmKernels(tf: Tf): void {
  installWasmSumKernel(tf);
  installWasmMatMulKernels(tf);
  installWasmConvKernels(tf);
}

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

type Conv2DInfo = ReturnType<Tf['backend_util']['computeConv2DInfo']>;
interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | { type: string };
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Registers Conv2DBackpropFilter (absent from the package) and replaces Conv2DBackpropInput for
 * 'wasm'. Idempotent; call after installWasmMatMulKernels (the products go through the registered
 * BatchMatMul, whichever it is) and before tf.setBackend('wasm').
 */
export function installWasmConvKernels(tf: Tf): void {
  if (convInstalled) return;
  const matMulKernel = () => {
    const k = tf.getKernel('BatchMatMul', 'wasm');
    if (!k) throw new Error("the wasm backend has no BatchMatMul kernel");
    return k.kernelFunc;
  };
  const transposeKernel = () => {
    const k = tf.getKernel('Transpose', 'wasm');
    if (!k) throw new Error('the wasm backend has no Transpose kernel');
    return k.kernelFunc;
  };
  const matMul = (backend: Backend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): TensorInfo =>
    matMulKernel()({ inputs: { a, b }, backend: backend as never, attrs: { transposeA, transposeB } }) as TensorInfo;
  const info = (xShape: number[], filterShape: number[], attrs: ConvAttrs): Conv2DInfo =>
    tf.backend_util.computeConv2DInfo(
      xShape as [number, number, number, number],
      filterShape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad as 'valid',
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );

  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const backend = args.backend as unknown as Backend;
        const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
        const attrs = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
        if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
        const c = info(x.shape, attrs.filterShape, attrs);
        const M = c.batchSize * c.outHeight * c.outWidth;
        const K = c.filterHeight * c.filterWidth * c.inChannels;
        const Co = c.outChannels;
        const cols = backend.makeOutput([M, K], 'float32');
        try {
          im2col(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(cols), c);
          const dy2d: TensorInfo = { dataId: dy.dataId, shape: [M, Co], dtype: 'float32' };
          if (K <= Co) {
            // dW [K, Co] = cols^T [K, M] . dy [M, Co]: the smaller operand, cols, is the one transposed.
            const out = matMul(backend, cols, dy2d, true, false);
            return { dataId: out.dataId, shape: [...attrs.filterShape], dtype: 'float32' };
          }
          // dW^T [Co, K] = dy^T [Co, M] . cols [M, K], then a transpose of the small result: this
          // moves M * Co values instead of M * K (measured ~1.5x faster for Conv 32 -> 64).
          const outT = matMul(backend, dy2d, cols, true, false);
          try {
            const t = transposeKernel()({ inputs: { x: { ...outT, shape: [Co, K] } }, backend: backend as never, attrs: { perm: [1, 0] } }) as TensorInfo;
            return { dataId: t.dataId, shape: [...attrs.filterShape], dtype: 'float32' };
          } finally {
            backend.disposeData(outT.dataId);
          }
        } finally {
          backend.disposeData(cols.dataId);
        }
      },
    });
  }

  const stockInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (stockInput) tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({
    ...(stockInput ?? {}),
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const backend = args.backend as unknown as Backend;
      const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
      const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
      if (attrs.dataFormat === 'NCHW') {
        if (!stockInput) throw new Error('Conv2DBackpropInput on wasm supports NHWC only');
        return stockInput.kernelFunc(args);
      }
      const c = info(attrs.inputShape, filter.shape, attrs);
      const M = c.batchSize * c.outHeight * c.outWidth;
      const K = c.filterHeight * c.filterWidth * c.inChannels;
      // cols [M, K] = dy [M, Co] . W^T, W viewed as [K, Co]; then scatter-add every patch.
      const dy2d: TensorInfo = { dataId: dy.dataId, shape: [M, c.outChannels], dtype: 'float32' };
      const w2d: TensorInfo = { dataId: filter.dataId, shape: [K, c.outChannels], dtype: 'float32' };
      const cols = matMul(backend, dy2d, w2d, false, true);
      try {
        const dx = backend.makeOutput([...attrs.inputShape], 'float32');
        // Views taken after every allocation: a growing wasm memory detaches older ones.
        col2im(backend.typedArrayFromHeap({ ...cols, shape: [M, K] }), backend.typedArrayFromHeap(dx), c);
        return dx;
      } finally {
        backend.disposeData(cols.dataId);
      }
    },
  });
  convInstalled = true;
}

/**
 * cols[m, k] with m = (n, oy, ox) and k = (ky, kx, ci): the input value under filter tap (ky, kx)
 * for output pixel (oy, ox), or 0 in the padding. Rows are written in order, runs of inChannels
 * values copied at once.
 */
function im2col(x: Float32Array, cols: Float32Array, c: Conv2DInfo): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo, filterHeight: kh, filterWidth: kw } = c;
  const { strideHeight: sh, strideWidth: sw } = c;
  const top = c.padInfo.top;
  const left = c.padInfo.left;
  const rowLen = kw * Ci;
  let dst = 0;
  for (let n = 0; n < N; n++) {
    const xn = n * H * W * Ci;
    for (let oy = 0; oy < Ho; oy++) {
      const y0 = oy * sh - top;
      for (let ox = 0; ox < Wo; ox++) {
        const x0 = ox * sw - left;
        for (let ky = 0; ky < kh; ky++) {
          const iy = y0 + ky;
          if (iy < 0 || iy >= H) {
            cols.fill(0, dst, dst + rowLen);
            dst += rowLen;
            continue;
          }
          const xrow = xn + iy * W * Ci;
          for (let kx = 0; kx < kw; kx++) {
            const ix = x0 + kx;
            if (ix < 0 || ix >= W) {
              for (let ci = 0; ci < Ci; ci++) cols[dst + ci] = 0;
            } else {
              const src = xrow + ix * Ci;
              for (let ci = 0; ci < Ci; ci++) cols[dst + ci] = x[src + ci]!;
            }
            dst += Ci;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[n, iy, ix, ci] = sum of the cols entries that read it. */
function col2im(cols: Float32Array, dx: Float32Array, c: Conv2DInfo): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo, filterHeight: kh, filterWidth: kw } = c;
  const { strideHeight: sh, strideWidth: sw } = c;
  const top = c.padInfo.top;
  const left = c.padInfo.left;
  dx.fill(0);
  let src = 0;
  for (let n = 0; n < N; n++) {
    const xn = n * H * W * Ci;
    for (let oy = 0; oy < Ho; oy++) {
      const y0 = oy * sh - top;
      for (let ox = 0; ox < Wo; ox++) {
        const x0 = ox * sw - left;
        for (let ky = 0; ky < kh; ky++) {
          const iy = y0 + ky;
          if (iy < 0 || iy >= H) {
            src += kw * Ci;
            continue;
          }
          const xrow = xn + iy * W * Ci;
          for (let kx = 0; kx < kw; kx++) {
            const ix = x0 + kx;
            if (ix >= 0 && ix < W) {
              const dst = xrow + ix * Ci;
              for (let ci = 0; ci < Ci; ci++) dx[dst + ci]! += cols[src + ci]!;
            }
            src += Ci;
          }
        }
      }
    }
  }
}

let sumInstalled = false;

/**
 * Replaces Sum for 'wasm' when it reduces leading axes: every bias gradient does (the sum over
 * batch, height and width of an NHWC gradient), and the stock kernel first transposes the reduced
 * axes to the end, a full memory pass over the largest activations (measured here for
 * [128, 14, 14, 32] -> [32]: ~5 ms stock, ~2 ms this way). Rows are added in place instead. Other
 * reductions go to the stock kernel. (A JS Transpose was tried too: no faster than the stock one.)
 * Idempotent; call before tf.setBackend('wasm').
 */
export function installWasmSumKernel(tf: Tf): void {
  if (sumInstalled) return;
  const stockSum = tf.getKernel('Sum', 'wasm');
  if (stockSum) {
    tf.unregisterKernel('Sum', 'wasm');
    tf.registerKernel({
      ...stockSum,
      kernelFunc: (args) => {
        const backend = args.backend as unknown as Backend;
        const x = (args.inputs as { x: TensorInfo }).x;
        const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
        const rank = x.shape.length;
        const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
        // Only "sum over the first k axes, k < rank" of float32; everything else stays stock.
        const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
        if (!leading || x.dtype !== 'float32') return stockSum.kernelFunc(args);
        const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
        const rest = x.shape.slice(axes.length);
        const width = rest.reduce((a, b) => a * b, 1);
        const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...rest] : rest, 'float32');
        const src = backend.typedArrayFromHeap(x);
        const dst = backend.typedArrayFromHeap(out);
        // Accumulate in float64, then round once: at least as accurate as the stock float32 sum.
        const acc = new Float64Array(width);
        for (let r = 0; r < rows; r++) {
          const o = r * width;
          for (let j = 0; j < width; j++) acc[j]! += src[o + j]!;
        }
        dst.set(acc);
        return out;
      },
    });
  }
  sumInstalled = true;
}
