// `lipvae eval`: test-set log-likelihood and ELBO, reconstruction and prior-sample figures.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type Command, UsageError } from "./command.js";
import { integer, parseFlags } from "./args.js";
import { checkOutputDir } from "./out-path.js";
import { Progress } from "./progress.js";
import { LipvaeError } from "../errors.js";
import { datasets, isDatasetName } from "../data/catalog.js";
import { type Dataset, loadDataset } from "../data/datasets.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { FIGURE_SCALE, type GridCaption, writeCaptionedGrid } from "../io/image-grid.js";
import { loadModel, type LoadedModel } from "../model/store.js";
import { type EvalResult, evaluate, reconstructionLayout } from "../model/evaluate.js";
import { libraryVersion } from "../version.js";

export const EVAL_JSON = "eval.json";
export const RECONSTRUCTIONS_PNG = "reconstructions.png";
export const PRIOR_SAMPLES_PNG = "prior-samples.png";

const usage = `lipvae eval --model DIR [--data-dir D] [--images N] [--seed S] [--out DIR]

Evaluates a model on the test set of the dataset it was trained on (as the
paper and the reference code's check_NLL): the mean continuous-Bernoulli
log-likelihood log p(x|z) summed over pixels, with one z ~ q(z|x) sample per
image (KL excluded), and the mean ELBO = LL - KL. Also draws the first 16 test
images with their reconstructions (${RECONSTRUCTIONS_PNG}) and 64 prior samples
z ~ N(0, I) decoded (${PRIOR_SAMPLES_PNG}, the paper's Fig 7), each under a caption
saying what it shows (and, for the reconstructions, which rows are which).

Options:
  --model DIR      model directory (model.json + model.safetensors)
  --data-dir D     folder with the dataset's IDX files (default: data/<dataset>/)
  --images N       evaluate on the first N test images only (default: all 10,000)
  --seed S         seed of the sampling noise (default 0)
  --batch-size N   images per forward pass (default 500)
  --out DIR        where eval.json and the PNGs go (default DIR/eval)`;

export interface EvalRecord {
  format: "lipvae-eval";
  formatVersion: 1;
  libraryVersion: string;
  created: string;
  model: { dir: string; sha256: string; bjorckIters: number };
  dataset: { name: string; split: "test"; images: number; fingerprint: string; matchesModel: boolean };
  seed: number;
  samplesPerImage: 1;
  /** Means over images, in nats per image; ELBO = LL - KL (KL weight 1 whatever the training beta). */
  logLikelihood: { mean: number; stdErr: number };
  kl: { mean: number; stdErr: number };
  elbo: { mean: number; stdErr: number };
  seconds: number;
  files: { reconstructions: string; priorSamples: string };
}

const OPTIONS = {
  model: { type: "string" },
  "data-dir": { type: "string" },
  images: { type: "string" },
  seed: { type: "string" },
  "batch-size": { type: "string" },
  out: { type: "string" },
} as const;

