// `lipvae train`: flags -> model configuration + training settings -> Trainer,
// with a progress bar, Ctrl-C handling and a closing summary.

import path from "node:path";
import { type Command, UsageError } from "./command.js";
import { Progress } from "./progress.js";
import { loadDataset } from "../data/datasets.js";
import { datasetNames, type DatasetName } from "../data/catalog.js";
import {
  type BjorckMethod, type ModelConfig, type SigmaConfig, BJORCK_METHODS, PAPER_DEFAULTS, bjorckOptions, clipNormForRadius, validateConfig,
} from "../model/config.js";
import { type TrainEvent, type TrainSettings, Trainer, defaultSettings } from "../model/train.js";
import { CHECKPOINT_FILE } from "../model/checkpoint.js";
import { MODEL_JSON } from "../model/store.js";
import { existsSync } from "node:fs";
import { engine } from "../engine/engine.js";
import { number, integer, optionalInteger, parseFlags } from "./args.js";
import { checkOutputDir } from "./out-path.js";
import { checkResumeFlags, resumedRun } from "./train-resume.js";
import { watchInterrupts } from "../engine/interrupt.js";
import { clearRunFiles } from "./run-files.js";

const usage = `lipvae train [options]

Trains a VAE the way the paper's scripts do: Adam, batch 128, MultiStepLR
[60,100,150]x0.1, stop when the epoch loss changes by <= 1 nat, keep the best
checkpoint by validation loss, then (Lipschitz models) the Björck fine-tune
phase with K=50 and a fresh Adam at 1e-5. With no options: the paper's
Lipschitz-VAE (M=10, dz=10, learned sigma) on the shipped MNIST.

model
  --kind lipschitz|standard   Lipschitz-VAE or the standard VAE baseline (default lipschitz)
  --lipschitz M               nominal Lipschitz constant of all three nets (default 10)
  --lipschitz-decoder a       override for the decoder (a)
  --lipschitz-mean b          override for the encoder mean (b)
  --lipschitz-std c           override for the encoder std (c)
  --latent-dim dz             latent dimension (default 10; 2 for latent plots)
  --hidden 512,512            hidden layer widths
  --sigma learned|constrained|fixed   encoder std mode (default learned)
  --gamma G                   fixed sigma: per-dimension std (a number, or dz comma-separated values)
  --desired-radius R          constrained sigma: clip norm (1/sqrt 8)(R/a) - 1e-4 (reference code; default 5)
  --clip-norm S               constrained sigma: give the clip norm directly
  --beta B                    KL weight (beta-VAE; default 1)
  --k K                       Björck iterations while training (default 3)
  --k-finetune K              Björck iterations in the fine-tune phase and for evaluation (default 50)
  --bjorck-method iterate|spectral   how W_K is computed (default iterate: the paper's K steps);
                              spectral: the same K steps through the f64 eigendecomposition of
                              each weight's smaller Gram, equal up to rounding at a cost that
                              does not grow with K (faster from K of about 8; opt-in, not the paper's procedure)
  --bjorck-tol T              stop the K steps early once ||P - I||_F <= T, P the iterate's
                              smaller Gram (then every singular value <= sqrt(1 + T)); default: never

training
  --dataset mnist|fashion-mnist   (default mnist, shipped in data/mnist)
  --data-dir DIR              where the IDX files are (fashion-mnist needs it)
  --train-limit N             train on the first N training images only
  --validation-limit N        judge each epoch on the first N validation images only
                              (default: all 5,000)
  --out DIR                   model directory (default runs/<derived name>)
  --seed S                    seed of every random stream (default 0)
  --lr LR                     Adam learning rate (default 1e-4; 1e-3 for --kind standard)
  --finetune-lr LR            fine-tune learning rate (default 1e-5)
  --batch-size N              (default 128)
  --tolerance T               convergence tolerance in nats (default 1)
  --epochs N                  train exactly N epochs instead of to convergence
  --max-epochs N              cap per phase when training to convergence (default 500)
  --finetune-epochs N         fine-tune exactly N epochs
  --no-finetune               skip the fine-tune phase
  --resume                    continue the run in --out from its checkpoint, with the
                              checkpoint's model and settings; other flags may be
                              repeated but must not differ (only --out and --data-dir may)
  --overwrite                 start afresh in --out: removes the previous run and every
                              file lipvae derived from it (export, certificates, eval/,
                              attack/, margin/); other files are left and listed
  --detect-anomaly            check every op's output for NaN/infinity and name the first
                              op that made one (slower; for a run that diverges)

Ctrl-C stops after the current step (or during a validation, which the resumed
run repeats), leaves a checkpoint and prints the command that continues exactly
where it stopped. A second Ctrl-C quits at once (saved files stay intact).
A run whose loss or gradients become NaN or infinite stops with an error naming
the epoch and batch (exit status 2); the best model and the last checkpoint
before it stay in --out.`;

