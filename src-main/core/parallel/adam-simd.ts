/**
 * The Adam update as a small WebAssembly SIMD function, four float32 lanes at a time, for the
 * single-thread fused Adam (engine.ts createLocalAdam). A scalar JS loop (fused-adam.ts adamSlice)
 * needs a double-precision square root and division per element and is no faster than tfjs-wasm's
 * ~13 separate SIMD passes (measured here: both ~7-8 ms for the 653k parameters of the MLP
 * 784-400-20); this does the same update in one SIMD pass.
 *
 * Every lane follows tfjs' AdamOptimizer operation for operation, each rounded to float32 as the
 * tfjs kernels round it:
 *   g' = g * scale
 *   m  = m * b1 + g' * (1 - b1)
 *   v  = v * b2 + (g' * g') * (1 - b2)
 *   w  = ((m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)) * (-lr) + w
 * A second function, sumsq, gives the gradient's squared norm in float64 from the same memory.
 * The module is built here from its instructions (no binary blob); `createAdamSimd` returns null
 * where WebAssembly SIMD is unavailable, and the caller falls back to adamSlice.
 *
 * The function, in the WebAssembly text format:
 *   (func (export "adam") (param $w $m $v $g $bytes i32) (param $b1 $a1 $b2 $a2 $oma1 $oma2 $eps $neglr $scale f32)
 *     splat every f32 parameter into a v128 local; $i = 0
 *     (block (loop
 *       (br_if 1 (i32.ge_u $i $bytes))
 *       gk = load(g + i) * SCALE
 *       mk = load(m + i) * B1 + gk * A1;           store(m + i, mk)
 *       vk = load(v + i) * B2 + (gk * gk) * A2;    store(v + i, vk)
 *       store(w + i, ((mk / OMA1) / (sqrt(vk / OMA2) + EPS)) * NEGLR + load(w + i))
 *       $i += 16 (br 0)))
 */

/** The update's constants for one step; see the file's comment. */
export interface AdamSimdStep {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** The learning rate of this step. */
  lr: number;
  /** Gradient scale from clipping (1 without). */
  scale: number;
  /** 1 - beta1^t and 1 - beta2^t for this step's t (the bias corrections). */
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
}

export interface AdamSimd {
  /** Weights, first and second moments and gradient, each `padded` floats in the module's memory. */
  readonly w: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly g: Float32Array;
  /** Updates all `padded` elements of w, m, v in place from g (padding lanes: g = m = v = 0 stay 0, w unchanged). */
  step(h: AdamSimdStep): void;
  /** sum_k g[k]^2, accumulated in float64 (the gradient's squared global norm). */
  gradSumOfSquares(): number;
}

// Opcodes used below (WebAssembly core + SIMD proposals).
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_GE_U = 0x4f;
const BLOCK = 0x02;
const LOOP = 0x03;
const VOID = 0x40;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00, 0x00, 0x00]; // memarg: align 2^0, offset 0
const V128_STORE = [SIMD, 0x0b, 0x00, 0x00];
const F32X4_SPLAT = [SIMD, 0x13];
const F32X4_SQRT = [SIMD, 0xe3, 0x01];
const F32X4_ADD = [SIMD, 0xe4, 0x01];
const F32X4_MUL = [SIMD, 0xe6, 0x01];
const F32X4_DIV = [SIMD, 0xe7, 0x01];
const F64X2_PROMOTE_LOW = [SIMD, 0x5f];
const F64X2_ADD = [SIMD, 0xf0, 0x01];
const F64X2_MUL = [SIMD, 0xf2, 0x01];
const F64X2_EXTRACT_LANE = (lane: number) => [SIMD, 0x21, lane];
const F64_ADD = 0xa0;
const I32 = 0x7f;
const F64 = 0x7c;
const F32 = 0x7d;
const V128 = 0x7b;

// Parameters (then locals), by index.
const [W, M, V, G, BYTES] = [0, 1, 2, 3, 4];
const F32_PARAMS = 9; // b1, a1, b2, a2, oma1, oma2, eps, neglr, scale: indices 5..13
const I = 14;
const SPLAT0 = 15; // 15..23: the splatted f32 parameters, in the same order
const [SB1, SA1, SB2, SA2, SOMA1, SOMA2, SEPS, SNEGLR, SSCALE] = [15, 16, 17, 18, 19, 20, 21, 22, 23];
const [GK, MK, VK] = [24, 25, 26];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

/** The address (base + i) of lane group i of the vector at parameter `base`. */
const at = (base: number) => [LOCAL_GET, base, LOCAL_GET, I, I32_ADD];

