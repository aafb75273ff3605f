// Fuzz properties for every parser of outside input: IDX (plain and gzipped),
// safetensors, model directories (model.json + parameters), training
// checkpoints, and `bounds --jsonl` lines. Each case must end in a correct
// parse or a one-line LipvaeError naming the file: no other exception, no
// case slower than CASE_TIME_LIMIT_MS, no NaN or inconsistent result.
// Shared by test/fuzz-parsers.test.ts (a fixed-seed subset, scale 1, about 10^4
// cases) and scripts/fuzz.js (`npm run fuzz`, scale >= 10, over 10^5 cases).
import fc from "fast-check";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { LipvaeError } from "../src/errors.js";
import { encodeIdxImages, encodeIdxLabels, parseIdxImages, parseIdxLabels } from "../src/io/idx.js";
import { decodeSafetensors, encodeSafetensors } from "../src/io/safetensors.js";
import { readLines } from "../src/io/lines.js";
import { type ModelConfig, PAPER_DEFAULTS } from "../src/model/config.js";
import { MODEL_JSON, MODEL_WEIGHTS, buildModel, loadModel, parseModelMeta, saveModel, sha256 } from "../src/model/store.js";
import { type TrainState, checkpointPath, encodeCheckpoint, parseCheckpoint, readCheckpoint } from "../src/model/checkpoint.js";
import { defaultSettings } from "../src/model/train.js";
import { VAE } from "../src/model/vae.js";
import { answerLine, isError } from "../src/bounds/query.js";

/** A single case slower than this counts as a hang. */
export const CASE_TIME_LIMIT_MS = 2000;

export interface FuzzCount {
  parser: string;
  cases: number;
  /** Cases that parsed (and passed the result checks). */
  parsed: number;
  /** Cases refused with a clear LipvaeError. */
  refused: number;
}

export interface FuzzTarget {
  parser: string;
  /** Runs the properties with numRuns scaled by `scale` (truncations are exhaustive at any scale); throws on the first failure. */
  run(scale: number, seed: number): Promise<FuzzCount>;
}

class Counter {
  parsed = 0;
  refused = 0;
  constructor(readonly parser: string) {}
  get count(): FuzzCount {
    return { parser: this.parser, cases: this.parsed + this.refused, parsed: this.parsed, refused: this.refused };
  }

  /**
   * Runs parse: passes when it returns a result that `check` accepts (check
   * returns null, or else what is wrong), or throws a one-line LipvaeError
   * whose message contains `names`. Anything else throws a plain Error, which
   * fast-check reports with the input.
   */
  outcome<T>(parse: () => T, names: string, check: (result: T) => string | null): void {
    const start = Date.now();
    let result: T;
    try {
      result = parse();
    } catch (err) {
      this.refusal(err, names, start);
      return;
    }
    this.timed(start);
    const wrong = check(result);
    if (wrong !== null) throw new Error(`${this.parser}: parsed, but ${wrong}`);
    this.parsed++;
  }

  async outcomeAsync<T>(parse: () => Promise<T>, check: (result: T) => string | null): Promise<void> {
    const start = Date.now();
    const result = await parse();
    this.timed(start);
    const wrong = check(result);
    if (wrong !== null) throw new Error(`${this.parser}: ${wrong}`);
    this.parsed++;
  }

  /** For parsers that answer errors as values (bounds lines). */
  record(ok: boolean): void {
    if (ok) this.parsed++;
    else this.refused++;
  }

  private refusal(err: unknown, names: string, start: number): void {
    this.timed(start);
    if (!(err instanceof LipvaeError)) {
      throw new Error(`${this.parser}: ${(err as Error)?.name ?? typeof err} instead of a LipvaeError: ${(err as Error)?.message ?? String(err)}`);
    }
    if (err.message.includes("\n")) throw new Error(`${this.parser}: the error is not one line: ${JSON.stringify(err.message)}`);
    if (!err.message.includes(names)) throw new Error(`${this.parser}: the error does not name ${names}: ${err.message}`);
    this.refused++;
  }

  private timed(start: number): void {
    const ms = Date.now() - start;
    if (ms > CASE_TIME_LIMIT_MS) throw new Error(`${this.parser}: one case took ${ms} ms (a hang?)`);
  }
}

// ---------------------------------------------------------------- byte mutations

