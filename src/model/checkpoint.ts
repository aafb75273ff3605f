// The training checkpoint: one safetensors file in the model directory with
// everything a run needs to continue bit for bit. Tensors: parameters, Adam
// moments, the best parameters so far, the epoch's permutation. Metadata: the
// trainer's state and the model configuration as JSON. Written atomically, so
// a Ctrl-C or crash leaves the previous checkpoint or the new one, never half.
// The metadata also records a SHA-256 of the content (checkpointDigest), checked
// on resume, so a damaged file is refused instead of resumed into garbage.
// Checkpoints of lipvae versions from before the hash carry none and resume
// unchecked (their run would otherwise be lost; a new checkpoint has the hash).

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import type { AdamState } from "../engine/optim.js";
import { LipvaeError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { parseJsonWithin } from "../io/json-guard.js";
import { readBytes } from "../io/idx.js";
import { type Tensor, type TensorInput, decodeSafetensors, dtypeOf, encodeSafetensors } from "../io/safetensors.js";
import { type ModelConfig, parameterCount, validateConfig } from "./config.js";
import type { EpochRecord } from "./store.js";
import type { TrainSettings } from "./train.js";

export const CHECKPOINT_FILE = "checkpoint.safetensors";

export type Phase = "train" | "finetune";

/** Everything besides tensors that a checkpoint must restore. */
export interface TrainState {
  phase: Phase;
  epoch: number;
  /** Steps done in this epoch; equal to the batch count while the epoch's validation is pending. */
  batchPos: number;
  epochLossSum: number;
  epochBatches: number;
  epochSeconds: number;
  prevEpochLoss: number | null;
  bestValLoss: number | null;
  schedEpoch: number;
  adam: Omit<AdamState, "m" | "v">;
  rng: { shuffle: (number | null)[]; noise: (number | null)[]; validation: (number | null)[] };
  history: EpochRecord[];
  stoppedBecause: string;
  /** True once every phase has finished: a finished run cannot be resumed. */
  done: boolean;
  settings: TrainSettings;
  seed: number;
  /** The dataset's name (absent in checkpoints of older lipvae versions). */
  datasetName?: string;
  datasetFingerprint: string;
  trainLimit: number | null;
}

export interface Checkpoint {
  file: string;
  state: TrainState;
  config: ModelConfig;
  tensors: Record<string, Tensor>;
}

export function checkpointPath(dir: string): string {
  return path.join(dir, CHECKPOINT_FILE);
}

/** The metadata keys of a checkpoint: HASH_KEY is absent in checkpoints of older lipvae versions. */
const HASH_KEY = "sha256";
const METADATA_KEYS = ["state", "config"];

/**
 * SHA-256 of a checkpoint's content, independent of the file layout: the state
 * and config JSON, every tensor's name, dtype and shape (by name), then its bytes.
 */
export function checkpointDigest(tensors: Record<string, TensorInput>, state: string, config: string): string {
  const names = Object.keys(tensors).sort();
  const hash = createHash("sha256");
  hash.update(JSON.stringify([state, config, names.map((n) => [n, tensors[n].dtype ?? dtypeOf(tensors[n].data), tensors[n].shape])]));
  for (const n of names) {
    const d = tensors[n].data;
    hash.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return hash.digest("hex");
}

/** A checkpoint's bytes: the tensors, the state and config as JSON, and the digest of all three. */
export function encodeCheckpoint(state: TrainState, config: ModelConfig, tensors: Record<string, TensorInput>): Uint8Array {
  const metadata = { state: JSON.stringify(state), config: JSON.stringify(config) };
  return encodeSafetensors(tensors, { ...metadata, [HASH_KEY]: checkpointDigest(tensors, metadata.state, metadata.config) });
}

export function writeCheckpoint(file: string, state: TrainState, config: ModelConfig, tensors: Record<string, TensorInput>): void {
  writeFileAtomic(file, encodeCheckpoint(state, config, tensors));
}

const STATE_JSON_LIMITS = { maxDepth: 32, maxLength: 64 * 1024 * 1024 };
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** The first field of a training state lipvae cannot use, or null (the fields the trainer reads before anything else). */
function badStateField(st: Record<string, unknown>): string | null {
  if (st.phase !== "train" && st.phase !== "finetune") return "phase";
  for (const key of ["epoch", "batchPos", "epochBatches"]) if (!isCount(st[key])) return key;
  for (const key of ["schedEpoch", "seed"]) if (!Number.isSafeInteger(st[key])) return key;
  if (!isObject(st.settings)) return "settings";
  if (!isObject(st.adam)) return "adam";
  if (!isObject(st.rng) || !["shuffle", "noise", "validation"].every((k) => Array.isArray((st.rng as Record<string, unknown>)[k]))) return "rng";
  if (!Array.isArray(st.history)) return "history";
  if (typeof st.datasetFingerprint !== "string") return "datasetFingerprint";
  return null;
}

/** Reads the checkpoint of an unfinished run in dir; errors say what is wrong and what to do. */
export function readCheckpoint(dir: string): Checkpoint {
  const file = checkpointPath(dir);
  if (!existsSync(file)) throw new LipvaeError(`--resume: no checkpoint at ${file}; start without --resume`);
  return parseCheckpoint(readBytes(file), file);
}

/** Checks and decodes a checkpoint's bytes; `file` names it in every error. */
export function parseCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const damaged = (what: string): never => {
    throw new LipvaeError(`${file}: the checkpoint is damaged (${what}); it cannot be resumed: start a new run with --overwrite`);
  };
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  const keys = Object.keys(metadata);
  const unknown = keys.filter((k) => k !== HASH_KEY && !METADATA_KEYS.includes(k));
  if (unknown.length > 0 || !METADATA_KEYS.every((k) => k in metadata)) {
    damaged(`its metadata has the keys ${keys.join(", ") || "(none)"}, expected ${[...METADATA_KEYS, HASH_KEY].join(", ")}`);
  }
  if (HASH_KEY in metadata && checkpointDigest(tensors, metadata.state, metadata.config) !== metadata[HASH_KEY]) {
    damaged("its content does not match the SHA-256 recorded when it was saved");
  }
  let state: unknown, config: unknown;
  try {
    state = parseJsonWithin(metadata.state, `${file}: state`, STATE_JSON_LIMITS);
    config = parseJsonWithin(metadata.config, `${file}: config`, STATE_JSON_LIMITS);
  } catch (err) {
    return damaged((err as Error).message.slice(file.length + 2));
  }
  if (!isObject(state)) return damaged("the training state is not an object");
  const bad = badStateField(state);
  if (bad !== null) damaged(`the training state's field '${bad}' is missing or invalid`);
  validateConfig(config, `${file}: config`);
  // The trainer builds this config's model: only as large as the checkpoint's parameters justify.
  const stored = Object.entries(tensors).filter(([name]) => name.startsWith("param/")).reduce((n, [, t]) => n + t.data.length, 0);
  if (parameterCount(config as ModelConfig) !== stored) {
    damaged(`its config describes ${parameterCount(config as ModelConfig)} parameters, its tensors hold ${stored}`);
  }
  const st = state as unknown as TrainState;
  if (st.done) throw new LipvaeError(`${file}: this training run already finished (${st.stoppedBecause}); nothing to resume`);
  return { file, state: st, config: config as ModelConfig, tensors };
}

/** True when dir holds the checkpoint of a run that finished (so its model.json is final). */
export function isFinishedRun(dir: string): boolean {
  const file = checkpointPath(dir);
  if (!existsSync(file)) return false;
  try {
    const { state } = decodeSafetensors(readBytes(file), file).metadata;
    return (parseJsonWithin(state, `${file}: state`, STATE_JSON_LIMITS) as { done?: unknown }).done === true;
  } catch {
    return false;
  }
}
