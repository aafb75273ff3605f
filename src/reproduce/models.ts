// Every model the paper's figures need, and which analyses each figure runs on
// which model. A model is identified by a short id; its full configuration
// (and so its cache key) depends on the scale.

import { type ModelConfig, PAPER_DEFAULTS, clipNormForRadius, validateConfig } from "../model/config.js";
import type { DatasetName } from "../data/catalog.js";
import type { Scale } from "./scales.js";

export type Analysis = "certify" | "margins" | "eval" | "max-damage" | "latent" | "encode";

export interface ModelSpec {
  id: string;
  /** How figures and the report name the model. */
  label: string;
  dataset: DatasetName;
  /** The model's configuration at a scale. */
  config(scale: Scale): ModelConfig;
}

export const FIGURE_IDS = ["fig1", "fig2", "fig3", "fig4a", "fig4b", "fig4c", "fig5", "fig6", "figB8", "fig7", "figE9"] as const;
export type FigureId = (typeof FIGURE_IDS)[number];

/** The paper's Lipschitz constants and fixed σ grid (Figs 3, 4c: γ per dimension, ‖σ‖ = γ√10). */
export const LEARNED_M = [5, 6, 7, 8, 9, 10];
export const FIXED_M = [5, 7, 10, 12];
export const FIXED_GAMMA = [0.02, 0.04, 0.06, 0.08];
/** The constrained-σ models' radius R of the reference code's clip norm (1/√8)(R/a) − 1e-4. */
export const CONSTRAINED_RADIUS = 5;
export const BETA = 5;
/** Fig 1 and Fig E.9 compare the standard VAE with this Lipschitz-VAE (Fig E.9's caption: constants 5). */
export const ATTACK_M = 5;

function lipschitz(m: number, scale: Scale, over: Partial<ModelConfig> = {}): ModelConfig {
  return validateConfig({
    ...structuredClone(PAPER_DEFAULTS),
    hidden: [...scale.hidden],
    lipschitz: { decoder: m, encoderMean: m, encoderStd: m },
    bjorck: { beta: 0.5, trainIters: 3, finetuneIters: scale.finetuneIters, method: scale.bjorckMethod, tolerance: null },
    ...over,
  });
}

function standard(dz: number, scale: Scale): ModelConfig {
  return validateConfig({
    ...structuredClone(PAPER_DEFAULTS),
    kind: "standard",
    hidden: [...scale.hidden],
    latentDim: dz,
    // The standard VAE has no constraint: Scale(1) is the identity (docs/reference-code.md, 'Variants').
    lipschitz: { decoder: 1, encoderMean: 1, encoderStd: 1 },
  });
}

const spec = (id: string, label: string, config: (s: Scale) => ModelConfig, dataset: DatasetName = "mnist"): ModelSpec => ({ id, label, dataset, config });

export const MODELS: ModelSpec[] = [
  ...LEARNED_M.map((m) => spec(`lip-M${m}`, `Lipschitz-VAE M = ${m}`, (s) => lipschitz(m, s))),
  ...(["mnist", "fashion-mnist"] as const).map((d) => spec(
    `constrained-M10-${d}`, `Lipschitz-VAE M = 10, constrained σ (R = ${CONSTRAINED_RADIUS}), ${d === "mnist" ? "MNIST" : "Fashion-MNIST"}`,
    (s) => lipschitz(10, s, { sigma: { mode: "constrained", maxNorm: clipNormForRadius(CONSTRAINED_RADIUS, 10), desiredRadius: CONSTRAINED_RADIUS } }), d)),
  ...FIXED_M.flatMap((m) => FIXED_GAMMA.map((g) => spec(
    `fixed-M${m}-g${g}`, `Lipschitz-VAE M = ${m}, fixed σ = ${g} per dimension`,
    (s) => lipschitz(m, s, { sigma: { mode: "fixed", gamma: g } })))),
  spec("std-dz10", "standard VAE", (s) => standard(10, s)),
  spec("std-dz2", "standard VAE, dz = 2", (s) => standard(2, s)),
  ...[5, 10].map((m) => spec(`lip-M${m}-dz2`, `Lipschitz-VAE M = ${m}, dz = 2`, (s) => lipschitz(m, s, { latentDim: 2 }))),
  ...[5, 10].map((m) => spec(`beta${BETA}-M${m}-dz2`, `Lipschitz-β-VAE M = ${m}, β = ${BETA}, dz = 2`, (s) => lipschitz(m, s, { latentDim: 2, klBeta: BETA }))),
];

const fixedIds = FIXED_M.flatMap((m) => FIXED_GAMMA.map((g) => `fixed-M${m}-g${g}`));
const learnedIds = LEARNED_M.map((m) => `lip-M${m}`);
const each = (ids: string[], ...analyses: Analysis[]): [string, Analysis][] => ids.flatMap((id) => analyses.map((a): [string, Analysis] => [id, a]));

/** What each figure needs: (model id, analysis) pairs. Fig 2 needs no model. */
export const FIGURE_NEEDS: Record<FigureId, [string, Analysis][]> = {
  fig1: each(["std-dz10", `lip-M${ATTACK_M}`], "max-damage"),
  fig2: [],
  fig3: each(fixedIds, "margins"),
  fig4a: each([...learnedIds, "constrained-M10-mnist"], "certify", "margins"),
  fig4b: each(["constrained-M10-fashion-mnist"], "certify", "margins"),
  fig4c: each(fixedIds, "certify", "margins"),
  fig5: each([...learnedIds, "std-dz10"], "margins", "eval"),
  fig6: each(["std-dz2", "lip-M10-dz2", `beta${BETA}-M10-dz2`], "encode"),
  figB8: each(["std-dz2", "lip-M5-dz2", `beta${BETA}-M5-dz2`, "lip-M10-dz2", `beta${BETA}-M10-dz2`], "encode"),
  fig7: each(["lip-M10"], "eval"),
  figE9: each(["std-dz10", `lip-M${ATTACK_M}`], "latent"),
};

export function modelById(id: string): ModelSpec {
  const m = MODELS.find((s) => s.id === id);
  if (!m) throw new Error(`no model '${id}' in the reproduction`);
  return m;
}
