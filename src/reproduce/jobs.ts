// Running one job of the reproduction: train the job's model (or reuse it, or
// continue it from its checkpoint), then run each analysis whose result is not
// on disk yet. Every step goes through the library code the other commands
// use (Trainer, certifyModel, estimateMargins, evaluate, the attacks).

import { existsSync } from "node:fs";
import path from "node:path";
import { type DatasetName } from "../data/catalog.js";
import { type Dataset, loadDataset, type Split } from "../data/datasets.js";
import { assertAllPresent, resolveDataDir } from "../data/files.js";
import { LipvaeError } from "../errors.js";
import { noGrad } from "../engine/tape.js";
import { tidy } from "../engine/tensor.js";
import { CHECKPOINT_FILE, isFinishedRun } from "../model/checkpoint.js";
import { type LoadedModel, MODEL_JSON, loadModel } from "../model/store.js";
import { Trainer, sliceRows } from "../model/train.js";
import { evaluate } from "../model/evaluate.js";
import { certifyModel } from "../lib/certify.js";
import { attackModel } from "../attacks/model.js";
import { estimateMargins } from "../attacks/margin.js";
import { DEFAULT_MAX_DAMAGE, maxDamageAttack } from "../attacks/max-damage.js";
import { DEFAULT_LATENT, latentAttack } from "../attacks/latent.js";
import { attackStrips } from "../cli/attack.js";
import { clearRunFiles } from "../cli/run-files.js";
import type { Progress } from "../cli/progress.js";
import type { AnalysisJob, Job } from "./plan.js";
import { type JobRecord, modelDir, readResult, writeJobRecord, writeResult } from "./store.js";

/** Set .stop to end training at the next step with a checkpoint, or the job before its next analysis (Ctrl-C). */
export interface Control { stop: boolean }

export class Interrupted extends Error {}

/** null when the dataset's files are on disk, else why not and how to get them. */
export function missingData(name: DatasetName): string | null {
  try {
    assertAllPresent(name, resolveDataDir(name));
    return null;
  } catch (err) {
    if (err instanceof LipvaeError) return err.message;
    throw err;
  }
}

/** Loading and checking a dataset takes a second: an unsharded run loads each one once. */
const datasets = new Map<string, Dataset>();
function cachedDataset(name: DatasetName, limit: number | null): Dataset {
  const key = `${name}:${limit}`;
  if (!datasets.has(key)) datasets.set(key, loadDataset(name, { limit: limit ?? undefined }));
  return datasets.get(key)!;
}

/** Runs the job: returns its record (also written to jobs/). */
export async function runJob(out: string, job: Job, ui: Progress, control: Control): Promise<JobRecord> {
  const base = { model: { id: job.model.id, hash: job.modelHash } };
  const missing = missingData(job.model.dataset);
  if (missing !== null) {
    const record: JobRecord = {
      ...base, status: "skipped", training: null,
      reason: `${job.model.dataset === "fashion-mnist" ? "Fashion-MNIST not downloaded" : `${job.model.dataset} not found`}; run \`lipvae data fetch ${job.model.dataset}\` (${missing})`,
    };
    writeJobRecord(out, job, record);
    return record;
  }
  const training = await trainOrReuse(out, job, ui, control);
  const loaded = loadModel(modelDir(out, job));
  const testSet = () => {
    const data = cachedDataset(job.model.dataset, 1);
    if (data.fingerprint !== loaded.meta.dataset.fingerprint) ui.log(`  warning: the ${data.name} files differ from the ones ${loaded.dir} was trained on`);
    return data.test;
  };
  for (const a of job.analyses) {
    // Ctrl-C between analyses: every finished one is on disk, the rest run next time.
    if (control.stop) throw new Interrupted(`stopped before the ${a.analysis} analysis of ${job.model.id}`);
    if (readResult(out, job, a) !== null) {
      ui.log(`  ${a.analysis}: result on disk, reused`);
      continue;
    }
    ui.log(`  ${a.analysis}...`);
    const t0 = performance.now();
    const data = runAnalysis(a, loaded, testSet, ui, job.model.id);
    writeResult(out, job, a, data, (performance.now() - t0) / 1000);
  }
  const record: JobRecord = { ...base, status: "done", training };
  writeJobRecord(out, job, record);
  return record;
}

