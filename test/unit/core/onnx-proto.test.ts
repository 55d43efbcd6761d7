/**
 * The protobuf writer behind the ONNX export: field encodings checked against the byte sequences of
 * the protobuf encoding guide, and a whole ModelProto decoded back by a minimal reader written here
 * (independent of the writer) to check every field the export relies on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeModel, ProtoWriter } from '../../../src-main/core/export/onnx-proto.ts';

const bytes = (w: ProtoWriter) => [...w.finish()];

test('varints: 1, 150, 300, 2^32 and -1 (64-bit two\'s complement, ten bytes)', () => {
  assert.deepEqual(bytes(new ProtoWriter().varint(1)), [0x01]);
  assert.deepEqual(bytes(new ProtoWriter().varint(150)), [0x96, 0x01]);
  assert.deepEqual(bytes(new ProtoWriter().varint(300)), [0xac, 0x02]);
  assert.deepEqual(bytes(new ProtoWriter().varint(2 ** 32)), [0x80, 0x80, 0x80, 0x80, 0x10]);
  assert.deepEqual(bytes(new ProtoWriter().varint(-1)), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
});

test('fields: the encoding guide\'s examples (int 150 in field 1, "testing" in field 2, packed [3, 270, 86942] in field 4)', () => {
  assert.deepEqual(bytes(new ProtoWriter().int(1, 150)), [0x08, 0x96, 0x01]);
  assert.deepEqual(bytes(new ProtoWriter().string(2, 'testing')), [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
  assert.deepEqual(bytes(new ProtoWriter().packedInts(4, [3, 270, 86942])), [0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]);
  // float 1.0 in field 2: key (2 << 3 | 5) = 0x15, then IEEE-754 little-endian 0x3f800000.
  assert.deepEqual(bytes(new ProtoWriter().float(2, 1)), [0x15, 0x00, 0x00, 0x80, 0x3f]);
  // An embedded message: key (3 << 3 | 2), length, its bytes.
  assert.deepEqual(bytes(new ProtoWriter().message(3, (m) => m.int(1, 150))), [0x1a, 0x03, 0x08, 0x96, 0x01]);
});

test('the buffer grows past its first allocation', () => {
  const big = new Uint8Array(10_000).map((_, i) => i % 251);
  const out = new ProtoWriter().lengthDelimited(1, big).finish();
  assert.equal(out.length, 1 + 2 + 10_000);
  assert.deepEqual([...out.subarray(3, 8)], [0, 1, 2, 3, 4]);
  assert.equal(out[out.length - 1], 9_999 % 251);
});

// ── a minimal protobuf reader (wire types 0, 2, 5) ───────────────────────────────────────────────
type Field = { no: number; wire: number; v: bigint | Uint8Array };
function readVarint(b: Uint8Array, pos: { i: number }): bigint {
  let shift = 0n;
  let v = 0n;
  for (;;) {
    const byte = b[pos.i++]!;
    v |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return v;
    shift += 7n;
  }
}
function parse(b: Uint8Array): Field[] {
  const out: Field[] = [];
  const pos = { i: 0 };
  while (pos.i < b.length) {
    const key = Number(readVarint(b, pos));
    const no = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, v: readVarint(b, pos) });
    else if (wire === 2) {
      const n = Number(readVarint(b, pos));
      out.push({ no, wire, v: b.subarray(pos.i, pos.i + n) });
      pos.i += n;
    } else if (wire === 5) {
      out.push({ no, wire, v: b.subarray(pos.i, pos.i + 4) });
      pos.i += 4;
    } else throw new Error(`wire type ${wire}`);
  }
  assert.equal(pos.i, b.length, 'no trailing bytes');
  return out;
}
const all = (fs: Field[], no: number) => fs.filter((f) => f.no === no);
const one = (fs: Field[], no: number) => {
  const m = all(fs, no);
  assert.equal(m.length, 1, `field ${no} once`);
  return m[0]!.v;
};
const str = (v: bigint | Uint8Array) => new TextDecoder().decode(v as Uint8Array);
const msg = (v: bigint | Uint8Array) => parse(v as Uint8Array);
const packed = (v: bigint | Uint8Array) => {
  const b = v as Uint8Array;
  const pos = { i: 0 };
  const out: number[] = [];
  while (pos.i < b.length) out.push(Number(BigInt.asIntN(64, readVarint(b, pos))));
  return out;
};

test('a ModelProto decodes back: ir_version, opset, producer, graph with node, attribute, initializer, symbolic batch', () => {
  const model = encodeModel({
    irVersion: 7,
    opsetVersion: 13,
    producerName: 'VAE Studio',
    producerVersion: '1.2.3',
    metadata: { run: 'run-1' },
    graph: {
      name: 'g',
      nodes: [
        { opType: 'Gemm', name: 'dense', inputs: ['x', 'W'], outputs: ['h'] },
        { opType: 'LeakyRelu', name: 'act', inputs: ['h'], outputs: ['y'], attributes: [{ name: 'alpha', kind: 'float', value: 0.25 }] },
        { opType: 'Reshape', name: 'r', inputs: ['y', 'shape'], outputs: ['y2'] },
      ],
      initializers: [
        { name: 'W', type: 'float', dims: [2, 1], data: Float32Array.from([1.5, -2]) },
        { name: 'shape', type: 'int64', dims: [2], data: [-1, 1] },
      ],
      inputs: [{ name: 'x', dims: ['batch', 2] }],
      outputs: [{ name: 'y2', dims: ['batch', 1] }],
    },
  });
  const m = parse(model);
  assert.equal(one(m, 1), 7n); // ir_version
  assert.equal(str(one(m, 2)), 'VAE Studio');
  assert.equal(str(one(m, 3)), '1.2.3');
  const opset = msg(one(m, 8));
  assert.equal(str(one(opset, 1)), '');
  assert.equal(one(opset, 2), 13n);
  const meta = msg(one(m, 14));
  assert.deepEqual([str(one(meta, 1)), str(one(meta, 2))], ['run', 'run-1']);

  const g = msg(one(m, 7));
  assert.equal(str(one(g, 2)), 'g');
  const nodes = all(g, 1).map((f) => msg(f.v));
  assert.deepEqual(nodes.map((n) => str(one(n, 4))), ['Gemm', 'LeakyRelu', 'Reshape']);
  assert.deepEqual(all(nodes[0]!, 1).map((f) => str(f.v)), ['x', 'W']);
  assert.deepEqual(all(nodes[0]!, 2).map((f) => str(f.v)), ['h']);
  const attr = msg(one(nodes[1]!, 5));
  assert.equal(str(one(attr, 1)), 'alpha');
  assert.equal(Buffer.from(one(attr, 2) as Uint8Array).readFloatLE(0), 0.25);
  assert.equal(one(attr, 20), 1n); // AttributeProto.FLOAT

  const [w, shape] = all(g, 5).map((f) => msg(f.v));
  assert.deepEqual(packed(one(w!, 1)), [2, 1]);
  assert.equal(one(w!, 2), 1n); // FLOAT
  assert.equal(str(one(w!, 8)), 'W');
  const raw = Buffer.from(one(w!, 9) as Uint8Array);
  assert.deepEqual([raw.readFloatLE(0), raw.readFloatLE(4)], [1.5, -2]);
  assert.equal(one(shape!, 2), 7n); // INT64
  const rawShape = Buffer.from(one(shape!, 9) as Uint8Array);
  assert.deepEqual([rawShape.readBigInt64LE(0), rawShape.readBigInt64LE(8)], [-1n, 1n]);

  const input = msg(one(g, 11));
  assert.equal(str(one(input, 1)), 'x');
  const tensorType = msg(one(msg(one(input, 2)), 1));
  assert.equal(one(tensorType, 1), 1n); // elem_type FLOAT
  const dims = all(msg(one(tensorType, 2)), 1).map((f) => msg(f.v));
  assert.equal(str(one(dims[0]!, 2)), 'batch');
  assert.equal(one(dims[1]!, 1), 2n);
  assert.equal(str(one(msg(one(g, 12)), 1)), 'y2');
});
