// Model directories: model.json (every setting, provenance, history, later
// the certified constants) + model.safetensors (raw parameters). The JSON
// records the SHA-256 of the parameter file, so a half-finished save (or a
// hand-edited file) is detected on load instead of silently certified.

import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { LipvaeError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { decodeSafetensors, encodeSafetensors } from "../io/safetensors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { parseJsonWithin, showJson } from "../io/json-guard.js";
import { libraryVersion } from "../version.js";
import { type ModelConfig, parameterCount, validateConfig } from "./config.js";
import { VAE } from "./vae.js";
import { checkpointPath } from "./checkpoint.js";

export const MODEL_JSON = "model.json";
export const MODEL_WEIGHTS = "model.safetensors";
export const MODEL_FORMAT = "lipvae-model";
export const MODEL_FORMAT_VERSION = 1;

export interface EpochRecord {
  phase: "train" | "finetune";
  epoch: number;
  trainLoss: number;
  valLoss: number;
  lr: number;
  seconds: number;
}

export interface ModelMeta {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  libraryVersion: string;
  created: string;
  config: ModelConfig;
  seed: number;
  /** Björck iterations that define this model's effective weights (train K, or the fine-tune K). */
  bjorckIters: number;
  dataset: { name: string; fingerprint: string; official: boolean; trainLimit: number | null };
  training: {
    phase: "train" | "finetune";
    settings: Record<string, unknown>;
    history: EpochRecord[];
    bestValLoss: number | null;
    stoppedBecause: string;
  };
  parameters: { file: string; sha256: string };
  /** Filled by `lipvae certify`: constants measured on exactly these parameters. */
  certified?: Record<string, unknown>;
}

/** The raw parameters as safetensors bytes (name -> f32 tensor). */
export function encodeParameters(vae: VAE): Uint8Array {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of vae.namedParameters()) tensors[name] = { shape: [...t.shape], data: Float32Array.from(t.data) };
  return encodeSafetensors(tensors, { format: MODEL_FORMAT });
}

/** The σ network's parameter names start with this (absent for a fixed σ). */
const SIGMA_NET_PREFIX = "encoder_std.";

/** Copies parameters decoded from safetensors into the model, checking names and shapes. */
export function loadParameters(vae: VAE, bytes: Uint8Array, source: string): void {
  const { tensors } = decodeSafetensors(bytes, source);
  const expected = vae.namedParameters();
  // A config whose σ mode disagrees with the tensors: say so, rather than "parameter missing".
  const hasSigmaNet = Object.keys(tensors).some((n) => n.startsWith(SIGMA_NET_PREFIX));
  if (hasSigmaNet !== (vae.encoderStd !== null)) {
    throw new LipvaeError(`${source}: the parameters ${hasSigmaNet ? "include" : "lack"} the σ network (${SIGMA_NET_PREFIX}*), ` +
      `but config.sigma.mode in ${MODEL_JSON} is '${vae.config.sigma.mode}': the two files do not belong together; restore the directory`);
  }
  for (const [name, t] of expected) {
    const stored = tensors[name];
    if (!stored) throw new LipvaeError(`${source}: parameter '${name}' is missing; the file does not belong to this model configuration`);
    if (stored.dtype !== "F32" || stored.shape.join(",") !== t.shape.join(",")) {
      throw new LipvaeError(`${source}: parameter '${name}' is ${stored.dtype}[${stored.shape}], expected F32[${t.shape}]`);
    }
    t.data.set(stored.data as Float32Array);
  }
  const extra = Object.keys(tensors).filter((n) => !expected.some(([e]) => e === n));
  if (extra.length > 0) throw new LipvaeError(`${source}: unexpected parameters ${extra.slice(0, 3).join(", ")}`);
}

/** "<name> holds NaN" for the first parameter with a NaN or infinite entry, else null. */
export function nonFiniteParameter(vae: VAE): string | null {
  for (const [name, t] of vae.namedParameters()) {
    const data = t.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) return `${name} holds ${data[i]}`;
    }
  }
  return null;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes both files atomically (parameters first; the JSON names their hash). */
export function saveModel(dir: string, vae: VAE, meta: Omit<ModelMeta, "format" | "formatVersion" | "libraryVersion" | "created" | "parameters" | "config">): ModelMeta {
  mkdirSync(dir, { recursive: true });
  const bytes = encodeParameters(vae);
  writeFileAtomic(path.join(dir, MODEL_WEIGHTS), bytes);
  const full: ModelMeta = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    libraryVersion,
    created: new Date().toISOString(),
    config: vae.config,
    ...meta,
    parameters: { file: MODEL_WEIGHTS, sha256: sha256(bytes) },
  };
  writeJsonAtomic(path.join(dir, MODEL_JSON), full);
  return full;
}

/** Rewrites model.json only (e.g. to add certified constants); parameters must be unchanged. */
export function updateModelMeta(dir: string, meta: ModelMeta): void {
  writeJsonAtomic(path.join(dir, MODEL_JSON), meta);
}

export interface LoadedModel {
  vae: VAE;
  meta: ModelMeta;
  dir: string;
}

/** model.json is a few kB (history, measured constants); anything near this is not one. */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
const MODEL_JSON_LIMITS = { maxDepth: 64, maxLength: MAX_MODEL_JSON_BYTES };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The one validator of model.json, for every command that loads a model: the
 * fields lipvae reads are checked for presence and type, and the first bad one
 * is refused with the file and the field named (never a TypeError later).
 */
