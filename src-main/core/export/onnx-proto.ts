/**
 * A small writer of ONNX's protobuf messages: enough of onnx.proto (ONNX IR version 7, opset 13)
 * to describe an inference graph of dense and convolutional layers with float weights. Pure
 * TypeScript, no protobuf library: a message is a list of fields, each a key (field number << 3 |
 * wire type) followed by a varint (wire type 0), 4 little-endian bytes (5: fixed32), or a varint
 * length and that many bytes (2: strings, bytes, sub-messages, packed repeated scalars).
 * See https://protobuf.dev/programming-guides/encoding/ and
 * https://github.com/onnx/onnx/blob/main/onnx/onnx.proto for the field numbers used below.
 */

/** Appends protobuf fields to a growing byte buffer. */
export class ProtoWriter {
  #buf = new Uint8Array(256);
  #len = 0;

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  #byte(b: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = b;
  }

  /**
   * A base-128 varint: 7 bits per byte, least significant group first, the high bit set on every
   * byte but the last. Negative numbers are their 64-bit two's complement (10 bytes), as protobuf
   * writes int64.
   */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`varint: ${value} is not a safe integer`);
    while (v >= 0x80n) {
      this.#byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#byte(Number(v));
    return this;
  }

  bytes(data: Uint8Array): this {
    this.#ensure(data.length);
    this.#buf.set(data, this.#len);
    this.#len += data.length;
    return this;
  }

  #key(field: number, wireType: 0 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }

  /** Field of wire type 0 (int32, int64, enum). */
  int(field: number, value: number | bigint): this {
    this.#key(field, 0);
    return this.varint(value);
  }

  /** Field of wire type 5 (float): IEEE-754 single precision, little-endian. */
  float(field: number, value: number): this {
    this.#key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.bytes(b);
  }

  /** Length-delimited field: raw bytes. */
  lengthDelimited(field: number, data: Uint8Array): this {
    this.#key(field, 2);
    this.varint(data.length);
    return this.bytes(data);
  }

  string(field: number, value: string): this {
    return this.lengthDelimited(field, new TextEncoder().encode(value));
  }

  /** An embedded message, written by `fill` into its own writer. */
  message(field: number, fill: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    fill(inner);
    return this.lengthDelimited(field, inner.finish());
  }

  /** A packed repeated varint field (proto3's default encoding of repeated int64). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.lengthDelimited(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

// ── ONNX messages ────────────────────────────────────────────────────────────────────────────────

/** TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

/** An attribute of a node; the kind is inferred from the value (AttributeProto.AttributeType). */
export type OnnxAttribute =
  | { name: string; kind: 'float'; value: number }
  | { name: string; kind: 'int'; value: number }
  | { name: string; kind: 'ints'; value: readonly number[] }
  | { name: string; kind: 'string'; value: string };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly OnnxAttribute[];
}

/** A constant (weights, shapes) stored in the graph. */
export type OnnxInitializer =
  | { name: string; type: 'float'; dims: readonly number[]; data: Float32Array }
  | { name: string; type: 'int64'; dims: readonly number[]; data: readonly number[] };

/** A graph input or output: a float tensor whose dims are numbers or symbolic names ('batch'). */
export interface OnnxValueInfo {
  name: string;
  dims: readonly (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  docString?: string;
}

export interface OnnxModel {
  /** IR version 7 is the first that opset 13 may be used with (ONNX 1.8). */
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  graph: OnnxGraph;
  /** Free key/value strings (ModelProto.metadata_props). */
  metadata?: Record<string, string>;
  docString?: string;
}

const ATTR_TYPE = { float: 1, int: 2, string: 3, ints: 7 } as const;

function writeAttribute(w: ProtoWriter, a: OnnxAttribute): void {
  w.string(1, a.name); // name
  switch (a.kind) {
    case 'float':
      w.float(2, a.value); // f
      break;
    case 'int':
      w.int(3, a.value); // i
      break;
    case 'string':
      w.string(4, a.value); // s
      break;
    case 'ints':
      w.packedInts(8, a.value); // ints
      break;
  }
  w.int(20, ATTR_TYPE[a.kind]); // type
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, (m) => writeAttribute(m, a));
}

/** The little-endian bytes of a tensor (TensorProto.raw_data is always little-endian). */
function rawData(t: OnnxInitializer): Uint8Array {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new Error(`initializer ${t.name}: ${t.data.length} values for dims [${t.dims.join(', ')}]`);
  if (t.type === 'float') {
    const out = new Uint8Array(n * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < n; i++) view.setFloat32(i * 4, t.data[i]!, true);
    return out;
  }
  const out = new Uint8Array(n * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) view.setBigInt64(i * 8, BigInt(t.data[i]!), true);
  return out;
}

function writeTensor(w: ProtoWriter, t: OnnxInitializer): void {
  if (t.dims.length > 0) w.packedInts(1, t.dims); // dims
  w.int(2, t.type === 'float' ? ONNX_FLOAT : ONNX_INT64); // data_type
  w.string(8, t.name); // name
  w.lengthDelimited(9, rawData(t)); // raw_data
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  // TypeProto { tensor_type (1): TypeProto.Tensor { elem_type (1), shape (2): TensorShapeProto { dim (1)... } } }
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ONNX_FLOAT);
      tensor.message(2, (shape) => {
        for (const d of v.dims) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function writeGraph(w: ProtoWriter, g: OnnxGraph): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  if (g.docString) w.string(10, g.docString);
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
}

/** The bytes of a ModelProto (what an .onnx file holds). */
export function encodeModel(m: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, m.irVersion); // ir_version
  w.string(2, m.producerName); // producer_name
  w.string(3, m.producerVersion); // producer_version
  if (m.docString) w.string(6, m.docString); // doc_string
  w.message(7, (g) => writeGraph(g, m.graph)); // graph
  w.message(8, (o) => {
    // opset_import: the default domain ("") at the requested version
    o.string(1, '');
    o.int(2, m.opsetVersion);
  });
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    w.message(14, (e) => e.string(1, key).string(2, value)); // metadata_props
  }
  return w.finish();
}
