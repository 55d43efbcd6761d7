/**
 * A builder of ONNX graphs with reverse-mode differentiation, for training steps that run in ONNX
 * Runtime's native CPU kernels (MLAS: multithreaded, AVX2/AVX-512 GEMM and convolutions) instead of
 * tfjs. ONNX Runtime's inference build has no gradient operators, so the backward pass is written
 * out as ordinary ONNX nodes: every differentiable operation below records on a tape how to map the
 * gradient of its output to the gradients of its inputs (its vector-Jacobian product, built from
 * forward operators: the input gradient of a convolution is a transposed convolution, its filter
 * gradient a dilated convolution, and so on), and `gradients` walks the tape backwards from a scalar.
 *
 * Shapes are static except the batch, written -1 (the graph's symbolic dimension 'batch'), so the
 * last, smaller batch of an epoch runs through the same session. Operators follow opset 13.
 */
import type { OnnxAttribute, OnnxGraph, OnnxInitializer, OnnxNode, OnnxValueInfo } from '../export/onnx-proto.ts';

/** A value of the graph: its ONNX name and its shape (-1 marks the batch dimension). */
export interface Val {
  readonly name: string;
  readonly shape: readonly number[];
  /** Whether the value depends on a parameter, so that a gradient flows back through it. */
  readonly grad: boolean;
}

/** Maps the gradient of an operation's output to its inputs' gradients (null: no gradient). */
type Vjp = (g: Val) => ReadonlyArray<Val | null>;

interface TapeEntry {
  inputs: readonly Val[];
  out: Val;
  vjp: Vjp;
}

/** Broadcast shape of two operands (numpy rules; the batch -1 only meets -1 or 1). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

export interface ConvSpec {
  strides: [number, number];
  /** [top, left, bottom, right], ONNX's order. */
  pads: [number, number, number, number];
}