export function validateModelMeta(raw: unknown, jsonPath: string): ModelMeta {
  const fail = (msg: string): never => {
    throw new LipvaeError(`${jsonPath}: ${msg}`);
  };
  if (!isObject(raw)) return fail(`not a lipvae model file: expected a JSON object, found ${showJson(raw)}`);
  if (raw.format !== MODEL_FORMAT) fail(`not a lipvae model file (format ${showJson(raw.format)}, expected '${MODEL_FORMAT}')`);
  const version = raw.formatVersion;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    fail(`formatVersion must be a whole number >= 1 (got ${showJson(version)}): the file is corrupt or was edited by hand`);
  }
  if ((version as number) > MODEL_FORMAT_VERSION) {
    fail(`formatVersion ${version}: made by a newer lipvae (this one reads up to ${MODEL_FORMAT_VERSION}): upgrade lipvae`);
  }
  if (!("config" in raw)) fail("the field 'config' is missing: the file is incomplete");
  validateConfig(raw.config, `${jsonPath}: config`);
  const params = raw.parameters;
  if (!isObject(params)) return fail(`the field 'parameters' must be {file, sha256} (got ${showJson(params)})`);
  // A bare file name: model.json must not point lipvae at files outside its directory.
  if (typeof params.file !== "string" || !/^[\w.-]+$/.test(params.file) || /^\.+$/.test(params.file)) {
    fail(`parameters.file must be a file name in the model directory (got ${showJson(params.file)})`);
  }
  if (typeof params.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(params.sha256)) {
    fail(`parameters.sha256 must be 64 hexadecimal digits (got ${showJson(params.sha256)})`);
  }
  // A standard model has no Björck layers and records 0 iterations; a Lipschitz one needs at least 1.
  const iters = raw.bjorckIters;
  const least = (raw.config as ModelConfig).kind === "lipschitz" ? 1 : 0;
  if (typeof iters !== "number" || !Number.isSafeInteger(iters) || iters < least) {
    fail(`bjorckIters must be a whole number >= ${least} for a ${(raw.config as ModelConfig).kind} model (got ${showJson(iters)})`);
  }
  if (typeof raw.seed !== "number" || !Number.isSafeInteger(raw.seed)) fail(`seed must be a whole number (got ${showJson(raw.seed)})`);
  const dataset = raw.dataset;
  if (!isObject(dataset) || typeof dataset.name !== "string" || typeof dataset.fingerprint !== "string") {
    fail(`dataset must be {name, fingerprint, ...} with string name and fingerprint (got ${showJson(dataset)})`);
  }
  if (raw.certified !== undefined && !isObject(raw.certified)) fail(`certified must be an object when present (got ${showJson(raw.certified)})`);
  return raw as unknown as ModelMeta;
}

/** model.json's text, checked: size and nesting before parsing, then validateModelMeta. */
export function parseModelMeta(text: string, jsonPath: string): ModelMeta {
  return validateModelMeta(parseJsonWithin(text, jsonPath, MODEL_JSON_LIMITS, "the file is corrupt"), jsonPath);
}

/** Reads model.json (see parseModelMeta). */
export function readModelMeta(jsonPath: string): ModelMeta {
  let text: string;
  try {
    const size = statSync(jsonPath).size;
    if (size > MAX_MODEL_JSON_BYTES) throw new LipvaeError(`${jsonPath} is ${size} bytes, far too large for a model.json (corrupt, or not one)`);
    text = readFileSync(jsonPath, "utf8");
  } catch (err) {
    if (err instanceof LipvaeError) throw err;
    throw new LipvaeError(`${jsonPath}: cannot read (${(err as Error).message})`);
  }
  return parseModelMeta(text, jsonPath);
}

/**
 * The model that checked model.json metadata and its parameter file's bytes
 * describe: the hash, the sizes (before allocating) and every tensor checked.
 */
export function buildModel(meta: ModelMeta, bytes: Uint8Array, jsonPath: string, weightsPath: string): VAE {
  if (sha256(bytes) !== meta.parameters.sha256) {
    const dir = path.dirname(weightsPath);
    // A kill between the two writes of a save leaves this; the run's checkpoint can repair it.
    const fix = existsSync(checkpointPath(dir))
      ? `\`lipvae train --out ${dir} --resume\` rewrites both from the run's checkpoint`
      : "retrain or restore the directory";
    throw new LipvaeError(`${weightsPath} does not match the hash recorded in ${MODEL_JSON} (parameters.sha256: an interrupted save or an edited file); ${fix}`);
  }
  // Allocate only what the parameter file can fill: a config edited to huge sizes is refused, not built.
  const needed = 4 * parameterCount(meta.config);
  if (needed > bytes.length) {
    throw new LipvaeError(`${jsonPath}: config describes ${needed / 4} parameters (${needed} bytes of f32), but ${weightsPath} has only ${bytes.length} bytes: the two files do not belong together`);
  }
  const vae = new VAE(meta.config, meta.seed, { initialise: false });
  loadParameters(vae, bytes, weightsPath);
  return vae;
}

/** Reads and checks a model directory. */
export function loadModel(dir: string): LoadedModel {
  const jsonPath = path.join(dir, MODEL_JSON);
  if (!existsSync(dir)) throw new LipvaeError(`model directory ${dir} does not exist; train one with \`lipvae train --out ${dir}\``);
  if (!existsSync(jsonPath)) throw new LipvaeError(`${jsonPath} is missing: ${dir} is not a lipvae model directory`);
  const meta = readModelMeta(jsonPath);
  const weightsPath = path.join(dir, meta.parameters.file);
  if (!existsSync(weightsPath)) throw new LipvaeError(`${weightsPath} is missing; the model directory is incomplete`);
  const vae = buildModel(meta, readFileSync(weightsPath), jsonPath, weightsPath);
  return { vae, meta, dir };
}
