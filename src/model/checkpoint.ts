// The training checkpoint: one safetensors file in the model directory with
// everything a run needs to continue bit for bit. Tensors: parameters, Adam
// moments, the best parameters so far, the epoch's permutation. Metadata: the
// trainer's state and the model configuration as JSON. Written atomically, so
// a Ctrl-C or crash leaves the previous checkpoint or the new one, never half.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { AdamState } from "../engine/optim.js";
import { LipvaeError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { type Tensor, type TensorInput, decodeSafetensors, encodeSafetensors } from "../io/safetensors.js";
import type { ModelConfig } from "./config.js";
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

export function writeCheckpoint(file: string, state: TrainState, config: ModelConfig, tensors: Record<string, TensorInput>): void {
  writeFileAtomic(file, encodeSafetensors(tensors, { state: JSON.stringify(state), config: JSON.stringify(config) }));
}

/** Reads the checkpoint of an unfinished run in dir; errors say what is wrong and what to do. */
export function readCheckpoint(dir: string): Checkpoint {
  const file = checkpointPath(dir);
  if (!existsSync(file)) throw new LipvaeError(`--resume: no checkpoint at ${file}; start without --resume`);
  const { tensors, metadata } = decodeSafetensors(readFileSync(file), file);
  let state: TrainState, config: ModelConfig;
  try {
    state = JSON.parse(metadata.state);
    config = JSON.parse(metadata.config);
  } catch {
    throw new LipvaeError(`${file}: the checkpoint has no readable training state; start a new run with --overwrite`);
  }
  if (typeof state !== "object" || state === null || typeof config !== "object" || config === null || typeof state.settings !== "object") {
    throw new LipvaeError(`${file}: the checkpoint has no readable training state; start a new run with --overwrite`);
  }
  if (state.done) throw new LipvaeError(`${file}: this training run already finished (${state.stoppedBecause}); nothing to resume`);
  return { file, state, config, tensors };
}

/** True when dir holds the checkpoint of a run that finished (so its model.json is final). */
export function isFinishedRun(dir: string): boolean {
  const file = checkpointPath(dir);
  if (!existsSync(file)) return false;
  try {
    return JSON.parse(decodeSafetensors(readFileSync(file), file).metadata.state).done === true;
  } catch {
    return false;
  }
}