const flipBits = (bytes: Uint8Array, bits: number[]): Uint8Array => {
  const out = Uint8Array.from(bytes);
  for (const b of bits) out[b >>> 3] ^= 1 << (b & 7);
  return out;
};

/** 1 to 8 bit flips anywhere in the file. */
const bitFlips = (bytes: Uint8Array) =>
  fc.array(fc.nat(bytes.length * 8 - 1), { minLength: 1, maxLength: 8 }).map((bits) => flipBits(bytes, bits));

/** Random bytes, some starting with the valid file's first bytes (so they get past the magic). */
const randomBytes = (valid: Uint8Array, maxLength: number) =>
  fc.oneof(
    fc.uint8Array({ maxLength }),
    fc.tuple(fc.nat(Math.min(valid.length, 24)), fc.uint8Array({ maxLength })).map(([keep, tail]) => {
      const out = new Uint8Array(keep + tail.length);
      out.set(valid.subarray(0, keep));
      out.set(tail, keep);
      return out;
    }),
  );

/** u32 values that stress size arithmetic: 0, 1, powers of two, the maximum, anything. */
const u32 = fc.oneof(fc.constantFrom(0, 1, 2, 255, 65536, 2 ** 24, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));

const setU32 = (bytes: Uint8Array, offset: number, value: number, littleEndian = false): Uint8Array => {
  const out = Uint8Array.from(bytes);
  new DataView(out.buffer).setUint32(offset, value, littleEndian);
  return out;
};

function truncations(bytes: Uint8Array, each: (cut: Uint8Array) => void): void {
  for (let n = 0; n < bytes.length; n++) each(bytes.subarray(0, n));
}

/** fn run in a fresh temporary directory, removed afterwards. */
function inTempDir<T>(prefix: string, fn: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = (base: number, scale: number) => Math.max(1, Math.round(base * scale));

/** fast-check's report (seed, counterexample) with the failing case's own message first. */
function failure<T>(details: fc.RunDetails<T>): never {
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const input = JSON.stringify(details.counterexample, (_, v) => (typeof v === "bigint" ? `${v}n` : ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v));
  throw new Error(`${cause}\n  seed ${details.seed}, path ${details.counterexamplePath}, input ${input?.slice(0, 2000)}`);
}

function check<T>(arb: fc.Arbitrary<T>, numRuns: number, seed: number, body: (value: T) => void): void {
  const details = fc.check(fc.property(arb, body), { seed, numRuns, endOnFailure: true });
  if (details.failed) failure(details);
}

async function checkAsync<T>(arb: fc.Arbitrary<T>, numRuns: number, seed: number, body: (value: T) => Promise<void>): Promise<void> {
  const details = await fc.check(fc.asyncProperty(arb, body), { seed, numRuns, endOnFailure: true });
  if (details.failed) failure(details);
}

// ---------------------------------------------------------------- IDX

const IMAGES = encodeIdxImages({ count: 3, rows: 4, cols: 5, pixels: Uint8Array.from({ length: 60 }, (_, i) => (i * 37) & 255) });
const LABELS = encodeIdxLabels({ count: 6, labels: Uint8Array.from([0, 1, 2, 9, 5, 3]) });

function idxTarget(parser: string, kind: "images" | "labels", gzip: boolean): FuzzTarget {
  const raw = kind === "images" ? IMAGES : LABELS;
  const valid = gzip ? gzipSync(raw) : raw;
  const headerFields = kind === "images" ? [4, 8, 12] : [4];
  const source = `fuzz/${kind}.idx${gzip ? ".gz" : ""}`;
  const pack = (bytes: Uint8Array) => (gzip ? gzipSync(bytes) : bytes);
  return {
    parser,
    async run(scale, seed) {
      const c = new Counter(parser);
      const parse = (bytes: Uint8Array) =>
        c.outcome(() => (kind === "images" ? parseIdxImages(bytes, source) : parseIdxLabels(bytes, source)), source, (r) => {
          if ("pixels" in r) return r.pixels.length === r.count * r.rows * r.cols ? null : `${r.pixels.length} pixels for ${r.count}×${r.rows}×${r.cols}`;
          return r.labels.length === r.count && r.labels.every((l) => l < 10) ? null : "labels inconsistent with the count";
        });
      truncations(valid, parse);
      check(bitFlips(valid), runs(300, scale), seed, parse);
      check(randomBytes(raw, 120).map(pack), runs(300, scale), seed + 1, parse);
      // Huge (or tiny) declared sizes in the header, the payload unchanged: nothing may allocate for them.
      check(fc.tuple(fc.constantFrom(...headerFields), u32).map(([at, v]) => pack(setU32(raw, at, v))), runs(300, scale), seed + 2, parse);
      if (gzip) {
        // A gzip bomb: a header promising a little, then megabytes of zeros.
        const bomb = new Uint8Array(4 * 1024 * 1024);
        bomb.set(raw.subarray(0, kind === "images" ? 16 : 8));
        parse(gzipSync(bomb));
      }
      return c.count;
    },
  };
}

// ---------------------------------------------------------------- safetensors

const SAFETENSORS = encodeSafetensors(
  {
    w: { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-3, 7]) },
    b: { shape: [3], data: new Float64Array([0.25, -1, 2]) },
    i: { shape: [2], data: BigInt64Array.from([1n, -5n]) },
    u: { shape: [3], data: Uint8Array.from([1, 2, 3]) },
  },
  { format: "fuzz" },
);
const DTYPE_SIZES: Record<string, number> = { F64: 8, F32: 4, I64: 8, I32: 4, U8: 1 };

