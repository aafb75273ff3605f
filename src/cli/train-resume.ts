// `lipvae train --resume` continues a run with the model configuration and
// settings stored in its checkpoint, so that it ends exactly as the run would
// have without the interruption. Flags may still be given (the original
// command plus --resume is always accepted), but one whose value differs from
// the checkpoint's is refused by name: applying it would break the bit-exact
// continuation, ignoring it would surprise. Only flags that say where things
// are (--out, --data-dir; the data itself is checked by its fingerprint) may
// differ. Defaults never count: only flags the user typed are compared.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { LipvaeError } from "../errors.js";
import { checkpointPath, readCheckpoint } from "../model/checkpoint.js";
import { type ModelConfig, fixedSigmaVector } from "../model/config.js";
import { MODEL_FORMAT, MODEL_JSON, type ModelMeta } from "../model/store.js";
import type { TrainSettings } from "../model/train.js";
import { integer, number } from "./args.js";

/** What the checkpoint fixes about its run. */
export interface ResumedRun {
  config: ModelConfig;
  settings: TrainSettings;
  seed: number;
  /** null for checkpoints that predate recording it (the fingerprint still guards the data). */
  dataset: string | null;
  trainLimit: number | null;
  /**
   * Set when outDir has no checkpoint yet, only the model.json of a run killed
   * between its first model save and its first checkpoint: then the run starts
   * again from the beginning with that file's settings (the same seed gives
   * the same run), and this says so.
   */
  restart?: string;
}

/** What the checkpoint (or, before the first one, model.json) in outDir fixes about its run. */
export function resumedRun(outDir: string): ResumedRun {
  if (!existsSync(checkpointPath(outDir))) {
    const fromModel = unfinishedRunInModel(outDir);
    if (fromModel) return fromModel;
  }
  const { state, config } = readCheckpoint(outDir);
  return { config, settings: state.settings, seed: state.seed, dataset: state.datasetName ?? null, trainLimit: state.trainLimit };
}