export class TrainGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  readonly #tape: TapeEntry[] = [];
  readonly #consts = new Map<string, Val>();
  #counter = 0;

  /** A float input of the graph. */
  input(name: string, shape: readonly number[], grad = false): Val {
    this.inputs.push({ name, dims: shape.map((d) => (d === -1 ? 'batch' : d)) });
    return { name, shape, grad };
  }

  /** Exposes `v` as the graph output `name`. */
  output(v: Val, name: string): void {
    this.nodes.push({ opType: 'Identity', name: `out_${name}`, inputs: [v.name], outputs: [name] });
    this.outputs.push({ name, dims: v.shape.map((d) => (d === -1 ? 'batch' : d)) });
  }

  /** A float scalar constant (shared between uses). */
  scalar(x: number): Val {
    const key = `f:${x}`;
    const hit = this.#consts.get(key);
    if (hit) return hit;
    const name = `const_${this.initializers.length}`;
    this.initializers.push({ name, type: 'float', dims: [], data: Float32Array.of(x) });
    const v: Val = { name, shape: [], grad: false };
    this.#consts.set(key, v);
    return v;
  }

  /** A float tensor constant (e.g. a trained weight baked into an evaluation graph). */
  constant(data: Float32Array, shape: readonly number[]): Val {
    const name = `const_${this.initializers.length}`;
    this.initializers.push({ name, type: 'float', dims: shape, data });
    return { name, shape, grad: false };
  }

  /** An int64 vector constant (axes, shapes, slice bounds, pads). */
  ints(values: readonly number[]): string {
    const key = `i:${values.join(',')}`;
    const hit = this.#consts.get(key);
    if (hit) return hit.name;
    const name = `const_${this.initializers.length}`;
    this.initializers.push({ name, type: 'int64', dims: [values.length], data: values });
    this.#consts.set(key, { name, shape: [values.length], grad: false });
    return name;
  }

  /** Appends a node with one output and returns that output. */
  node(opType: string, inputs: ReadonlyArray<Val | string>, shape: readonly number[], attributes?: OnnxAttribute[], grad?: boolean): Val {
    const name = `${opType.toLowerCase()}_${this.#counter++}`;
    const ins = inputs.map((i) => (typeof i === 'string' ? i : i.name));
    this.nodes.push({ opType, name, inputs: ins, outputs: [name], ...(attributes ? { attributes } : {}) });
    const g = grad ?? inputs.some((i) => typeof i !== 'string' && i.grad);
    return { name, shape, grad: g };
  }

  /** A differentiable node: records its vector-Jacobian product when a gradient flows through it. */
  #diff(opType: string, inputs: readonly Val[], shape: readonly number[], vjp: Vjp, attributes?: OnnxAttribute[], extra: string[] = []): Val {
    const out = this.node(opType, [...inputs, ...extra], shape, attributes, inputs.some((i) => i.grad));
    if (out.grad) this.#tape.push({ inputs, out, vjp });
    return out;
  }

  /** Sums g over the axes along which `shape` was broadcast to g's shape, back to `shape`. */
  unbroadcast(g: Val, shape: readonly number[]): Val {
    if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
    const lead = g.shape.length - shape.length;
    const axes: number[] = [];
    g.shape.forEach((d, i) => {
      const s = i < lead ? 1 : shape[i - lead]!;
      if (s === 1 && d !== 1) axes.push(i);
    });
    let r = axes.length > 0 ? this.node('ReduceSum', [g, this.ints(axes)], g.shape.map((d, i) => (axes.includes(i) ? 1 : d)), [{ name: 'keepdims', kind: 'int', value: 1 }]) : g;
    if (lead > 0 || r.shape.length !== shape.length) r = this.node('Reshape', [r, this.ints(shape.length === 0 ? [] : shape.map((d) => (d === -1 ? 0 : d)))], shape);
    return r;
  }

  // ── elementwise ────────────────────────────────────────────────────────────────────────────────

  add(a: Val, b: Val): Val {
    return this.#diff('Add', [a, b], broadcastShape(a.shape, b.shape), (g) => [this.unbroadcast(g, a.shape), this.unbroadcast(g, b.shape)]);
  }

  sub(a: Val, b: Val): Val {
    return this.#diff('Sub', [a, b], broadcastShape(a.shape, b.shape), (g) => [
      this.unbroadcast(g, a.shape),
      b.grad ? this.unbroadcast(this.node('Neg', [g], g.shape), b.shape) : null,
    ]);
  }

  mul(a: Val, b: Val): Val {
    return this.#diff('Mul', [a, b], broadcastShape(a.shape, b.shape), (g) => [
      a.grad ? this.unbroadcast(this.raw('Mul', g, b), a.shape) : null,
      b.grad ? this.unbroadcast(this.raw('Mul', g, a), b.shape) : null,
    ]);
  }

  /** A non-differentiable elementwise binary node (used inside gradients and updates). */
  raw(opType: string, a: Val, b: Val): Val {
    return this.node(opType, [a, b], broadcastShape(a.shape, b.shape), undefined, false);
  }

  /** A non-differentiable unary node. */
  raw1(opType: string, a: Val, attributes?: OnnxAttribute[]): Val {
    return this.node(opType, [a], a.shape, attributes, false);
  }

  neg(a: Val): Val {
    return this.#diff('Neg', [a], a.shape, (g) => [this.raw1('Neg', g)]);
  }

  square(a: Val): Val {
    return this.#diff('Mul', [a, a], a.shape, (g) => [this.raw('Mul', g, this.raw('Mul', a, this.scalar(2)))]);
  }

  exp(a: Val): Val {
    const y: Val = this.#diff('Exp', [a], a.shape, (g) => [this.raw('Mul', g, y)]);
    return y;
  }

  log(a: Val): Val {
    return this.#diff('Log', [a], a.shape, (g) => [this.raw('Div', g, a)]);
  }

  tanh(a: Val): Val {
    // d tanh = 1 - tanh^2
    const y: Val = this.#diff('Tanh', [a], a.shape, (g) => [this.raw('Mul', g, this.raw('Sub', this.scalar(1), this.raw('Mul', y, y)))]);
    return y;
  }

  sigmoid(a: Val): Val {
    const y: Val = this.#diff('Sigmoid', [a], a.shape, (g) => [this.raw('Mul', g, this.raw('Mul', y, this.raw('Sub', this.scalar(1), y)))]);
    return y;
  }

  /** softplus(a) = log(1 + exp(a)); its derivative is sigmoid(a). */
  softplus(a: Val): Val {
    return this.#diff('Softplus', [a], a.shape, (g) => [this.raw('Mul', g, this.raw1('Sigmoid', a))]);
  }

  relu(a: Val): Val {
    // relu(a) >= 0, so sign(relu(a)) is the 0/1 mask of the positive part.
    const y: Val = this.#diff('Relu', [a], a.shape, (g) => [this.raw('Mul', g, this.raw1('Sign', y))]);
    return y;
  }

  leakyRelu(a: Val, alpha: number): Val {
    return this.#diff('LeakyRelu', [a], a.shape, (g) => [this.where(this.raw('Greater', a, this.scalar(0)), g, this.raw('Mul', g, this.scalar(alpha)))], [
      { name: 'alpha', kind: 'float', value: alpha },
    ]);
  }

  /** elu(a) = a (a > 0), exp(a) - 1 otherwise; derivative 1, or elu(a) + 1. */
  elu(a: Val): Val {
    const y: Val = this.#diff('Elu', [a], a.shape, (g) => [this.where(this.raw('Greater', a, this.scalar(0)), g, this.raw('Mul', g, this.raw('Add', y, this.scalar(1))))], [
      { name: 'alpha', kind: 'float', value: 1 },
    ]);
    return y;
  }

  abs(a: Val): Val {
    return this.#diff('Abs', [a], a.shape, (g) => [this.raw('Mul', g, this.raw1('Sign', a))]);
  }

  /** max(a, c) for a constant c; the gradient goes to a where a >= c (as tfjs's maximum). */
  maximum(a: Val, c: number): Val {
    const cv = this.scalar(c);
    return this.#diff('Max', [a], a.shape, (g) => [this.where(this.raw('GreaterOrEqual', a, cv), g, this.scalar(0))], undefined, [cv.name]);
  }

  /** where(cond, a, b) with a non-differentiable boolean cond. */
  where(cond: Val, a: Val, b: Val): Val {
    const shape = broadcastShape(cond.shape, broadcastShape(a.shape, b.shape));
    if (!a.grad && !b.grad) return this.node('Where', [cond, a, b], shape, undefined, false);
    const zero = this.scalar(0);
    const out = this.node('Where', [cond, a, b], shape, undefined, true);
    this.#tape.push({
      inputs: [a, b],
      out,
      vjp: (g) => [
        a.grad ? this.unbroadcast(this.node('Where', [cond, g, zero], g.shape, undefined, false), a.shape) : null,
        b.grad ? this.unbroadcast(this.node('Where', [cond, zero, g], g.shape, undefined, false), b.shape) : null,
      ],
    });
    return out;
  }

  // ── reductions and layout ──────────────────────────────────────────────────────────────────────

  reduceSum(a: Val, axes: readonly number[], keepdims = false): Val {
    const shape = keepdims ? a.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : a.shape.filter((_, i) => !axes.includes(i));
    const kept = a.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return this.#diff(
      'ReduceSum',
      [a],
      shape,
      (g) => {
        const gk = keepdims ? g : this.node('Reshape', [g, this.ints(kept.map((d) => (d === -1 ? 0 : d)))], kept, undefined, false);
        // Broadcast back: multiply by ones of a's shape (Expand needs a run-time shape with the batch).
        return [this.node('Expand', [gk, this.node('Shape', [a], [a.shape.length], undefined, false)], a.shape, undefined, false)];
      },
      [{ name: 'keepdims', kind: 'int', value: keepdims ? 1 : 0 }],
      [this.ints(axes)],
    );
  }

  reshape(a: Val, shape: readonly number[]): Val {
    return this.#diff('Reshape', [a], shape, (g) => [this.node('Reshape', [g, this.ints(a.shape.map((d) => (d === -1 ? 0 : d)))], a.shape, undefined, false)], undefined, [
      this.ints(shape.map((d) => (d === -1 ? 0 : d))),
    ]);
  }

  transpose(a: Val, perm: readonly number[]): Val {
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return this.#diff('Transpose', [a], perm.map((p) => a.shape[p]!), (g) => [this.node('Transpose', [g], a.shape, [{ name: 'perm', kind: 'ints', value: inverse }], false)], [
      { name: 'perm', kind: 'ints', value: perm },
    ]);
  }

  /** a[..., begin:end, ...] on the given axes (static bounds); its gradient pads with zeros. */
  slice(a: Val, axes: readonly number[], begins: readonly number[], ends: readonly number[]): Val {
    const shape = a.shape.map((d, i) => {
      const k = axes.indexOf(i);
      return k < 0 ? d : ends[k]! - begins[k]!;
    });
    return this.#diff(
      'Slice',
      [a],
      shape,
      (g) => {
        const pads = new Array<number>(2 * a.shape.length).fill(0);
        axes.forEach((ax, k) => {
          pads[ax] = begins[k]!;
          pads[ax + a.shape.length] = a.shape[ax]! - ends[k]!;
        });
        return [this.node('Pad', [g, this.ints(pads)], a.shape, [{ name: 'mode', kind: 'string', value: 'constant' }], false)];
      },
      undefined,
      [this.ints(begins), this.ints(ends), this.ints(axes)],
    );
  }

  // ── layers ────────────────────────────────────────────────────────────────────────────────────

  /** x [N, in] · w [in, out] + b [out]. */
  dense(x: Val, w: Val, b: Val): Val {
    const out = [x.shape[0]!, w.shape[1]!];
    return this.#diff('Gemm', [x, w, b], out, (g) => [
      x.grad ? this.node('Gemm', [g, w], x.shape, [{ name: 'transB', kind: 'int', value: 1 }], false) : null,
      w.grad ? this.node('Gemm', [x, g], w.shape, [{ name: 'transA', kind: 'int', value: 1 }], false) : null,
      b.grad ? this.node('ReduceSum', [g, this.ints([0])], b.shape, [{ name: 'keepdims', kind: 'int', value: 0 }], false) : null,
    ]);
  }

  /**
   * Convolution of x [N, C, H, W] with w [M, C, kh, kw] and bias b [M]. Gradients: the input's is
   * the transposed convolution of g with the same filter; the filter's correlates x with g, a
   * convolution over the batch whose "filter" is g dilated by the stride (filterGradient).
   */
  conv(x: Val, w: Val, b: Val, spec: ConvSpec): Val {
    const [kh, kw] = [w.shape[2]!, w.shape[3]!];
    const [H, W] = [x.shape[2]!, x.shape[3]!];
    const Ho = Math.floor((H + spec.pads[0] + spec.pads[2] - kh) / spec.strides[0]) + 1;
    const Wo = Math.floor((W + spec.pads[1] + spec.pads[3] - kw) / spec.strides[1]) + 1;
    const attrs = convAttrs(spec, [kh, kw]);
    return this.#diff('Conv', [x, w, b], [x.shape[0]!, w.shape[0]!, Ho, Wo], (g) => {
      const outPad = [H - ((Ho - 1) * spec.strides[0] + kh - spec.pads[0] - spec.pads[2]), W - ((Wo - 1) * spec.strides[1] + kw - spec.pads[1] - spec.pads[3])];
      return [
        x.grad ? this.node('ConvTranspose', [g, w], x.shape, [...attrs, { name: 'output_padding', kind: 'ints', value: outPad }], false) : null,
        w.grad ? this.filterGradient(x, g, spec, [kh, kw]) : null,
        b.grad ? this.node('ReduceSum', [g, this.ints([0, 2, 3])], b.shape, [{ name: 'keepdims', kind: 'int', value: 0 }], false) : null,
      ];
    }, attrs);
  }

  /**
   * Transposed convolution of x [N, C, H, W] with w [C, M, kh, kw] (ONNX's layout) and bias b [M],
   * the adjoint of conv with the same filter, stride and pads; `outPad` extends the bottom / right.
   */
  convTranspose(x: Val, w: Val, b: Val, spec: ConvSpec, outPad: [number, number]): Val {
    const [kh, kw] = [w.shape[2]!, w.shape[3]!];
    const [H, W] = [x.shape[2]!, x.shape[3]!];
    const Ho = (H - 1) * spec.strides[0] + kh - spec.pads[0] - spec.pads[2] + outPad[0];
    const Wo = (W - 1) * spec.strides[1] + kw - spec.pads[1] - spec.pads[3] + outPad[1];
    const attrs = convAttrs(spec, [kh, kw]);
    return this.#diff(
      'ConvTranspose',
      [x, w, b],
      [x.shape[0]!, w.shape[1]!, Ho, Wo],
      (g) => [
        x.grad ? this.node('Conv', [g, w], x.shape, attrs, false) : null,
        // w is also the filter of the convolution that maps g back to x (the adjoint), so its
        // gradient is that convolution's filter gradient, with g as the input and x as the output.
        w.grad ? this.filterGradient(g, x, spec, [kh, kw]) : null,
        b.grad ? this.node('ReduceSum', [g, this.ints([0, 2, 3])], b.shape, [{ name: 'keepdims', kind: 'int', value: 0 }], false) : null,
      ],
      [...attrs, { name: 'output_padding', kind: 'ints', value: outPad }],
    );
  }

  /**
   * dW[m, c, i, j] = sum_{n, p, q} dy[n, m, p, q] * xpad[n, c, p * s + i, q * s + j]: the filter
   * gradient of a convolution of x [N, C, H, W] giving dy [N, M, Ho, Wo]. Written as one
   * convolution whose batch is C and whose filter is dy with N as its input channels, dilated by the
   * stride: Conv(xᵀ [C, N, H, W], dyᵀ [M, N, Ho, Wo]) -> [C, M, >= kh, >= kw], cropped to the kernel.
   * Returns [M, C, kh, kw], ONNX's Conv layout.
   */
  filterGradient(x: Val, dy: Val, spec: ConvSpec, kernel: [number, number]): Val {
    const [C, H, W] = [x.shape[1]!, x.shape[2]!, x.shape[3]!];
    const [M, Ho, Wo] = [dy.shape[1]!, dy.shape[2]!, dy.shape[3]!];
    const [s0, s1] = spec.strides;
    // Output extent with pads (top, left) and (bottom', right'): H + top + bottom' - (Ho - 1) s0; at least k.
    const bottom = Math.max(0, kernel[0] + (Ho - 1) * s0 - H - spec.pads[0]);
    const right = Math.max(0, kernel[1] + (Wo - 1) * s1 - W - spec.pads[1]);
    const kh = H + spec.pads[0] + bottom - (Ho - 1) * s0;
    const kw = W + spec.pads[1] + right - (Wo - 1) * s1;
    const xt = this.node('Transpose', [x], [C, -1, H, W], [{ name: 'perm', kind: 'ints', value: [1, 0, 2, 3] }], false);
    const dyt = this.node('Transpose', [dy], [M, -1, Ho, Wo], [{ name: 'perm', kind: 'ints', value: [1, 0, 2, 3] }], false);
    let r = this.node('Conv', [xt, dyt], [C, M, kh, kw], [
      { name: 'dilations', kind: 'ints', value: [s0, s1] },
      { name: 'strides', kind: 'ints', value: [1, 1] },
      { name: 'pads', kind: 'ints', value: [spec.pads[0], spec.pads[1], bottom, right] },
    ], false);
    if (kh !== kernel[0] || kw !== kernel[1]) {
      r = this.node('Slice', [r, this.ints([0, 0]), this.ints(kernel), this.ints([2, 3])], [C, M, kernel[0], kernel[1]], undefined, false);
    }
    return this.node('Transpose', [r], [M, C, kernel[0], kernel[1]], [{ name: 'perm', kind: 'ints', value: [1, 0, 2, 3] }], false);
  }

  // ── differentiation ───────────────────────────────────────────────────────────────────────────

  /** d loss / d wrt for a scalar `loss` (shape []), as graph values in the order of `wrt`. */
  gradients(loss: Val, wrt: readonly Val[]): Val[] {
    if (loss.shape.length !== 0) throw new Error('gradients: the loss must be a scalar');
    const acc = new Map<string, Val>();
    acc.set(loss.name, this.scalar(1));
    for (let i = this.#tape.length - 1; i >= 0; i--) {
      const e = this.#tape[i]!;
      const g = acc.get(e.out.name);
      if (!g) continue;
      const gs = e.vjp(g);
      e.inputs.forEach((inp, k) => {
        const gi = gs[k];
        if (!inp.grad || !gi) return;
        const prev = acc.get(inp.name);
        acc.set(inp.name, prev ? this.raw('Add', prev, gi) : gi);
      });
    }
    return wrt.map((w) => acc.get(w.name) ?? this.node('Mul', [w, this.scalar(0)], w.shape, undefined, false));
  }

  graph(name: string): OnnxGraph {
    return { name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }
}

function convAttrs(spec: ConvSpec, kernel: [number, number]): OnnxAttribute[] {
  return [
    { name: 'kernel_shape', kind: 'ints', value: kernel },
    { name: 'strides', kind: 'ints', value: spec.strides },
    { name: 'pads', kind: 'ints', value: spec.pads },
  ];
}