/** A safetensors file from a header object and a data section (the length field made to match). */
function withHeader(header: unknown, data: Uint8Array, headerText = JSON.stringify(header)): Uint8Array {
  const json = Buffer.from(headerText ?? "null", "utf8");
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const shapeValue = fc.oneof(fc.nat(6), fc.constantFrom(-1, 2 ** 31, 2 ** 53, 2 ** 60, 1.5, NaN), fc.jsonValue({ maxDepth: 1 }));
const headerEntry = fc.record(
  {
    dtype: fc.oneof(fc.constantFrom("F32", "F64", "I64", "I32", "U8", "F16", "BF16", "BOOL", "constructor", "toString", "__proto__", ""), fc.jsonValue({ maxDepth: 1 })),
    shape: fc.oneof(fc.array(shapeValue, { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
    data_offsets: fc.oneof(fc.tuple(fc.nat(64), fc.nat(64)), fc.array(fc.oneof(fc.nat(2 ** 40), fc.constantFrom(-1, 2 ** 53, 0.5)), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);
const headerName = fc.oneof(fc.constantFrom("w", "b", "__metadata__", "__proto__", "constructor", ""), fc.string({ maxLength: 6 }));
const headerObject = fc.dictionary(headerName, fc.oneof(headerEntry, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 4 });

function safetensorsTarget(): FuzzTarget {
  const parser = "safetensors";
  const source = "fuzz/model.safetensors";
  return {
    parser,
    async run(scale, seed) {
      const c = new Counter(parser);
      const parse = (bytes: Uint8Array) =>
        c.outcome(() => decodeSafetensors(bytes, source), source, ({ tensors }) => {
          for (const [name, t] of Object.entries(tensors)) {
            const n = t.shape.reduce((a, b) => a * b, 1);
            if (t.data.length !== n || t.data.byteLength !== n * DTYPE_SIZES[t.dtype]) return `tensor '${name}' has ${t.data.length} values for shape [${t.shape}]`;
          }
          return null;
        });
      truncations(SAFETENSORS, parse);
      check(bitFlips(SAFETENSORS), runs(600, scale), seed, parse);
      check(randomBytes(SAFETENSORS, 200), runs(300, scale), seed + 1, parse);
      // Wrong header lengths: any u64, the rest of the file unchanged.
      check(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), runs(200, scale), seed + 2, (len) => {
        const out = Uint8Array.from(SAFETENSORS);
        new DataView(out.buffer).setBigUint64(0, len, true);
        parse(out);
      });
      // Wrong dtypes, shapes, offsets: random headers over a random data section.
      check(fc.tuple(headerObject, fc.uint8Array({ maxLength: 64 })), runs(600, scale), seed + 3, ([header, data]) => parse(withHeader(header, data)));
      // Deep and huge JSON headers.
      check(fc.integer({ min: 1, max: 100_000 }), runs(40, scale), seed + 4, (depth) =>
        parse(withHeader(null, new Uint8Array(0), `{"w": {"dtype": "F32", "shape": ${"[".repeat(depth)}${"]".repeat(depth)}, "data_offsets": [0, 0]}}`)));
      return c.count;
    },
  };
}

// ---------------------------------------------------------------- model directories

export const SMALL_CONFIG: ModelConfig = { ...PAPER_DEFAULTS, inputDim: 6, hidden: [4], latentDim: 2 };

/** Saves a small untrained model (SMALL_CONFIG unless given another config) in dir. */
export function saveSmallModel(dir: string, config: ModelConfig = SMALL_CONFIG): void {
  saveModel(dir, new VAE(config, 7), {
    seed: 7, bjorckIters: 3,
    dataset: { name: "mnist", fingerprint: "f".repeat(64), official: true, trainLimit: null },
    training: { phase: "train", settings: {}, history: [], bestValLoss: null, stoppedBecause: "fuzz fixture" },
  });
}

/** A saved small model: its model.json text and parameter bytes. */
function smallModel(root: string): { json: string; weights: Uint8Array } {
  const dir = path.join(root, "valid");
  saveSmallModel(dir);
  return { json: readFileSync(path.join(dir, MODEL_JSON), "utf8"), weights: readFileSync(path.join(dir, MODEL_WEIGHTS)) };
}

type JsonPath = (string | number)[];
/** The fields lipvae reads from model.json, to replace or delete. */
const META_FIELDS: JsonPath[] = [
  [], ["format"], ["formatVersion"], ["bjorckIters"], ["seed"], ["config"], ["parameters"], ["parameters", "file"], ["parameters", "sha256"],
  ["dataset"], ["dataset", "name"], ["dataset", "fingerprint"], ["certified"], ["config", "kind"], ["config", "inputDim"], ["config", "hidden"],
  ["config", "hidden", 0], ["config", "latentDim"], ["config", "lipschitz"], ["config", "lipschitz", "decoder"], ["config", "groupSize"],
  ["config", "sigma"], ["config", "sigma", "mode"], ["config", "sigma", "gamma"], ["config", "klBeta"], ["config", "bjorck"],
  ["config", "bjorck", "beta"], ["config", "bjorck", "trainIters"], ["config", "bjorck", "method"], ["config", "bjorck", "tolerance"],
];

/** JSON text of a value; "" for undefined (an empty file). */
const jsonText = (value: unknown): string => JSON.stringify(value) ?? "";

/** A copy of `value` with the field at `at` replaced (or deleted when `replacement` is undefined). */
function edit(value: unknown, at: JsonPath, replacement: unknown): unknown {
  if (at.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of at.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) return copy;
    node = node[key] as Record<string | number, unknown>;
  }
  if (replacement === undefined) delete node[at[at.length - 1]];
  else node[at[at.length - 1]] = replacement;
  return copy;
}

/** Values that stress a validator: wrong types, out of range, strings for numbers, huge sizes. */
const fieldValue = fc.oneof(
  fc.constantFrom(undefined, null, -5, 0, 2.5, "3", "abc", 2, 3, 1e9, 2 ** 31, Infinity, -0, [], {}, true, "fixed", "learned", { mode: "fixed", gamma: 0.1 }),
  fc.jsonValue({ maxDepth: 3 }),
);

function modelTarget(): FuzzTarget {
  const parser = "model directory";
  return {
    parser,
    async run(scale, seed) {
      return inTempDir("lipvae-fuzz-model-", (root) => {
        const { json, weights } = smallModel(root);
        const meta = JSON.parse(json);
        const dir = path.join(root, "case");
        mkdirSync(dir);
        const c = new Counter(parser);
        const jsonPath = path.join(dir, MODEL_JSON), weightsPath = path.join(dir, MODEL_WEIGHTS);
        const finite = ({ vae }: { vae: VAE }) => {
          for (const [name, t] of vae.namedParameters()) if (!t.data.every(Number.isFinite)) return `parameter ${name} is not finite`;
          return null;
        };
        // What loadModel does after reading the two files (in memory: thousands of cases per second).
        const load = (jsonText: string | Uint8Array, weightBytes: Uint8Array = weights) => {
          const text = typeof jsonText === "string" ? jsonText : Buffer.from(jsonText).toString("utf8");
          c.outcome(() => {
            const meta = parseModelMeta(text, jsonPath);
            return { vae: buildModel(meta, weightBytes, jsonPath, meta.parameters.file === MODEL_WEIGHTS ? weightsPath : path.join(dir, meta.parameters.file)) };
          }, dir, finite);
        };
        // The whole of loadModel, files included, for some cases.
        const loadFromDisk = (jsonText: string, weightBytes: Uint8Array = weights) => {
          writeFileSync(jsonPath, jsonText);
          writeFileSync(weightsPath, weightBytes);
          c.outcome(() => loadModel(dir), dir, finite);
        };
        const jsonBytes = Buffer.from(json, "utf8");
        truncations(jsonBytes, (cut) => load(cut));
        truncations(weights, (cut) => load(jsonBytes, cut));
        check(bitFlips(jsonBytes), runs(300, scale), seed, (bytes) => load(bytes));
        check(bitFlips(weights), runs(100, scale), seed + 1, (bytes) => load(jsonBytes, bytes));
        // One field replaced or deleted (the hash left right): every bad value refused by name.
        check(fc.tuple(fc.constantFrom(...META_FIELDS), fieldValue), runs(500, scale), seed + 2, ([at, value]) =>
          load(jsonText(edit(meta, at, value))));
        check(fc.tuple(fc.constantFrom(...META_FIELDS), fieldValue), runs(30, scale), seed + 7, ([at, value]) =>
          loadFromDisk(jsonText(edit(meta, at, value))));
        // Random JSON, and deep or huge JSON.
        check(fc.jsonValue({ maxDepth: 4 }), runs(100, scale), seed + 3, (value) => load(JSON.stringify(value) ?? "null"));
        check(fc.integer({ min: 1, max: 200_000 }), runs(20, scale), seed + 4, (depth) =>
          load(JSON.stringify({ ...meta, certified: undefined }).replace(/}$/, `, "certified": {"deep": ${"[".repeat(depth)}${"]".repeat(depth)}}}`)));
        // A config edited to huge sizes, with parameters re-hashed to match: refused before allocating.
        check(fc.tuple(fc.constantFrom("inputDim", "latentDim"), fc.integer({ min: 1, max: 2 ** 40 })), runs(40, scale), seed + 5, ([field, v]) =>
          load(JSON.stringify(edit(meta, ["config", field], v))));
        // Parameters edited and re-hashed (a consistent hand edit): parsed with the right shapes, or refused.
        check(fc.tuple(fc.array(fc.nat(weights.length * 8 - 1), { minLength: 1, maxLength: 4 })), runs(100, scale), seed + 6, ([bits]) => {
          const edited = flipBits(weights, bits);
          const rehashed = JSON.stringify(edit(meta, ["parameters", "sha256"], sha256(edited)));
          // NaN weights are loadable here (certify refuses them); only the shapes are checked.
          c.outcome(() => buildModel(parseModelMeta(rehashed, jsonPath), edited, jsonPath, weightsPath), dir, (vae) =>
            vae.namedParameters().length === Object.keys(decodeSafetensors(weights).tensors).length ? null : "wrong parameter count");
        });
        return c.count;
      });
    },
  };
}

// ---------------------------------------------------------------- checkpoints

export function checkpointFixture(): { state: TrainState; tensors: Record<string, { shape: number[]; data: Float32Array | Int32Array }> } {
  const vae = new VAE(SMALL_CONFIG, 3);
  const tensors: Record<string, { shape: number[]; data: Float32Array | Int32Array }> = {};
  for (const [name, t] of vae.namedParameters()) {
    tensors[`param/${name}`] = { shape: [...t.shape], data: Float32Array.from(t.data) };
    tensors[`adam_m/${name}`] = { shape: [...t.shape], data: new Float32Array(t.data.length).fill(0.5) };
    tensors[`adam_v/${name}`] = { shape: [...t.shape], data: new Float32Array(t.data.length).fill(0.25) };
  }
  tensors.permutation = { shape: [4], data: Int32Array.from([2, 0, 3, 1]) };
  const state: TrainState = {
    phase: "train", epoch: 1, batchPos: 2, epochLossSum: 3.5, epochBatches: 2, epochSeconds: 1, prevEpochLoss: null,
    bestValLoss: null, schedEpoch: 1, adam: { step: 4, lr: 1e-3 } as TrainState["adam"],
    rng: { shuffle: [1, 2], noise: [3, 4], validation: [5, null] }, history: [], stoppedBecause: "", done: false,
    settings: defaultSettings(SMALL_CONFIG), seed: 3, datasetName: "mnist", datasetFingerprint: "f".repeat(64), trainLimit: null,
  };
  return { state, tensors };
}

function checkpointTarget(): FuzzTarget {
  const parser = "checkpoint";
  return {
    parser,
    async run(scale, seed) {
      return inTempDir("lipvae-fuzz-checkpoint-", (dir) => {
        const file = checkpointPath(dir);
        const { state, tensors } = checkpointFixture();
        const valid = encodeCheckpoint(state, SMALL_CONFIG, tensors);
        const c = new Counter(parser);
        const finite = (r: { tensors: Record<string, { data: ArrayLike<number | bigint> }> }) => {
          for (const [name, t] of Object.entries(r.tensors)) {
            const d = t.data;
            if (d instanceof Float32Array && !d.every(Number.isFinite)) return `tensor ${name} is not finite`;
          }
          return null;
        };
        // What readCheckpoint does after reading the file, in memory; and a few cases from disk.
        const load = (bytes: Uint8Array) => c.outcome(() => parseCheckpoint(bytes, file), file, finite);
        const loadFromDisk = (bytes: Uint8Array) => {
          writeFileSync(file, bytes);
          c.outcome(() => readCheckpoint(dir), file, finite);
        };
        truncations(valid, load);
        check(bitFlips(valid), runs(600, scale), seed, load);
        check(bitFlips(valid), runs(20, scale), seed + 4, loadFromDisk);
        check(randomBytes(valid, 200), runs(100, scale), seed + 1, load);
        // A consistent hand edit (the hash recomputed): a state or config field replaced or deleted.
        const stateFields = [...Object.keys(state), "rng.shuffle", "settings.lr"];
        check(fc.tuple(fc.constantFrom(...stateFields), fieldValue), runs(200, scale), seed + 2, ([field, value]) =>
          load(encodeCheckpoint((edit(state, field.split("."), value) ?? null) as TrainState, SMALL_CONFIG, tensors)));
        check(fc.tuple(fc.constantFrom(...META_FIELDS.filter((f) => f[0] === "config").map((f) => f.slice(1))), fieldValue), runs(200, scale), seed + 3, ([at, value]) =>
          load(encodeCheckpoint(state, (edit(SMALL_CONFIG, at, value) ?? null) as ModelConfig, tensors)));
        return c.count;
      });
    },
  };
}

// ---------------------------------------------------------------- bounds --jsonl lines

const VALID_QUERY = { id: 1, bound: "lemma2", form: "tight", a: 10, b: 10, c: 10, r: 8, dz: 10, eps: 0.5, sigmaNorm: 0.2 };
const QUERY_FIELDS = [...Object.keys(VALID_QUERY), "delta", "sigma", "sigmaCap", "extra"];
/** Queries inside every field's valid range: they must all be answered with finite numbers. */
const validQuery = fc.record({
  id: fc.oneof(fc.nat(), fc.string({ maxLength: 4 })), bound: fc.constantFrom("theorem1", "lemma2"), form: fc.constantFrom("paper", "tight"),
  a: fc.double({ min: 0.01, max: 100, noNaN: true }), b: fc.double({ min: 0.01, max: 100, noNaN: true }), c: fc.double({ min: 0, max: 100, noNaN: true }),
  r: fc.double({ min: 0.01, max: 100, noNaN: true }), dz: fc.integer({ min: 1, max: 64 }), eps: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
  delta: fc.double({ min: 0, max: 10, noNaN: true }), sigmaFraction: fc.double({ min: 0, max: 1, noNaN: true }),
}).map(({ bound, delta, eps, sigmaFraction, ...q }) =>
  JSON.stringify({ ...q, bound, ...(bound === "theorem1" ? { delta } : { eps }), sigmaNorm: sigmaFraction * Math.sqrt(q.dz) }));

const queryLine = fc.oneof(
  validQuery,
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.json({ maxDepth: 3 }),
  fc.tuple(fc.constantFrom(...QUERY_FIELDS), fieldValue, fc.constantFrom("theorem1", "lemma2", "theorem3"), fc.constantFrom("paper", "tight")).map(
    ([field, value, bound, form]) => JSON.stringify(edit({ ...VALID_QUERY, bound, form, delta: 0.1 }, [field], value)),
  ),
  fc.record({
    id: fc.oneof(fc.nat(), fc.string({ maxLength: 4 })), bound: fc.constantFrom("theorem1", "lemma2", "theorem3"), form: fc.constantFrom("paper", "tight"),
    a: fc.double(), b: fc.double(), c: fc.double(), r: fc.double(), dz: fc.integer({ min: -2, max: 2000 }), eps: fc.double(), sigmaNorm: fc.double(),
  }, { requiredKeys: ["id", "bound"] }).map((q) => JSON.stringify(q)),
  fc.integer({ min: 1, max: 50_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
  fc.integer({ min: 1, max: 50_000 }).map((n) => `{"id": 1, "bound": "theorem3", "sigma": ${"[".repeat(n)}${"]".repeat(n)}}`),
);

function boundsTarget(): FuzzTarget {
  const parser = "bounds --jsonl line";
  return {
    parser,
    async run(scale, seed) {
      const c = new Counter(parser);
      check(fc.tuple(queryLine, fc.nat(1_000_000)), runs(2500, scale), seed, ([line, n]) => {
        const lineNumber = n + 1;
        const answer = answerLine(line, lineNumber);
        const text = JSON.stringify(answer);
        if (text.includes("\n")) throw new Error(`the answer to ${JSON.stringify(line)} is not one line`);
        if (isError(answer)) {
          if (answer.line !== lineNumber || typeof answer.error !== "string" || answer.error.length === 0) throw new Error(`bad error answer ${text}`);
        } else if (!Object.entries(answer).every(([k, v]) => k === "id" || (typeof v === "number" && Number.isFinite(v)))) {
          throw new Error(`non-finite answer ${text} to ${line}`);
        }
        c.record(!isError(answer));
      });
      // In range: always an answer, never an error or a non-finite number.
      check(validQuery, runs(300, scale), seed + 1, (line) => {
        const answer = answerLine(line, 1);
        if (isError(answer)) throw new Error(`the valid query ${line} was refused: ${answer.error}`);
        c.record(true);
      });
      return c.count;
    },
  };
}

/** Line splitting: random bytes in random chunks give exactly the lines of split("\n"), numbered. */
function linesTarget(): FuzzTarget {
  const parser = "jsonl line splitting";
  const piece = fc.oneof(fc.constantFrom("\n", "\r\n", "", "{}", "é", "\uD83D\uDE00", "x".repeat(40)), fc.string({ maxLength: 12 }));
  return {
    parser,
    async run(scale, seed) {
      const c = new Counter(parser);
      const maxBytes = 32;
      await checkAsync(fc.tuple(fc.array(piece, { maxLength: 20 }), fc.array(fc.nat(200), { maxLength: 6 })), runs(500, scale), seed, async ([pieces, cuts]) => {
        const bytes = Buffer.from(pieces.join(""), "utf8");
        const points = [...new Set(cuts.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points, bytes.length].slice(1).map((end, i, all) => bytes.subarray(i === 0 ? 0 : all[i - 1], end));
        const want = bytes.toString("utf8").split("\n");
        if (want.at(-1) === "") want.pop();
        await c.outcomeAsync(async () => {
          const got = [];
          for await (const line of readLines(chunks, maxBytes)) got.push(line);
          return got;
        }, (got) => {
          if (got.length !== want.length) return `${got.length} lines for ${want.length}`;
          for (let i = 0; i < want.length; i++) {
            const text = want[i].replace(/\r$/, "");
            const line = got[i];
            if (line.number !== i + 1) return `line ${i + 1} numbered ${line.number}`;
            const expected = Buffer.byteLength(want[i]) > maxBytes ? "problem" : "text";
            if (!(expected in line)) return `line ${i + 1}: expected ${expected}, got ${JSON.stringify(line)}`;
            if ("text" in line && line.text !== text) return `line ${i + 1}: ${JSON.stringify(line.text)} for ${JSON.stringify(text)}`;
          }
          return null;
        });
      });
      return c.count;
    },
  };
}

export const FUZZ_TARGETS: FuzzTarget[] = [
  idxTarget("IDX images", "images", false),
  idxTarget("IDX images (gzip)", "images", true),
  idxTarget("IDX labels", "labels", false),
  idxTarget("IDX labels (gzip)", "labels", true),
  safetensorsTarget(),
  modelTarget(),
  checkpointTarget(),
  boundsTarget(),
  linesTarget(),
];