/** Every flag of \`lipvae train\` (exported so that a test can check each has a --resume rule). */
export const TRAIN_OPTIONS = {
  kind: { type: "string", default: "lipschitz" },
  lipschitz: { type: "string", default: "10" },
  "lipschitz-decoder": { type: "string" },
  "lipschitz-mean": { type: "string" },
  "lipschitz-std": { type: "string" },
  "latent-dim": { type: "string", default: "10" },
  hidden: { type: "string", default: "512,512" },
  sigma: { type: "string", default: "learned" },
  gamma: { type: "string" },
  "desired-radius": { type: "string" },
  "clip-norm": { type: "string" },
  beta: { type: "string", default: "1" },
  k: { type: "string", default: "3" },
  "k-finetune": { type: "string", default: "50" },
  "bjorck-method": { type: "string", default: "iterate" },
  "bjorck-tol": { type: "string" },
  dataset: { type: "string", default: "mnist" },
  "data-dir": { type: "string" },
  "train-limit": { type: "string" },
  "validation-limit": { type: "string" },
  out: { type: "string" },
  seed: { type: "string", default: "0" },
  lr: { type: "string" },
  "finetune-lr": { type: "string" },
  "batch-size": { type: "string", default: "128" },
  tolerance: { type: "string", default: "1" },
  epochs: { type: "string" },
  "max-epochs": { type: "string", default: "500" },
  "finetune-epochs": { type: "string" },
  "no-finetune": { type: "boolean", default: false },
  resume: { type: "boolean", default: false },
  overwrite: { type: "boolean", default: false },
  "detect-anomaly": { type: "boolean", default: false },
} as const;

/** The flag values (defaults filled in) and the names of the flags the user typed. */
export function parseTrainFlags(argv: string[]) {
  // Only typed flags, not defaults, are compared with a checkpoint on --resume.
  const { values, given } = parseFlags(argv, TRAIN_OPTIONS);
  return { values, given };
}

export const trainCommand: Command = {
  name: "train",
  usage,
  options: TRAIN_OPTIONS,
  async run(argv) {
    const { values, given } = parseTrainFlags(argv);
    if (values.resume && values.overwrite) {
      throw new UsageError("--resume continues the run in --out and --overwrite replaces it: give one of them");
    }
    let config = buildConfig(values);
    let settings = buildSettings(values, config);
    let seed = integer("--seed", values.seed!, 0);
    let datasetName = values.dataset as DatasetName;
    if (!datasetNames.includes(datasetName)) throw new UsageError(`--dataset must be one of ${datasetNames.join(", ")} (got '${values.dataset}')`);
    let limit = optionalInteger("--train-limit", values["train-limit"], 1) ?? undefined;
    const outDir = values.out ?? path.join("runs", defaultRunName(config, datasetName));
    checkOutputDir("--out", outDir);

    const existing = [MODEL_JSON, CHECKPOINT_FILE].filter((f) => existsSync(path.join(outDir, f)));
    if (existing.length > 0 && !values.resume && !values.overwrite) {
      throw new UsageError(`${outDir} already holds a training run (${existing.join(", ")}); pass --resume to continue it, --overwrite to start afresh, or choose another --out`);
    }
    let resume = values.resume!;
    if (values.resume) {
      // The run continues with what its checkpoint fixed, whatever the defaults are now.
      const run = resumedRun(outDir);
      if (run.restart) {
        console.error(`lipvae train: ${run.restart}`);
        resume = false;
      }
      checkResumeFlags(values, given, run);
      ({ config, settings, seed } = run);
      if (run.dataset !== null) datasetName = run.dataset as DatasetName;
      limit = run.trainLimit ?? undefined;
    }
    const progress = new Progress();

    // Installed before the data loads, so that an early Ctrl-C also ends in a checkpoint.
    // Seen between two ops too, so the message (and a second Ctrl-C) does not wait for a long step.
    const control = { stop: false };
    const interrupts = watchInterrupts((count) => {
      if (count === 1) {
        control.stop = true;
        progress.log("\nstopping after this step and writing a checkpoint (Ctrl-C again to quit at once)...");
      } else {
        progress.finish();
        process.exit(130);
      }
    });
    try {
      // Loaded before the first line, so that missing data is the only line printed.
      const dataset = loadDataset(datasetName, { dataDir: values["data-dir"], limit });
      progress.log(`lipvae train: ${describe(config)} on ${datasetName}${limit ? ` (first ${limit} training images)` : ""}, seed ${seed}`);
      const e = engine();
      progress.log(`kernels: ${e.build} WASM build, ${e.threads} thread${e.threads === 1 ? "" : "s"}; model directory: ${outDir}${resume ? " (resuming from its checkpoint)" : ""}`);
      // Only now that the data has loaded: a failed start must not cost the old run.
      if (values.overwrite) {
        const { removed, kept } = clearRunFiles(outDir);
        if (removed.length > 0) progress.log(`--overwrite: removed the previous run's files from ${outDir}: ${removed.join(", ")}`);
        if (kept.length > 0) progress.log(`--overwrite: left ${kept.join(", ")} in ${outDir} (not written by lipvae)`);
      }
      const onEvent = (e: TrainEvent) => reportEvent(progress, e, config.kind);
      const trainer = new Trainer({ config, seed, dataset, outDir, settings, resume, onEvent, control, detectAnomaly: values["detect-anomaly"] });
      const result = await trainer.run();
      progress.finish();
      if (result.status === "interrupted") {
        const dataDir = values["data-dir"] !== undefined ? ` --data-dir ${shellWord(values["data-dir"])}` : "";
        console.log(`\nInterrupted. Continue with:\n  lipvae train --out ${shellWord(outDir)}${dataDir} --resume`);
        return 130;
      }
      console.log(`\nDone: ${result.stoppedBecause}; best validation loss ${result.bestValLoss?.toFixed(2)} nats.`);
      console.log(`Model saved in ${outDir}/ (model.json + model.safetensors). Next:`);
      console.log(`  lipvae eval --model ${outDir}        test log-likelihood, reconstructions, prior samples`);
      console.log(`  lipvae certify --model ${outDir}     certified robustness margins`);
      return 0;
    } finally {
      progress.finish();
      interrupts.stop();
    }
  },
};

