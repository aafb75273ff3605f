// The safetensors format (as written by Hugging Face's `safetensors`):
//   u64 little-endian N | N bytes of JSON header | raw little-endian tensor data
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]}
// (offsets relative to the data section) plus an optional "__metadata__" map of
// strings. The data section must be covered exactly, with no holes or overlaps.
// We copy raw bytes and never go through JS numbers, so round trips are
// bit-exact (NaN payloads and -0 included).
import { endianness } from "node:os";
import { LipvaeError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";
import { oneLine, parseJsonWithin, showJson } from "./json-guard.js";
import { readBytes } from "./idx.js";

export type Dtype = "F64" | "F32" | "I64" | "I32" | "U8";
export type TensorData = Float64Array | Float32Array | BigInt64Array | Int32Array | Uint8Array;

export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

/** A tensor to write; dtype is taken from the typed array when left out. */
export interface TensorInput {
  dtype?: Dtype;
  shape: readonly number[];
  data: TensorData;
}

export interface SafetensorsContent {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

const dtypes: Record<Dtype, { size: number; make: (buf: ArrayBuffer) => TensorData; of: (d: TensorData) => boolean }> = {
  F64: { size: 8, make: (b) => new Float64Array(b), of: (d) => d instanceof Float64Array },
  F32: { size: 4, make: (b) => new Float32Array(b), of: (d) => d instanceof Float32Array },
  I64: { size: 8, make: (b) => new BigInt64Array(b), of: (d) => d instanceof BigInt64Array },
  I32: { size: 4, make: (b) => new Int32Array(b), of: (d) => d instanceof Int32Array },
  U8: { size: 1, make: (b) => new Uint8Array(b), of: (d) => d instanceof Uint8Array },
};
const supported = Object.keys(dtypes).join(", ");

/** Largest header the reference implementation accepts (100 MB); anything bigger is garbage. */
const MAX_HEADER = 100_000_000;
/** A header is a flat map of entries holding short arrays: 3 levels deep; deeper is corrupt. */
const MAX_HEADER_DEPTH = 8;
const METADATA_KEY = "__metadata__";

function assertLittleEndian(): void {
  // Typed arrays use the host's byte order; the format is little-endian.
  if (endianness() !== "LE") throw new LipvaeError("safetensors files can only be read and written on little-endian machines");
}

/** The safetensors dtype of a typed array. */
export function dtypeOf(data: TensorData): Dtype {
  for (const [name, d] of Object.entries(dtypes)) if (d.of(data)) return name as Dtype;
  throw new LipvaeError(`unsupported typed array ${(data as object).constructor?.name}: use one of ${supported}`);
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

// Own properties even for names like "__proto__", which plain assignment would not create.
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Serialises tensors (and string metadata) to safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, TensorInput>, metadata: Record<string, string> = {}): Uint8Array {
  assertLittleEndian();
  const entries = Object.entries(tensors).map(([name, t]) => {
    if (name === "" || name === METADATA_KEY) throw new LipvaeError(`invalid tensor name '${name}'`);
    const dtype = t.dtype ?? dtypeOf(t.data);
    if (!dtypes[dtype]) throw new LipvaeError(`tensor '${name}': unsupported dtype ${dtype} (use one of ${supported})`);
    if (!dtypes[dtype].of(t.data)) throw new LipvaeError(`tensor '${name}': dtype ${dtype} does not match its ${t.data.constructor.name}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new LipvaeError(`tensor '${name}': invalid shape [${t.shape.join(", ")}]`);
    if (product(t.shape) !== t.data.length) {
      throw new LipvaeError(`tensor '${name}': shape [${t.shape.join(", ")}] holds ${product(t.shape)} values, the data has ${t.data.length}`);
    }
    return { name, dtype, shape: [...t.shape], bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
  });
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") throw new LipvaeError(`metadata '${key}' must be a string, got ${typeof value}`);
  }
  // Widest dtype first, then by name: every tensor starts aligned to its element size, with no holes.
  entries.sort((a, b) => dtypes[b.dtype].size - dtypes[a.dtype].size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) setOwn(header, METADATA_KEY, { ...metadata });
  let offset = 0;
  for (const e of entries) {
    setOwn(header, e.name, { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] });
    offset += e.bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (8 - ((8 + json.length) % 8)) % 8; // data section starts 8-byte aligned (spaces are valid JSON)
  if (pad > 0) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);

  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const e of entries) {
    out.set(e.bytes, at);
    at += e.bytes.length;
  }
  return out;
}

interface HeaderEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, raw: unknown, fail: (msg: string) => never): HeaderEntry {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(`tensor '${name}': header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== "string") fail(`tensor '${name}': missing dtype`);
  if (!Object.hasOwn(dtypes, dtype as string)) fail(`tensor '${name}' has dtype ${dtype}, which lipvae cannot read (it reads ${supported})`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}': shape must be a list of non-negative integers, got ${showJson(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    fail(`tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${showJson(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const size = dtypes[dtype as Dtype].size;
  const want = product(shape as number[]) * size;
  if (end - begin !== want) {
    fail(`tensor '${name}': shape [${(shape as number[]).join(", ")}] of ${dtype} needs ${want} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`);
  }
  return { name, dtype: dtype as Dtype, shape: shape as number[], begin, end };
}

/** Parses safetensors bytes; `source` (a file path) starts every error message. */
export function decodeSafetensors(bytes: Uint8Array, source = "safetensors data"): SafetensorsContent {
  assertLittleEndian();
  const fail = (msg: string): never => {
    throw new LipvaeError(`${source}: ${oneLine(msg)}`); // tensor names come from the file
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length (truncated or not a safetensors file)`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER)) fail(`header length ${headerLength} is implausible (not a safetensors file, or corrupt)`);
  const n = Number(headerLength);
  if (8 + n > bytes.length) fail(`truncated: the header should be ${n} bytes but only ${bytes.length - 8} follow the length field`);

  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch (err) {
    fail(`header is not valid UTF-8 (${err instanceof Error ? err.message : String(err)}): the file is corrupt`);
  }
  if (!text.startsWith("{")) fail("header is not a JSON object (not a safetensors file, or corrupt)");
  const header = parseJsonWithin(text, `${source}: header`, { maxDepth: MAX_HEADER_DEPTH, maxLength: MAX_HEADER }, "the file is corrupt");
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header is not a JSON object");

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === METADATA_KEY) {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("__metadata__ must be an object of strings");
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__ '${k}' must be a string, got ${showJson(v)}`);
        setOwn(metadata, k, v as string);
      }
    } else {
      entries.push(parseEntry(key, raw, fail));
    }
  }

  // The data section must be tiled exactly by the tensors.
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of sorted) {
    if (e.begin !== expected) {
      fail(e.begin > expected
        ? `tensor '${e.name}' starts at byte ${e.begin} of the data, leaving a hole after byte ${expected}: the header is corrupt`
        : `tensor '${e.name}' overlaps the previous tensor (starts at byte ${e.begin}, before ${expected}): the header is corrupt`);
    }
    expected = e.end;
  }
  if (expected > dataLength) fail(`truncated: the tensors need ${expected} data bytes, the file has ${dataLength}`);
  if (expected < dataLength) fail(`${dataLength - expected} unexpected bytes after the last tensor: the file is corrupt`);

  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const copy = new Uint8Array(e.end - e.begin); // own, aligned buffer
    copy.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    setOwn(tensors, e.name, { dtype: e.dtype, shape: e.shape, data: dtypes[e.dtype].make(copy.buffer) });
  }
  return { tensors, metadata };
}

/** Writes a safetensors file atomically. */
export function writeSafetensors(file: string, tensors: Record<string, TensorInput>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/** Reads and validates a safetensors file; errors name the file. */
export function readSafetensors(file: string): SafetensorsContent {
  return decodeSafetensors(readBytes(file), file);
}