/** Trains the model into its directory unless a finished one is there; continues an interrupted run. */
async function trainOrReuse(out: string, job: Job, ui: Progress, control: Control): Promise<JobRecord["training"]> {
  const dir = modelDir(out, job);
  const checkpoint = path.join(dir, CHECKPOINT_FILE);
  const finished = existsSync(path.join(dir, MODEL_JSON)) && isFinishedRun(dir);
  if (!finished) {
    const resume = existsSync(checkpoint);
    if (!resume) clearRunFiles(dir); // a save torn before the first checkpoint: start afresh
    const { settings, trainLimit, seed } = job.train;
    const dataset = cachedDataset(job.model.dataset, trainLimit);
    ui.log(`  training ${job.model.label} in ${dir}${resume ? " (continuing from its checkpoint)" : ""}`);
    const trainer = new Trainer({
      config: job.config, seed, dataset, outDir: dir, settings, resume, control,
      onEvent: (e) => {
        if (e.type === "step") ui.update({ label: `  ${job.model.id} ${e.phase} epoch ${e.epoch + 1}`, done: e.batch, total: e.batches, fields: { loss: e.loss.toFixed(1) } });
      },
    });
    const result = await trainer.run();
    ui.finish();
    if (result.status === "interrupted") throw new Interrupted(`training of ${job.model.id} stopped with a checkpoint in ${dir}`);
  } else {
    ui.log(`  model ${dir} already trained: reused`);
  }
  const { meta } = loadModel(dir);
  const history = meta.training.history;
  return {
    reused: finished,
    seconds: history.reduce((s, e) => s + e.seconds, 0),
    epochs: { train: history.filter((e) => e.phase === "train").length, finetune: history.filter((e) => e.phase === "finetune").length },
    bestValLoss: meta.training.bestValLoss,
    stoppedBecause: meta.training.stoppedBecause,
  };
}

/** Pixel values rounded to 4 decimals: enough for a figure, a quarter of the JSON. */
const image = (a: Float32Array) => Array.from(a, (v) => Math.round(v * 1e4) / 1e4);