export function buildSettings(values: Flags, config: ModelConfig): TrainSettings {
  const settings = defaultSettings(config);
  const str = (k: string) => values[k] as string | undefined;
  if (str("lr") !== undefined) settings.lr = number("--lr", str("lr")!, { positive: true });
  if (str("finetune-lr") !== undefined) settings.finetuneLr = number("--finetune-lr", str("finetune-lr")!, { positive: true });
  settings.batchSize = integer("--batch-size", str("batch-size")!, 1);
  settings.tolerance = number("--tolerance", str("tolerance")!, { min: 0 });
  settings.epochs = optionalInteger("--epochs", str("epochs"), 1);
  settings.maxEpochs = integer("--max-epochs", str("max-epochs")!, 1);
  settings.finetuneEpochs = optionalInteger("--finetune-epochs", str("finetune-epochs"), 1);
  settings.finetuneMaxEpochs = settings.maxEpochs;
  settings.validationLimit = optionalInteger("--validation-limit", str("validation-limit"), 1);
  if (values["no-finetune"]) settings.finetune = false;
  return settings;
}

/** word as the shell should see it (single-quoted when it holds anything special). */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

function reportEvent(progress: Progress, e: TrainEvent, kind: ModelConfig["kind"]): void {
  switch (e.type) {
    case "phase":
      // The standard VAE has no Björck step: its K is a default that nothing uses.
      progress.log(`phase ${e.phase}: ${kind === "lipschitz" ? `Björck K=${e.iters}, ` : ""}${e.batches} batches per epoch` +
        (e.epochsHint ? `, ${e.epochsHint} epochs` : ", until the epoch loss settles"));
      break;
    case "step":
      progress.update({
        label: `${e.phase} epoch ${e.epoch + 1}`, done: e.batch, total: e.batches,
        fields: { loss: e.loss.toFixed(2) },
      });
      break;
    case "epoch": {
      const r = e.record;
      progress.log(`${r.phase} epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(2)}, validation loss ${r.valLoss.toFixed(2)}` +
        `${e.best ? " (best, saved)" : ""}, lr ${r.lr.toExponential(0)}, ${r.seconds.toFixed(0)} s`);
      break;
    }
    case "validation":
      // The epoch line follows the last chunk at once: no need to report it too.
      if (e.done < e.total) progress.update({ label: `${e.phase} epoch ${e.epoch + 1} validation`, done: e.done, total: e.total });
      break;
    case "interrupted":
      progress.log(`checkpoint written to ${e.checkpoint}`);
      break;
    case "cleaned":
      progress.log(`removed ${e.files.length} temporary file${e.files.length === 1 ? "" : "s"} (${(e.bytes / 1e6).toFixed(1)} MB) that an interrupted save left behind`);
      break;
    case "repaired":
      progress.log(`${e.dir}: the model files were from two different saves (the run was killed between them); rewrote them from the checkpoint`);
      break;
  }
}

type Flags = Record<string, string | boolean | undefined>;

