// The job table of `lipvae reproduce`: one job per model (train it, or reuse
// it when a model with the same full configuration hash exists, then run the
// analyses the selected figures need on it). Jobs are independent: each owns
// its model, so shards never train the same model at once. Every result is
// keyed by the model's hash and the analysis settings.

import { createHash } from "node:crypto";
import { canonicalJson } from "../bounds/measured.js";
import { type MarginOptions, DEFAULT_MARGIN } from "../attacks/margin.js";
import { DEFAULT_OPTIMISER, type OptimiserOptions } from "../attacks/optimise.js";
import type { NoiseMode } from "../attacks/max-damage.js";
import type { NormConstraint } from "../attacks/projection.js";
import type { ModelConfig } from "../model/config.js";
import { type TrainSettings, defaultSettings } from "../model/train.js";
import { type Analysis, FIGURE_IDS, FIGURE_NEEDS, type FigureId, MODELS, type ModelSpec } from "./models.js";
import { type Scale, scaleFlags } from "./scales.js";

/** The certificates' and margins' (r, ε): the paper's, throughout. */
export const R = 8;
export const EPS = 0.5;
/** Fig 1's budget and Fig E.9's (‖δ‖ ≤ c). */
export const FIG1_RADIUS = 3;
export const LATENT_RADII = [1, 3, 5];
/** Fig E.9 attacks a 7 towards a 2. */
export const LATENT_SOURCE_DIGIT = 7;
export const LATENT_TARGET_DIGIT = 2;

/** An analysis with its settings (part of its result's key). */
export type AnalysisSpec =
  | { analysis: "certify"; settings: { images: number; r: number; eps: number } }
  | { analysis: "margins"; settings: { images: number; options: MarginOptions } }
  | { analysis: "eval"; settings: { images: number | null; seed: number; batchSize: number } }
  | { analysis: "max-damage"; settings: { images: number; radius: number; optimiser: OptimiserOptions; constraint: NormConstraint; noise: NoiseMode; samples: number; seed: number } }
  | { analysis: "latent"; settings: { radii: number[]; source: number; target: number; optimiser: OptimiserOptions; seed: number } }
  | { analysis: "encode"; settings: { images: number } };

/** An analysis of a job, with the hash of the model hash, the analysis and its settings: the result file's name. */
export type AnalysisJob = AnalysisSpec & { key: string };

export interface Job {
  /** Position in the full job table (sharding takes every N-th). */
  index: number;
  model: ModelSpec;
  config: ModelConfig;
  train: { settings: TrainSettings; trainLimit: number | null; seed: number };
  /** Hash of everything that determines the trained model. */
  modelHash: string;
  analyses: AnalysisJob[];
}

export interface Plan {
  scale: Scale;
  figures: FigureId[];
  seed: number;
  jobs: Job[];
}

export function hashOf(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 12);
}

/** One analysis with its settings at a scale. */
export function analysisSpec(analysis: Analysis, scale: Scale, seed: number): AnalysisSpec {
  const optimiser: OptimiserOptions = { ...DEFAULT_OPTIMISER, steps: scale.attack.steps, restarts: scale.attack.restarts };
  switch (analysis) {
    case "certify":
      return { analysis, settings: { images: scale.images, r: R, eps: EPS } };
    case "margins":
      return { analysis, settings: { images: scale.images, options: marginOptions(scale, seed) } };
    case "eval":
      return { analysis, settings: { images: scale.evalImages, seed, batchSize: 500 } };
    case "max-damage":
      return { analysis, settings: { images: scale.attackImages, radius: FIG1_RADIUS, optimiser, constraint: "ball", noise: "fresh", samples: 1, seed } };
    case "latent":
      return { analysis, settings: { radii: LATENT_RADII, source: LATENT_SOURCE_DIGIT, target: LATENT_TARGET_DIGIT, optimiser, seed } };
    case "encode":
      return { analysis, settings: { images: scale.encodeImages } };
  }
}

/** Algorithm 2 as the reference code runs it, with the scale's sample, attack and grid sizes. */
export function marginOptions(scale: Scale, seed: number): MarginOptions {
  const m = scale.margin;
  return {
    ...DEFAULT_MARGIN, r: R, eps: EPS, samples: m.samples, restarts: m.restarts, maxRadius: m.maxRadius, step: m.step, seed,
    attack: { ...DEFAULT_MARGIN.attack, steps: m.steps },
  };
}

/** The jobs for the given figures (every figure when `figures` is empty), in a fixed order. */
export function buildPlan(scale: Scale, figures: readonly FigureId[], seed: number): Plan {
  const chosen = figures.length === 0 ? [...FIGURE_IDS] : FIGURE_IDS.filter((f) => figures.includes(f));
  const wanted = new Map<string, Set<Analysis>>();
  for (const f of chosen) {
    for (const [id, analysis] of FIGURE_NEEDS[f]) {
      if (!wanted.has(id)) wanted.set(id, new Set());
      wanted.get(id)!.add(analysis);
    }
  }
  const order: Analysis[] = ["certify", "margins", "eval", "max-damage", "latent", "encode"];
  const jobs = MODELS.filter((m) => wanted.has(m.id)).map((model, index): Job => {
    const config = model.config(scale);
    const settings: TrainSettings = {
      ...defaultSettings(config), epochs: config.kind === "standard" ? scale.standardEpochs : scale.epochs,
      finetuneEpochs: scale.finetuneEpochs, validationLimit: scale.validationLimit,
    };
    const train = { settings, trainLimit: scale.trainLimit, seed };
    const modelHash = hashOf({ config, dataset: model.dataset, ...train });
    const analyses = order.filter((a) => wanted.get(model.id)!.has(a)).map((analysis): AnalysisJob => {
      const spec = analysisSpec(analysis, scale, seed);
      return { ...spec, key: hashOf({ modelHash, analysis, settings: spec.settings }) };
    });
    return { index, model, config, train, modelHash, analyses };
  });
  return { scale, figures: chosen, seed, jobs };
}

export interface Shard { index: number; count: number }

/** Shard I of N (0-based) runs jobs I, I + N, I + 2N, ... */
export function shardJobs(plan: Plan, shard: Shard | null): Job[] {
  return shard === null ? plan.jobs : plan.jobs.filter((j) => j.index % shard.count === shard.index);
}

/** The command that runs one job on its own (what `--plan` prints). */
export function jobCommand(plan: Plan, job: Job, out: string): string {
  const only = plan.figures.length === FIGURE_IDS.length ? "" : ` --only ${plan.figures.join(",")}`;
  const seed = plan.seed === 0 ? "" : ` --seed ${plan.seed}`;
  return `lipvae reproduce ${scaleFlags(plan.scale)}${only}${seed} --out ${out} --job ${job.model.id}`;
}
