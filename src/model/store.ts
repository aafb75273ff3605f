// Model directories: model.json (every setting, provenance, history, later
// the certified constants) + model.safetensors (raw parameters). The JSON
// records the SHA-256 of the parameter file, so a half-finished save (or a
// hand-edited file) is detected on load instead of silently certified.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { LipvaeError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { decodeSafetensors, encodeSafetensors } from "../io/safetensors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { libraryVersion } from "../version.js";
import type { ModelConfig } from "./config.js";
import { VAE } from "./vae.js";

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

/** Copies parameters decoded from safetensors into the model, checking names and shapes. */
export function loadParameters(vae: VAE, bytes: Uint8Array, source: string): void {
  const { tensors } = decodeSafetensors(bytes, source);
  const expected = vae.namedParameters();
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

/** Reads and checks a model directory. */
export function loadModel(dir: string): LoadedModel {
  const jsonPath = path.join(dir, MODEL_JSON);
  if (!existsSync(dir)) throw new LipvaeError(`model directory ${dir} does not exist; train one with \`lipvae train --out ${dir}\``);
  if (!existsSync(jsonPath)) throw new LipvaeError(`${jsonPath} is missing: ${dir} is not a lipvae model directory`);
  let meta: ModelMeta;
  try {
    meta = JSON.parse(readFileSync(jsonPath, "utf8"));
  } catch (err) {
    throw new LipvaeError(`${jsonPath} is not valid JSON (${(err as Error).message}); the file is corrupt`);
  }
  if (meta.format !== MODEL_FORMAT) throw new LipvaeError(`${jsonPath} is not a lipvae model file (format '${meta.format}')`);
  if (meta.formatVersion > MODEL_FORMAT_VERSION) {
    throw new LipvaeError(`${jsonPath} has format version ${meta.formatVersion}; this lipvae reads up to ${MODEL_FORMAT_VERSION}: upgrade lipvae`);
  }
  const weightsPath = path.join(dir, meta.parameters?.file ?? MODEL_WEIGHTS);
  if (!existsSync(weightsPath)) throw new LipvaeError(`${weightsPath} is missing; the model directory is incomplete`);
  const bytes = readFileSync(weightsPath);
  if (sha256(bytes) !== meta.parameters.sha256) {
    throw new LipvaeError(`${weightsPath} does not match the hash recorded in ${MODEL_JSON} (interrupted save or edited file); retrain or restore the directory`);
  }
  const vae = new VAE(meta.config, meta.seed, { initialise: false });
  loadParameters(vae, bytes, weightsPath);
  return { vae, meta, dir };
}