function adamBody(): number[] {
  const code: number[] = [];
  for (let p = 0; p < F32_PARAMS; p++) code.push(LOCAL_GET, 5 + p, ...F32X4_SPLAT, LOCAL_SET, SPLAT0 + p);
  code.push(BLOCK, VOID, LOOP, VOID);
  code.push(LOCAL_GET, I, LOCAL_GET, BYTES, I32_GE_U, BR_IF, 1);
  // gk = g * scale
  code.push(...at(G), ...V128_LOAD, LOCAL_GET, SSCALE, ...F32X4_MUL, LOCAL_SET, GK);
  // mk = m * b1 + gk * a1; store
  code.push(...at(M), ...V128_LOAD, LOCAL_GET, SB1, ...F32X4_MUL, LOCAL_GET, GK, LOCAL_GET, SA1, ...F32X4_MUL, ...F32X4_ADD, LOCAL_SET, MK);
  code.push(...at(M), LOCAL_GET, MK, ...V128_STORE);
  // vk = v * b2 + (gk * gk) * a2; store
  code.push(...at(V), ...V128_LOAD, LOCAL_GET, SB2, ...F32X4_MUL, LOCAL_GET, GK, LOCAL_GET, GK, ...F32X4_MUL, LOCAL_GET, SA2, ...F32X4_MUL, ...F32X4_ADD, LOCAL_SET, VK);
  code.push(...at(V), LOCAL_GET, VK, ...V128_STORE);
  // w = ((mk / oma1) / (sqrt(vk / oma2) + eps)) * neglr + w
  code.push(...at(W));
  code.push(LOCAL_GET, MK, LOCAL_GET, SOMA1, ...F32X4_DIV);
  code.push(LOCAL_GET, VK, LOCAL_GET, SOMA2, ...F32X4_DIV, ...F32X4_SQRT, LOCAL_GET, SEPS, ...F32X4_ADD);
  code.push(...F32X4_DIV, LOCAL_GET, SNEGLR, ...F32X4_MUL, ...at(W), ...V128_LOAD, ...F32X4_ADD, ...V128_STORE);
  // i += 16
  code.push(LOCAL_GET, I, I32_CONST, 16, I32_ADD, LOCAL_SET, I, BR, 0, END, END, END);
  const locals = vec([[1, I32], [12, V128]]);
  return [...locals, ...code];
}

/** The module's binary (exported for tests). */
export function moduleBytes(): Uint8Array {
  const params = [I32, I32, I32, I32, I32, ...Array.from({ length: F32_PARAMS }, () => F32)];
  const adamType = [0x60, ...vec(params.map((t) => [t])), ...vec([])];
  const sumType = [0x60, ...vec([[I32], [I32]]), ...vec([[F64]])];
  const adam = adamBody();
  const sum = sumOfSquaresBody();
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([adamType, sumType])),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0x00, 1]])), // one memory, at least 1 page; grown below
    ...section(7, vec([[...name('adam'), 0x00, 0], [...name('sumsq'), 0x00, 1], [...name('memory'), 0x02, 0]])),
    ...section(10, vec([[...uleb(adam.length), ...adam], [...uleb(sum.length), ...sum]])),
  ]);
}

/**
 * (func (export "sumsq") (param $p $bytes i32) (result f64)): sum_k p[k]^2 over float32 lanes,
 * each squared and added in float64 (two f64x2 accumulators: lanes 0-1 and 2-3 of every group).
 */
function sumOfSquaresBody(): number[] {
  const [P, N, J, LO, HI, X] = [0, 1, 2, 3, 4, 5];
  const code: number[] = [];
  code.push(BLOCK, VOID, LOOP, VOID);
  code.push(LOCAL_GET, J, LOCAL_GET, N, I32_GE_U, BR_IF, 1);
  // lanes 0, 1 of the group at p + j, then lanes 2, 3 (the low half of the load at p + j + 8)
  code.push(LOCAL_GET, P, LOCAL_GET, J, I32_ADD, ...V128_LOAD, ...F64X2_PROMOTE_LOW, LOCAL_SET, X);
  code.push(LOCAL_GET, LO, LOCAL_GET, X, LOCAL_GET, X, ...F64X2_MUL, ...F64X2_ADD, LOCAL_SET, LO);
  code.push(LOCAL_GET, P, LOCAL_GET, J, I32_ADD, I32_CONST, 8, I32_ADD, ...V128_LOAD, ...F64X2_PROMOTE_LOW, LOCAL_SET, X);
  code.push(LOCAL_GET, HI, LOCAL_GET, X, LOCAL_GET, X, ...F64X2_MUL, ...F64X2_ADD, LOCAL_SET, HI);
  code.push(LOCAL_GET, J, I32_CONST, 16, I32_ADD, LOCAL_SET, J, BR, 0, END, END);
  code.push(LOCAL_GET, LO, LOCAL_GET, HI, ...F64X2_ADD, LOCAL_SET, X);
  code.push(LOCAL_GET, X, ...F64X2_EXTRACT_LANE(0), LOCAL_GET, X, ...F64X2_EXTRACT_LANE(1), F64_ADD, END);
  return [...vec([[1, I32], [3, V128]]), ...code];
}

/** The parts of the WebAssembly JS API used here (the project's typings do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** Vectors of `count` floats (rounded up to whole lanes) in a fresh module; null without WebAssembly SIMD. */
export function createAdamSimd(count: number): AdamSimd | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!wasm) return null;
  const bytes = moduleBytes();
  if (!wasm.validate(bytes)) return null;
  let instance: { exports: Record<string, unknown> };
  try {
    instance = new wasm.Instance(new wasm.Module(bytes));
  } catch {
    return null;
  }
  const memory = instance.exports['memory'] as WasmMemory;
  const adam = instance.exports['adam'] as (...args: number[]) => void;
  const sumsq = instance.exports['sumsq'] as (p: number, bytes: number) => number;
  const padded = Math.ceil(count / 4) * 4;
  const need = 4 * padded * 4;
  const pages = Math.ceil(need / 65536);
  if (pages > 1) memory.grow(pages - 1);
  const region = (k: number) => new Float32Array(memory.buffer, k * padded * 4, padded);
  const [w, m, v, g] = [region(0), region(1), region(2), region(3)];
  const f = Math.fround;
  return {
    w,
    m,
    v,
    g,
    gradSumOfSquares: () => sumsq(3 * padded * 4, padded * 4),
    step(h) {
      // Scalars as tfjs makes them: float32 tensors of the JS numbers (1 - b1 computed in double).
      adam(0, padded * 4, 2 * padded * 4, 3 * padded * 4, padded * 4, f(h.beta1), f(1 - h.beta1), f(h.beta2), f(1 - h.beta2), f(h.oneMinusAccBeta1), f(h.oneMinusAccBeta2), f(h.epsilon), f(-h.lr), f(h.scale));
    },
  };
}