export function buildConfig(v: Flags): ModelConfig {
  const kind = v.kind as string;
  if (kind !== "lipschitz" && kind !== "standard") throw new UsageError(`--kind must be lipschitz or standard (got '${kind}')`);
  const m = number("--lipschitz", v.lipschitz as string, { positive: true });
  const lipschitz = {
    decoder: v["lipschitz-decoder"] !== undefined ? number("--lipschitz-decoder", v["lipschitz-decoder"] as string, { positive: true }) : m,
    encoderMean: v["lipschitz-mean"] !== undefined ? number("--lipschitz-mean", v["lipschitz-mean"] as string, { positive: true }) : m,
    encoderStd: v["lipschitz-std"] !== undefined ? number("--lipschitz-std", v["lipschitz-std"] as string, { positive: true }) : m,
  };
  const latentDim = integer("--latent-dim", v["latent-dim"] as string, 1);
  const hidden = String(v.hidden).split(",").map((h) => integer("--hidden", h.trim(), 1));
  const sigma = buildSigma(v, latentDim, lipschitz.decoder);
  const config: ModelConfig = {
    ...structuredClone(PAPER_DEFAULTS),
    kind,
    // The standard VAE has no constraint: Scale(1) is the identity
    // (docs/reference-code.md, 'Variants').
    lipschitz: kind === "standard" ? { decoder: 1, encoderMean: 1, encoderStd: 1 } : lipschitz,
    latentDim,
    hidden,
    sigma,
    klBeta: number("--beta", v.beta as string, { min: 0 }),
    bjorck: {
      beta: 0.5,
      trainIters: integer("--k", v.k as string, 1),
      finetuneIters: integer("--k-finetune", v["k-finetune"] as string, 1),
      method: bjorckMethod(v["bjorck-method"] as string),
      tolerance: v["bjorck-tol"] !== undefined ? number("--bjorck-tol", v["bjorck-tol"] as string, { min: 0 }) : null,
    },
  };
  try {
    return validateConfig(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The --bjorck-method value, checked. */
export function bjorckMethod(raw: string): BjorckMethod {
  if (!(BJORCK_METHODS as readonly string[]).includes(raw)) throw new UsageError(`--bjorck-method must be ${BJORCK_METHODS.join(" or ")} (got '${raw}')`);
  return raw as BjorckMethod;
}

function buildSigma(v: Flags, latentDim: number, decoderM: number): SigmaConfig {
  const mode = v.sigma as string;
  if (mode === "learned") return { mode };
  if (mode === "fixed") {
    if (v.gamma === undefined) throw new UsageError("--sigma fixed needs --gamma (e.g. --gamma 0.1)");
    const parts = String(v.gamma).split(",").map((g) => number("--gamma", g.trim(), { positive: true }));
    if (parts.length !== 1 && parts.length !== latentDim) {
      throw new UsageError(`--gamma needs 1 or ${latentDim} values (one per latent dimension), got ${parts.length}`);
    }
    return { mode, gamma: parts.length === 1 ? parts[0] : parts };
  }
  if (mode === "constrained") {
    if (v["clip-norm"] !== undefined) return { mode, maxNorm: number("--clip-norm", v["clip-norm"] as string, { positive: true }) };
    const radius = v["desired-radius"] !== undefined ? number("--desired-radius", v["desired-radius"] as string, { positive: true }) : 5;
    const maxNorm = clipNormForRadius(radius, decoderM);
    if (!(maxNorm > 0)) throw new UsageError(`--desired-radius ${radius} with a decoder constant ${decoderM} gives no positive clip norm; raise the radius`);
    return { mode, maxNorm, desiredRadius: radius };
  }
  throw new UsageError(`--sigma must be learned, constrained or fixed (got '${mode}')`);
}

function describe(c: ModelConfig): string {
  const m = c.kind === "standard" ? "standard VAE" : `Lipschitz-VAE (a=${c.lipschitz.decoder}, b=${c.lipschitz.encoderMean}, c=${c.lipschitz.encoderStd})`;
  const sigma = c.sigma.mode === "fixed" ? `fixed sigma ${c.sigma.gamma}` : c.sigma.mode === "constrained" ? `sigma clipped to ${c.sigma.maxNorm.toFixed(4)}` : "learned sigma";
  const b = bjorckOptions(c);
  const bjorck = c.kind !== "lipschitz" ? ""
    : `${b.method === "spectral" ? ", spectral Björck" : ""}${b.tolerance !== null ? `, Björck tolerance ${b.tolerance}` : ""}`;
  return `${m}, dz=${c.latentDim}, ${sigma}${c.klBeta !== 1 ? `, beta=${c.klBeta}` : ""}${bjorck}`;
}

export function defaultRunName(c: ModelConfig, dataset: string): string {
  const base = c.kind === "standard" ? "standard" : `lipschitz-M${c.lipschitz.decoder}`;
  const sigma = c.sigma.mode === "fixed" ? `fixed${c.sigma.gamma}` : c.sigma.mode;
  return `${dataset}-${base}-dz${c.latentDim}-${sigma}${c.klBeta !== 1 ? `-beta${c.klBeta}` : ""}`;
}