export const evalCommand: Command = {
  name: "eval",
  usage,
  options: OPTIONS,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, OPTIONS, { positionals: true });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (name the model with --model DIR)`);
    if (values.model === undefined) throw new UsageError("--model DIR is required (lipvae eval --help shows the options)");
    const images = values.images === undefined ? null : integer("--images", values.images, 1);
    const seed = values.seed === undefined ? 0 : integer("--seed", values.seed, 0);
    const batchSize = values["batch-size"] === undefined ? 500 : integer("--batch-size", values["batch-size"], 1);
    await runEval({ model: values.model, dataDir: values["data-dir"], images, seed, batchSize, out: values.out });
    return 0;
  },
};

export interface EvalRun {
  model: string;
  dataDir?: string;
  /** First N test images (default all). */
  images: number | null;
  seed: number;
  batchSize: number;
  /** Output folder (default <model>/eval). */
  out?: string;
  /** An already loaded dataset (tests); default: the one model.json names, from dataDir. */
  dataset?: Dataset;
  /** Where the summary and the warning go (default console.log / console.error). */
  log?: (line: string) => void;
  warn?: (line: string) => void;
  /** Progress bar / log lines on stderr (default true). */
  progress?: boolean;
}

/** Loads the model and its test set, evaluates, writes the files, prints the summary. */
export async function runEval(req: EvalRun): Promise<EvalRecord> {
  const log = req.log ?? ((line: string) => console.log(line));
  const warn = req.warn ?? ((line: string) => console.error(line));
  const outDir = req.out ?? path.join(req.model, "eval");
  const model = loadModel(req.model);
  checkOutputDir(req.out === undefined ? "--out (default)" : "--out", outDir);
  const name = model.meta.dataset?.name;
  if (typeof name !== "string" || !isDatasetName(name)) throw new LipvaeError(`${path.join(req.model, "model.json")} names an unknown dataset '${name}'; the file is corrupt`);
  const testCount = datasets[name].files["test-images"].items;
  if (req.images !== null && req.images > testCount) throw new UsageError(`--images ${req.images} is more than the ${testCount} test images`);
  // Only the test split is needed: limit the training split to one image to save the conversion.
  const data = req.dataset ?? loadDataset(name, { dataDir: req.dataDir, verifyChecksums: false, limit: 1 });
  const matches = data.fingerprint === model.meta.dataset.fingerprint;
  if (!matches) {
    warn(`lipvae eval: warning: the ${name} files in ${data.dataDir} differ from the ones the model was trained on (fingerprint ${short(data.fingerprint)} vs ${short(model.meta.dataset.fingerprint)}); the numbers are not comparable`);
  }
  const count = req.images ?? data.test.count;

  const progress = req.progress === false ? null : new Progress();
  const result = evaluate(model.vae, data.test.images, count, {
    seed: req.seed, batchSize: req.batchSize, bjorckIters: model.meta.bjorckIters,
    onProgress: (done, total, ll) => progress?.update({ label: "eval", done, total, fields: { LL: ll.toFixed(1) } }),
  });
  progress?.finish();

  const record = writeEvalOutputs(outDir, model, result, {
    seed: req.seed, dataset: { name, images: count, fingerprint: data.fingerprint, matchesModel: matches },
  });
  printSummary(log, req.model, outDir, datasets[name].title, model, record);
  return record;
}

function short(fingerprint: string): string {
  return fingerprint.replace(/^sha256:/, "").slice(0, 12);
}

/** Writes eval.json and the two PNGs into outDir; returns the JSON record. */
export function writeEvalOutputs(
  outDir: string, model: LoadedModel, r: EvalResult,
  info: { seed: number; dataset: Omit<EvalRecord["dataset"], "split"> },
): EvalRecord {
  mkdirSync(outDir, { recursive: true });
  const grid = reconstructionLayout(r.reconstruction.originals, r.reconstruction.lambda, r.reconstruction.count);
  const captions = evalCaptions(model, r, info.seed, grid.columns);
  writeCaptionedGrid(path.join(outDir, RECONSTRUCTIONS_PNG), grid.images, { columns: grid.columns, scale: FIGURE_SCALE }, captions.reconstructions);
  writeCaptionedGrid(path.join(outDir, PRIOR_SAMPLES_PNG), r.prior.lambda, { columns: 8, scale: FIGURE_SCALE }, captions.priorSamples);
  const record: EvalRecord = {
    format: "lipvae-eval",
    formatVersion: 1,
    libraryVersion,
    created: new Date().toISOString(),
    model: { dir: path.resolve(model.dir), sha256: model.meta.parameters.sha256, bjorckIters: model.meta.bjorckIters },
    dataset: { ...info.dataset, split: "test" },
    seed: info.seed,
    samplesPerImage: 1,
    logLikelihood: r.logLik,
    kl: r.kl,
    elbo: r.elbo,
    seconds: r.seconds,
    files: { reconstructions: RECONSTRUCTIONS_PNG, priorSamples: PRIOR_SAMPLES_PNG },
  };
  writeJsonAtomic(path.join(outDir, EVAL_JSON), record);
  return record;
}

/** Captions of the two eval figures: what they show, the model, the seed; which grid rows are inputs. */
export function evalCaptions(model: LoadedModel, r: EvalResult, seed: number, columns: number): { reconstructions: GridCaption; priorSamples: GridCaption } {
  const name = path.basename(path.resolve(model.dir));
  const count = r.reconstruction.count;
  const pairRows = Math.ceil(count / columns);
  return {
    reconstructions: {
      title: `Reconstructions of the first ${count} test images`,
      notes: [`model ${name}; each recon(x) is one sample g(z), z ~ q(z|x); seed ${seed}`],
      rows: Array.from({ length: 2 * pairRows }, (_, k) => {
        if (k % 2 === 1) return ["recon(x)"];
        const lo = (k / 2) * columns, hi = Math.min(count, lo + columns) - 1;
        return ["x", lo === hi ? `image ${lo}` : `images ${lo}–${hi}`];
      }),
    },
    priorSamples: {
      title: `${r.prior.count} prior samples g(z), z ~ N(0, I)`,
      notes: [`model ${name}; seed ${seed} (the paper's Fig 7)`],
    },
  };
}

function printSummary(log: (line: string) => void, modelDir: string, outDir: string, title: string, model: LoadedModel, r: EvalRecord): void {
  const pm = (s: { mean: number; stdErr: number }) =>
    `${s.mean.toFixed(2).padStart(10)} ± ${Number.isFinite(s.stdErr) ? s.stdErr.toFixed(2) : "n/a"}`;
  const k = model.meta.config.kind === "lipschitz" ? `, Björck K=${model.meta.bjorckIters}` : "";
  log(`${modelDir} on ${r.dataset.images} ${title} test images (one z sample each, seed ${r.seed}${k}), nats per image:`);
  log(`  log-likelihood ${pm(r.logLikelihood)}   (continuous Bernoulli, summed over pixels)`);
  log(`  KL             ${pm(r.kl)}`);
  log(`  ELBO           ${pm(r.elbo)}   (LL - KL)`);
  log(`wrote ${path.join(outDir, EVAL_JSON)}`);
  log(`      ${path.join(outDir, RECONSTRUCTIONS_PNG)} (rows of test images, each followed by their reconstructions)`);
  log(`      ${path.join(outDir, PRIOR_SAMPLES_PNG)} (64 decoded samples z ~ N(0, I))`);
}
