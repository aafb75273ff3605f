// safetensors: bit-exact round trips (random bytes, so NaN payloads and -0
// too), files written by other tools, and clear errors for every corruption.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import path from "node:path";
import { LipvaeError } from "../src/errors.js";
import {
  decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type Dtype, type TensorInput,
} from "../src/io/safetensors.js";
import { expectLipvaeError, tempDir } from "./io-util.js";

const SEED = 20220328;
const { dir, cleanup } = tempDir();
test.after(cleanup);

const makers: Record<Dtype, [number, (b: ArrayBuffer) => TensorInput["data"]]> = {
  F64: [8, (b) => new Float64Array(b)],
  F32: [4, (b) => new Float32Array(b)],
  I64: [8, (b) => new BigInt64Array(b)],
  I32: [4, (b) => new Int32Array(b)],
  U8: [1, (b) => new Uint8Array(b)],
};

const bytesOf = (d: TensorInput["data"]) => Array.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));

// A tensor of random dtype and shape whose payload is random bytes.
const tensorArb = fc
  .record({
    dtype: fc.constantFrom<Dtype>("F64", "F32", "I64", "I32", "U8"),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
  })
  .chain(({ dtype, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc.uint8Array({ minLength: n * makers[dtype][0], maxLength: n * makers[dtype][0] }).map((raw) => {
      const buf = new ArrayBuffer(raw.length);
      new Uint8Array(buf).set(raw);
      return { dtype, shape, data: makers[dtype][1](buf) } as TensorInput;
    });
  });

const nameArb = fc.string({ unit: "binary", minLength: 1, maxLength: 12 }).filter((s) => s !== "__metadata__");
const filesArb = fc.record({
  tensors: fc.dictionary(nameArb, tensorArb, { maxKeys: 6 }),
  metadata: fc.dictionary(fc.string({ unit: "binary", maxLength: 10 }), fc.string({ unit: "binary", maxLength: 20 }), { maxKeys: 4 }),
});

test("round-trips bit-exactly, with metadata (fast-check, fixed seed)", () => {
  fc.assert(
    fc.property(filesArb, ({ tensors, metadata }) => {
      const bytes = encodeSafetensors(tensors, metadata);
      const back = decodeSafetensors(bytes);
      assert.equal(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) {
        const u = back.tensors[name]!;
        assert.is(u.dtype, t.dtype);
        assert.equal(u.shape, [...t.shape]);
        assert.equal(bytesOf(u.data), bytesOf(t.data));
      }
      assert.equal({ ...back.metadata }, { ...metadata });
      // The data section starts 8-byte aligned and re-encoding is byte-identical.
      assert.is(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0);
      assert.equal(Array.from(encodeSafetensors(back.tensors, back.metadata)), Array.from(bytes));
    }),
    { seed: SEED, numRuns: 150 },
  );
});

test("special floats survive exactly (NaN payload, -0, subnormals, infinities)", () => {
  const f32 = new Float32Array(5);
  new Uint32Array(f32.buffer).set([0x7fc00001, 0x80000000, 0x00000001, 0x7f800000, 0xff800000]);
  const f64 = Float64Array.of(-0, Number.MIN_VALUE, -Infinity, Math.PI);
  const back = decodeSafetensors(encodeSafetensors({ a: { shape: [5], data: f32 }, b: { shape: [2, 2], data: f64 } }));
  assert.equal(bytesOf(back.tensors.a!.data), bytesOf(f32));
  assert.equal(bytesOf(back.tensors.b!.data), bytesOf(f64));
  assert.ok(back.tensors.a!.data instanceof Float32Array);
  assert.ok(back.tensors.b!.data instanceof Float64Array);
});

test("writes and reads files atomically; names like __proto__ stay plain keys", () => {
  const file = path.join(dir, "model.safetensors");
  const w = new Float32Array([1, 2, 3, 4, 5, 6]);
  writeSafetensors(file, { "decoder.0.weight": { shape: [2, 3], data: w }, __proto__x: { shape: [], data: new Int32Array([7]) } }, { format: "pt" });
  const back = readSafetensors(file);
  assert.equal(Array.from(back.tensors["decoder.0.weight"]!.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  assert.equal(back.tensors["decoder.0.weight"]!.shape, [2, 3]);
  assert.equal(back.tensors.__proto__x!.shape, []);
  assert.equal(back.metadata, { format: "pt" });
  const evil = decodeSafetensors(encodeSafetensors({ ["__proto__"]: { shape: [1], data: new Uint8Array([9]) } }));
  assert.ok(Object.prototype.hasOwnProperty.call(evil.tensors, "__proto__"));
  assert.is(Object.getPrototypeOf(evil.tensors), Object.prototype);
});

/** A file as another writer might lay it out: metadata last, tensors unsorted, header padded. */
function handMade(header: string, data: number[]): Uint8Array {
  const json = Buffer.from(header, "utf8");
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test("reads files laid out by other writers", () => {
  const one = [0, 0, 0x80, 0x3f]; // 1.0f
  const bytes = handMade(
    '{"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}, "a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"format":"pt"}}   ',
    [...one, 7, 8],
  );
  const back = decodeSafetensors(bytes);
  assert.equal(Array.from(back.tensors.a!.data as Float32Array), [1]);
  assert.equal(Array.from(back.tensors.b!.data as Uint8Array), [7, 8]);
  assert.equal(back.metadata, { format: "pt" });
  assert.equal(decodeSafetensors(handMade("{}", [])).tensors, {});
});

test("rejects truncated files at every length with a LipvaeError", () => {
  const bytes = encodeSafetensors({ w: { shape: [3], data: new Float64Array([1, 2, 3]) }, b: { shape: [1], data: new Float32Array([4]) } }, { k: "v" });
  for (let len = 0; len < bytes.length; len++) expectLipvaeError(() => decodeSafetensors(bytes.subarray(0, len), "m.safetensors"), "m.safetensors: ");
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  expectLipvaeError(() => decodeSafetensors(bytes.subarray(0, 5), "f"), "f: file is 5 bytes, too short");
  expectLipvaeError(() => decodeSafetensors(bytes.subarray(0, 20), "f"), `truncated: the header should be ${headerLength} bytes but only 12 follow`);
  expectLipvaeError(() => decodeSafetensors(bytes.subarray(0, bytes.length - 1), "f"), "truncated: the tensors need 28 data bytes, the file has 27");
});

test("rejects corrupt files with a clear reason", () => {
  const f = (header: string, data: number[] = []) => () => decodeSafetensors(handMade(header, data), "bad.safetensors");
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
  expectLipvaeError(() => decodeSafetensors(huge, "x"), "header length 1099511627776 is implausible");
  expectLipvaeError(f('{"a": '), "bad.safetensors: header is not valid");
  expectLipvaeError(f("[1, 2]"), "header is not a JSON object");
  expectLipvaeError(() => decodeSafetensors(handMade("{}", []).fill(0xff, 8), "x"), "x: ");
  expectLipvaeError(f('{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}', [0, 0]), "tensor 'a' has dtype BF16, which lipvae cannot read");
  expectLipvaeError(f('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]), "shape [2] of F32 needs 8 bytes, data_offsets [0, 4] give 4");
  expectLipvaeError(f('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), "shape must be a list of non-negative integers");
  expectLipvaeError(f('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}', [0]), "data_offsets must be [begin, end]");
  expectLipvaeError(f('{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', [0, 0]), "leaving a hole after byte 0");
  expectLipvaeError(
    f('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', [0, 0, 0]),
    "tensor 'b' overlaps the previous tensor",
  );
  expectLipvaeError(f('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', [0, 0, 0]), "2 unexpected bytes after the last tensor");
  expectLipvaeError(f('{"__metadata__":{"epochs":3}}'), "__metadata__ 'epochs' must be a string");
  expectLipvaeError(f('{"a":[1]}'), "tensor 'a': header entry is not an object");
});

test("random corruption never escapes as anything but a LipvaeError (fixed seed)", () => {
  const good = encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }, s: { shape: [3], data: new Uint8Array([1, 2, 3]) } }, { m: "x" });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
      const bad = good.slice();
      bad[at] ^= flip;
      try {
        decodeSafetensors(bad, "flip");
      } catch (err) {
        assert.ok(err instanceof LipvaeError, `byte ${at} ^ ${flip}: ${String(err)}`);
        assert.not.match((err as Error).message, "\n");
      }
    }),
    { seed: SEED, numRuns: 400 },
  );
});

test("refuses to write inconsistent tensors", () => {
  expectLipvaeError(() => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }), "tensor 'w': shape [2, 2] holds 4 values, the data has 3");
  expectLipvaeError(() => encodeSafetensors({ w: { dtype: "F64", shape: [1], data: new Float32Array(1) } }), "dtype F64 does not match its Float32Array");
  expectLipvaeError(() => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }), "invalid tensor name");
});

test("a file from disk is identical to the encoded bytes", () => {
  const file = path.join(dir, "same.safetensors");
  const tensors = { x: { shape: [2], data: new Float64Array([0.1, 0.2]) } };
  writeSafetensors(file, tensors);
  assert.equal(Array.from(readFileSync(file)), Array.from(encodeSafetensors(tensors)));
});

test.run();