/** The run a model.json describes, if it is a lipvae run still in its first phase. */
function unfinishedRunInModel(outDir: string): ResumedRun | null {
  const file = path.join(outDir, MODEL_JSON);
  let meta: ModelMeta;
  try {
    meta = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
  const t = meta?.training;
  if (meta.format !== MODEL_FORMAT || !t || t.stoppedBecause !== "in progress" || t.phase !== "train" || typeof t.settings !== "object") return null;
  return {
    config: meta.config, settings: t.settings as unknown as TrainSettings, seed: meta.seed,
    dataset: meta.dataset?.name ?? null, trainLimit: meta.dataset?.trainLimit ?? null,
    restart: `${outDir} has no checkpoint yet (the run was stopped between its first model save and its first checkpoint): ` +
      `training again from the beginning with the settings in ${file}, which repeats the same run`,
  };
}

type Raw = string | boolean;
/**
 * For a flag the user gave: null when its value agrees with the run (or the
 * flag has no effect on such a run, as a fresh run would ignore it), else what
 * the checkpoint has instead, e.g. "the checkpoint's 128".
 */
type Rule = (raw: Raw, run: ResumedRun, given: ReadonlySet<string>) => string | null;

/** Flags that cannot change the result of a run. */
export const RESUME_NEUTRAL_FLAGS: readonly string[] = ["out", "data-dir", "resume", "overwrite", "detect-anomaly"];

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const show = (v: unknown) => (Array.isArray(v) ? v.join(",") : String(v));

/** Compares the parsed flag with the run's value; `absent` describes a run where that value is null. */
function compare<T>(parse: (raw: string) => T, get: (run: ResumedRun) => T | null, absent = ""): Rule {
  return (raw, run) => {
    const want = parse(raw as string), have = get(run);
    if (same(want, have)) return null;
    return have === null ? `the checkpoint's run, which ${absent}` : `the checkpoint's ${show(have)}`;
  };
}

const positive = (flag: string) => (raw: string) => number(flag, raw, { positive: true });
const whole = (flag: string, min: number) => (raw: string) => integer(flag, raw, min);
const text = (raw: string) => raw;

/** A per-net Lipschitz flag; the standard VAE has no constants, so there it does nothing. */
const constant = (flag: string, key: keyof ModelConfig["lipschitz"]): Rule => (raw, run, given) =>
  run.config.kind === "standard" ? null : compare(positive(flag), (r) => r.config.lipschitz[key])(raw, run, given);

const NETS: [string, keyof ModelConfig["lipschitz"], string][] = [
  ["lipschitz-decoder", "decoder", "decoder constant"],
  ["lipschitz-mean", "encoderMean", "encoder-mean constant"],
  ["lipschitz-std", "encoderStd", "encoder-std constant"],
];

const rules: Record<string, Rule> = {
  kind: compare(text, (r) => r.config.kind),
  // --lipschitz M sets every constant that its own flag does not.
  lipschitz: (raw, run, given) => {
    if (run.config.kind === "standard") return null;
    const m = number("--lipschitz", raw as string, { positive: true });
    for (const [flag, key, name] of NETS) {
      const have = run.config.lipschitz[key];
      if (!given.has(flag) && have !== m) return `the checkpoint's ${name} ${have}`;
    }
    return null;
  },
  "lipschitz-decoder": constant("--lipschitz-decoder", "decoder"),
  "lipschitz-mean": constant("--lipschitz-mean", "encoderMean"),
  "lipschitz-std": constant("--lipschitz-std", "encoderStd"),
  "latent-dim": compare(whole("--latent-dim", 1), (r) => r.config.latentDim),
  hidden: compare((raw) => raw.split(",").map((h) => integer("--hidden", h.trim(), 1)), (r) => r.config.hidden),
  sigma: compare(text, (r) => r.config.sigma.mode),
  gamma: (raw, run) => {
    const s = run.config.sigma;
    if (s.mode !== "fixed") return null;
    const values = (raw as string).split(",").map((g) => number("--gamma", g.trim(), { positive: true }));
    const want = values.length === 1 ? new Array<number>(run.config.latentDim).fill(values[0]) : values;
    return same(want, Array.from(fixedSigmaVector(run.config)!)) ? null : `the checkpoint's ${show(s.gamma)}`;
  },
  // --clip-norm wins over --desired-radius, as when the run was started.
  "desired-radius": (raw, run, given) => {
    const s = run.config.sigma;
    if (s.mode !== "constrained" || given.has("clip-norm")) return null;
    const want = number("--desired-radius", raw as string, { positive: true });
    if (s.desiredRadius === undefined) return `the checkpoint's run, which gave --clip-norm ${s.maxNorm}`;
    return want === s.desiredRadius ? null : `the checkpoint's ${s.desiredRadius}`;
  },
  "clip-norm": (raw, run, given) => run.config.sigma.mode !== "constrained" ? null
    : compare(positive("--clip-norm"), (r) => (r.config.sigma as { maxNorm: number }).maxNorm)(raw, run, given),
  beta: compare((raw) => number("--beta", raw, { min: 0 }), (r) => r.config.klBeta),
  k: compare(whole("--k", 1), (r) => r.config.bjorck.trainIters),
  "k-finetune": compare(whole("--k-finetune", 1), (r) => r.config.bjorck.finetuneIters),
  // Checkpoints from before these settings existed ran the paper's iteration with no tolerance.
  "bjorck-method": compare(text, (r) => r.config.bjorck.method ?? "iterate"),
  "bjorck-tol": compare((raw) => number("--bjorck-tol", raw, { min: 0 }), (r) => r.config.bjorck.tolerance ?? null, "never stops the Björck steps early"),
  dataset: (raw, run) => (run.dataset === null || run.dataset === raw ? null : `the checkpoint's ${run.dataset}`),
  "train-limit": compare(whole("--train-limit", 1), (r) => r.trainLimit, "trains on every training image"),
  "validation-limit": compare(whole("--validation-limit", 1), (r) => r.settings.validationLimit, "validates on every validation image"),
  seed: compare(whole("--seed", 0), (r) => r.seed),
  lr: compare(positive("--lr"), (r) => r.settings.lr),
  "finetune-lr": compare(positive("--finetune-lr"), (r) => r.settings.finetuneLr),
  "batch-size": compare(whole("--batch-size", 1), (r) => r.settings.batchSize),
  tolerance: compare((raw) => number("--tolerance", raw, { min: 0 }), (r) => r.settings.tolerance),
  epochs: compare(whole("--epochs", 1), (r) => r.settings.epochs, "trains until the loss settles"),
  "max-epochs": compare(whole("--max-epochs", 1), (r) => r.settings.maxEpochs),
  "finetune-epochs": compare(whole("--finetune-epochs", 1), (r) => r.settings.finetuneEpochs, "fine-tunes until the loss settles"),
  "no-finetune": (_raw, run) => (run.settings.finetune ? "the checkpoint's run, which fine-tunes" : null),
};

/** The flags compared with the checkpoint on --resume. */
export const RESUME_CHECKED_FLAGS: readonly string[] = Object.keys(rules);

/** Throws one LipvaeError naming every given flag whose value differs from the checkpoint's run. */
export function checkResumeFlags(values: Record<string, Raw | undefined>, given: ReadonlySet<string>, run: ResumedRun): void {
  const clauses: string[] = [];
  for (const flag of given) {
    if (RESUME_NEUTRAL_FLAGS.includes(flag)) continue;
    const rule = rules[flag];
    if (!rule) throw new Error(`no --resume rule for --${flag}`);
    const raw = values[flag]!;
    const theirs = rule(raw, run, given);
    if (theirs !== null) clauses.push(`--${flag}${typeof raw === "string" ? ` ${raw}` : ""} differs from ${theirs}`);
  }
  if (clauses.length > 0) {
    const drop = clauses.length === 1 ? "drop the flag" : "drop these flags";
    throw new LipvaeError(`--resume: ${clauses.join("; ")}; ${drop} or start a new run with --out`);
  }
}