function runAnalysis(a: AnalysisJob, loaded: LoadedModel, test: () => Split, ui: Progress, id: string): unknown {
  switch (a.analysis) {
    case "certify": {
      const s = a.settings;
      const c = certifyModel(loaded, test, { images: s.images, r: s.r, eps: s.eps, log: (line) => ui.log(`  ${line}`) });
      return {
        constants: { a: c.measured.a, b: c.measured.b, c: c.measured.c, converged: c.measured.converged },
        nominal: loaded.meta.config.lipschitz, nominalValid: c.valid,
        images: c.rows.map((r) => ({ index: r.index, label: r.label, sigmaNorm: r.cert.sigma.norm, sigmaMax: r.cert.sigma.max, margins: r.cert.margins })),
      };
    }
    case "margins": {
      const s = a.settings;
      const split = test();
      const n = Math.min(s.images, split.count);
      const model = attackModel(loaded.vae, loaded.meta.bjorckIters);
      const results = estimateMargins(model, split.images.subarray(0, n * model.n), n, s.options, {
        onRound: (p) => ui.update({ label: `  ${id} margins`, done: p.done, total: p.total }),
      });
      ui.finish();
      const margins = results.map((r) => r.margin);
      const mean = margins.reduce((x, y) => x + y, 0) / n;
      const sd = Math.sqrt(margins.reduce((x, y) => x + (y - mean) ** 2, 0) / n);
      return { images: results.map((r) => ({ index: r.image, label: split.labels[r.image], margin: r.margin })), mean, sd };
    }
    case "eval": {
      const s = a.settings;
      const split = test();
      const count = Math.min(s.images ?? split.count, split.count);
      const r = evaluate(loaded.vae, split.images, count, { seed: s.seed, bjorckIters: loaded.meta.bjorckIters, batchSize: s.batchSize });
      const prior = Array.from({ length: r.prior.count }, (_, i) => image(r.prior.lambda.subarray(i * 784, (i + 1) * 784)));
      return { images: count, logLikelihood: r.logLik, kl: r.kl, elbo: r.elbo, priorSamples: prior };
    }
    case "max-damage": {
      const s = a.settings;
      const split = test();
      const model = attackModel(loaded.vae, loaded.meta.bjorckIters);
      const count = s.images, n = model.n, seed = s.seed;
      const x = split.images.slice(0, count * n);
      const r = maxDamageAttack(model, x, count, s.radius, { ...DEFAULT_MAX_DAMAGE, ...s.optimiser, constraint: s.constraint, noise: s.noise, samples: s.samples, seed });
      const strip = attackStrips(model, x, r.delta, null, count, seed);
      return {
        columns: ["x", "recon(x)", "δ", "x+δ", "recon(x+δ)"],
        images: Array.from({ length: count }, (_, i) => ({
          index: i, label: split.labels[i], deltaNorm: r.norms[i], damage: r.damage[i],
          strip: Array.from({ length: strip.columns }, (_, k) => image(strip.images.subarray((i * strip.columns + k) * n, (i * strip.columns + k + 1) * n))),
        })),
      };
    }
    case "latent": {
      const s = a.settings;
      const split = test();
      const model = attackModel(loaded.vae, loaded.meta.bjorckIters);
      const n = model.n, seed = s.seed;
      const src = firstWithLabel(split, s.source), tgt = firstWithLabel(split, s.target);
      const x = split.images.slice(src * n, (src + 1) * n), target = split.images.slice(tgt * n, (tgt + 1) * n);
      return {
        source: src, target: tgt, columns: ["x", "recon(x)", "δ", "x+δ", "recon(x+δ)", "target"],
        runs: s.radii.map((radius) => {
          const r = latentAttack(model, x, target, 1, { ...DEFAULT_LATENT, ...s.optimiser, mode: "hard", radius, lambda: 1, seed });
          const strip = attackStrips(model, x, r.delta, target, 1, seed);
          return { radius, deltaNorm: r.norms[0], kl: r.kl[0], strip: Array.from({ length: strip.columns }, (_, k) => image(strip.images.subarray(k * n, (k + 1) * n))) };
        }),
      };
    }
    case "encode": {
      const s = a.settings;
      const split = test();
      const count = Math.min(s.images, split.count);
      return { points: encodeImages(loaded, split, count) };
    }
  }
}

function firstWithLabel(split: Split, label: number): number {
  const i = split.labels.indexOf(label);
  if (i < 0) throw new LipvaeError(`no test image has label ${label}`);
  return i;
}

/** μ(x), σ(x) and the label of the first `count` test images. */
function encodeImages(loaded: LoadedModel, split: Split, count: number): { mu: number[]; sigma: number[]; label: number }[] {
  const { vae } = loaded, dz = vae.config.latentDim;
  return noGrad(() => tidy(() => {
    const w = vae.effectiveWeights(loaded.meta.bjorckIters);
    const out: { mu: number[]; sigma: number[]; label: number }[] = [];
    for (let start = 0; start < count; start += 500) {
      const size = Math.min(500, count - start);
      tidy(() => {
        const post = vae.encode(sliceRows(split.images, start, size), w);
        const mu = post.mu.data, sigma = post.sigma.data;
        for (let i = 0; i < size; i++) {
          out.push({ mu: Array.from(mu.subarray(i * dz, (i + 1) * dz)), sigma: Array.from(sigma.subarray(i * dz, (i + 1) * dz)), label: split.labels[start + i] });
        }
        return null;
      });
    }
    return out;
  }));
}
