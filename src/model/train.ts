// Training as the authors' scripts do it (docs/reference-code.md, 'Training
// loop'), with checkpoints that resume bit for bit:
//   phase "train":    Adam(lr), K = trainIters Björck steps, MultiStepLR per epoch,
//                     stop when |epoch loss - previous| <= tolerance; keep the best
//                     parameters by validation loss;
//   phase "finetune": (Lipschitz models) from that best, fresh Adam(finetuneLr),
//                     K = finetuneIters, same rule, best by validation again.
// The model directory always holds the best model so far (atomic writes); the
// checkpoint file holds everything needed to continue after Ctrl-C or a crash.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Adam, MultiStepLR } from "../engine/optim.js";
import { Random, stream } from "../engine/random.js";
import { type Tensor, empty, tidy } from "../engine/tensor.js";
import { NonFiniteError, detectAnomaly, firstNonFinite, grad, noGrad } from "../engine/tape.js";
import type { Dataset, Split } from "../data/datasets.js";
import { LipvaeError } from "../errors.js";
import { removeStaleTemps } from "../io/atomic.js";
import type { TensorInput } from "../io/safetensors.js";
import { type Phase, type TrainState, CHECKPOINT_FILE, checkpointPath, readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import type { ModelConfig } from "./config.js";
import { type EpochRecord, MODEL_JSON, MODEL_WEIGHTS, saveModel, sha256 } from "./store.js";
import { type EffectiveWeights, VAE, normalNoise } from "./vae.js";

export { CHECKPOINT_FILE };

export interface TrainSettings {
  lr: number;
  batchSize: number;
  milestones: number[];
  gamma: number;
  /** Stop when the epoch mean loss changes by at most this much (nats). */
  tolerance: number;
  /** Train exactly this many epochs (overrides the tolerance rule). */
  epochs: number | null;
  /** Safety cap on epochs per phase. */
  maxEpochs: number;
  finetune: boolean;
  finetuneLr: number;
  finetuneEpochs: number | null;
  finetuneMaxEpochs: number;
  /** Use only the first N validation images (tests); null = all 6,000. */
  validationLimit: number | null;
}

export function defaultSettings(config: ModelConfig): TrainSettings {
  const lipschitz = config.kind === "lipschitz";
  return {
    lr: lipschitz ? 1e-4 : 1e-3,
    batchSize: 128,
    milestones: [60, 100, 150],
    gamma: 0.1,
    tolerance: 1,
    epochs: null,
    maxEpochs: 500,
    finetune: lipschitz,
    finetuneLr: 1e-5,
    finetuneEpochs: null,
    finetuneMaxEpochs: 500,
    validationLimit: null,
  };
}

export type TrainEvent =
  | { type: "phase"; phase: Phase; iters: number; epochsHint: number | null; batches: number }
  | { type: "step"; phase: Phase; epoch: number; batch: number; batches: number; loss: number }
  /** After each validation chunk: done of total validation images evaluated. */
  | { type: "validation"; phase: Phase; epoch: number; done: number; total: number }
  | { type: "epoch"; record: EpochRecord; best: boolean; converged: boolean }
  | { type: "interrupted"; checkpoint: string }
  /** Temporary files of killed earlier runs, removed when the run directory was opened. */
  | { type: "cleaned"; files: string[]; bytes: number }
  /** On resume: model.json and the weights did not match (killed between their writes); rewritten from the checkpoint. */
  | { type: "repaired"; dir: string };

export interface TrainRequest {
  config: ModelConfig;
  seed: number;
  dataset: Dataset;
  outDir: string;
  settings: TrainSettings;
  /** Continue from outDir's checkpoint. */
  resume?: boolean;
  onEvent?: (e: TrainEvent) => void;
  /**
   * Set .stop = true to stop with a checkpoint: before the next step, or in the
   * middle of a validation (which the resumed run then does again from its start).
   */
  control?: { stop: boolean };
  /** Check every op's output for NaN/infinity and name the first op that made one (slower). */
  detectAnomaly?: boolean;
}

export interface TrainResult {
  status: "finished" | "interrupted";
  vae: VAE;
  history: EpochRecord[];
  bestValLoss: number | null;
  stoppedBecause: string;
}


export class Trainer {
  readonly vae: VAE;
  private readonly rngShuffle: Random;
  private readonly rngNoise: Random;
  private readonly rngVal: Random;
  private adam!: Adam;
  private sched!: MultiStepLR;
  private state: TrainState;
  private permutation: Uint32Array | null = null;
  private bestParams: Float32Array[] | null = null;
  private readonly train: Split;
  private readonly validation: Split;

  constructor(private readonly req: TrainRequest) {
    const { config, seed, dataset, settings } = req;
    this.train = dataset.train;
    const vLimit = settings.validationLimit;
    this.validation = vLimit ? { ...dataset.validation, count: Math.min(vLimit, dataset.validation.count) } : dataset.validation;
    this.rngShuffle = stream(seed, "shuffle");
    this.rngNoise = stream(seed, "noise");
    this.rngVal = stream(seed, "validation");
    this.state = {
      phase: "train", epoch: 0, batchPos: 0, epochLossSum: 0, epochBatches: 0, epochSeconds: 0,
      prevEpochLoss: null, bestValLoss: null, schedEpoch: 0, adam: { step: 0, lr: settings.lr },
      rng: { shuffle: [], noise: [], validation: [] }, history: [], stoppedBecause: "", done: false,
      settings, seed, datasetName: dataset.name, datasetFingerprint: dataset.fingerprint, trainLimit: dataset.trainLimit ?? null,
    };
    if (req.resume) {
      this.vae = new VAE(config, seed, { initialise: false });
      this.restore();
    } else {
      this.vae = new VAE(config, seed);
      this.startPhase("train");
    }
    // Up front, so that a checkpoint can be written at any moment, even before
    // the first model save.
    mkdirSync(req.outDir, { recursive: true });
    // A kill -9 inside a save leaves its temporary file (tens of MB) behind.
    const stale = removeStaleTemps(req.outDir);
    if (stale.removed.length > 0) req.onEvent?.({ type: "cleaned", files: stale.removed, bytes: stale.bytes });
    if (req.resume) this.repairModelFiles();
  }

  /**
   * A kill between the two writes of a model save leaves new weights beside the
   * old model.json (or no model.json): rewrite both from the checkpoint's best
   * parameters, which the resumed run would otherwise only replace an epoch later.
   */
  private repairModelFiles(): void {
    const dir = this.req.outDir;
    if (!this.bestParams || modelFilesAgree(dir)) return;
    const current = this.vae.parameters().map((p) => Float32Array.from(p.data));
    this.restoreBest();
    this.saveBestModel(this.itersFor(this.state.phase));
    this.vae.parameters().forEach((p, i) => p.data.set(current[i]));
    this.req.onEvent?.({ type: "repaired", dir });
  }

  private itersFor(phase: Phase): number {
    return phase === "train" ? this.vae.config.bjorck.trainIters : this.vae.config.bjorck.finetuneIters;
  }

  private startPhase(phase: Phase): void {
    const s = this.req.settings;
    const lr = phase === "train" ? s.lr : s.finetuneLr;
    this.adam = new Adam(this.vae.parameters(), { lr });
    this.sched = new MultiStepLR(this.adam, lr, s.milestones, s.gamma);
    Object.assign(this.state, {
      phase, epoch: 0, batchPos: 0, epochLossSum: 0, epochBatches: 0, epochSeconds: 0,
      prevEpochLoss: null, bestValLoss: null, schedEpoch: 0, stoppedBecause: "",
    });
    this.bestParams = null;
    this.permutation = null;
  }

  async run(): Promise<TrainResult> {
    const s = this.req.settings;
    const control = this.req.control ?? { stop: false };
    const batches = Math.ceil(this.train.count / s.batchSize);
    for (;;) {
      const phase = this.state.phase;
      const iters = this.itersFor(phase);
      const epochsHint = phase === "train" ? s.epochs : s.finetuneEpochs;
      this.req.onEvent?.({ type: "phase", phase, iters, epochsHint, batches });
      const finished = await this.runPhase(iters, batches, control);
      if (!finished) {
        const file = this.saveCheckpoint();
        this.req.onEvent?.({ type: "interrupted", checkpoint: file });
        return this.result("interrupted");
      }
      this.restoreBest();
      // Re-save the best model so that model.json records why the phase ended.
      if (this.bestParams) this.saveBestModel(iters);
      if (phase === "train" && s.finetune && this.vae.config.kind === "lipschitz") {
        this.startPhase("finetune");
        this.saveCheckpoint();
        continue;
      }
      this.state.done = true;
      this.saveCheckpoint();
      return this.result("finished");
    }
  }

  /**
   * Runs epochs of the current phase; false when interrupted. control.stop is
   * checked before anything that changes the state (a step, or drawing an
   * epoch's permutation), so that the checkpoint written on return continues
   * exactly where this run stopped.
   */
  private async runPhase(iters: number, batches: number, control: { stop: boolean }): Promise<boolean> {
    const s = this.req.settings;
    const st = this.state;
    const fixedEpochs = st.phase === "train" ? s.epochs : s.finetuneEpochs;
    const maxEpochs = fixedEpochs ?? (st.phase === "train" ? s.maxEpochs : s.finetuneMaxEpochs);
    while (st.epoch < maxEpochs) {
      while (st.batchPos < batches) {
        await yieldToEvents();
        if (control.stop) return false;
        if (st.batchPos === 0) {
          this.permutation = this.rngShuffle.permutation(this.train.count);
          st.epochLossSum = 0;
          st.epochBatches = 0;
          st.epochSeconds = 0;
        }
        const t0 = performance.now();
        const where = `${st.phase} epoch ${st.epoch + 1}, batch ${st.batchPos + 1}`;
        const loss = this.step(st.batchPos, iters, where);
        st.epochSeconds += (performance.now() - t0) / 1000;
        if (!Number.isFinite(loss)) throw this.diverged(`the training loss became ${loss} in ${where}`, true);
        st.epochLossSum += loss;
        st.epochBatches += 1;
        st.batchPos += 1;
        this.req.onEvent?.({ type: "step", phase: st.phase, epoch: st.epoch, batch: st.batchPos, batches, loss });
      }
      const trainLoss = st.epochLossSum / st.epochBatches;
      const t0 = performance.now();
      const valLoss = await this.validate(iters, control);
      if (valLoss === null) return false;
      // A diverged step can leave a finite loss and broken parameters: the
      // validation loss is where that shows, and such a model is never "best".
      if (!Number.isFinite(valLoss)) throw this.diverged(`the validation loss is ${valLoss} after ${st.phase} epoch ${st.epoch + 1}`);
      const record: EpochRecord = {
        phase: st.phase, epoch: st.epoch + 1, trainLoss, valLoss, lr: this.adam.lr,
        seconds: st.epochSeconds + (performance.now() - t0) / 1000,
      };
      st.history.push(record);
      const best = st.bestValLoss === null || valLoss < st.bestValLoss;
      if (best) {
        st.bestValLoss = valLoss;
        this.bestParams = this.vae.parameters().map((p) => Float32Array.from(p.data));
      }
      const converged = fixedEpochs === null && st.prevEpochLoss !== null && Math.abs(trainLoss - st.prevEpochLoss) <= s.tolerance;
      st.prevEpochLoss = trainLoss;
      st.epoch += 1;
      st.batchPos = 0;
      this.sched.step();
      st.schedEpoch = this.sched.lastEpoch;
      if (best) this.saveBestModel(iters);
      this.req.onEvent?.({ type: "epoch", record, best, converged });
      if (converged) {
        st.stoppedBecause = `${st.phase}: converged (|delta epoch loss| <= ${s.tolerance}) after ${st.epoch} epochs`;
        return true;
      }
      this.saveCheckpoint();
    }
    st.stoppedBecause = fixedEpochs !== null
      ? `${st.phase}: ran the requested ${fixedEpochs} epochs`
      : `${st.phase}: reached --max-epochs ${maxEpochs} before converging`;
    return true;
  }

  /** The error that ends a diverged run; the model directory keeps the last good model, if any. */
  private diverged(what: string, inStep = false): LipvaeError {
    const st = this.state;
    const flag = st.phase === "train" ? "--lr" : "--finetune-lr";
    const lr = st.phase === "train" ? this.req.settings.lr : this.req.settings.finetuneLr;
    // Every finished epoch saved a model (the first of each phase is always the best so far).
    const last = st.history.at(-1);
    const kept = last ? `the best model before it (${last.phase} phase) remains in ${this.req.outDir}` : "no model was saved";
    // A new run in a directory with a checkpoint needs --overwrite; say so now rather than after the next attempt.
    const again = existsSync(checkpointPath(this.req.outDir)) ? "start again with --overwrite" : "start again";
    const anomaly = inStep && !this.req.detectAnomaly ? " (--detect-anomaly names the op that made the first non-finite value)" : "";
    return new LipvaeError(`training diverged: ${what}${anomaly}; lower ${flag} (it is ${lr.toExponential()}) and ${again}; ${kept}`);
  }

  /**
   * One optimisation step on batch b of the current permutation; returns the
   * loss. A non-finite gradient stops the run before the update, so the
   * parameters (and the last checkpoint) stay finite.
   */
  private step(b: number, iters: number, where: string): number {
    const s = this.req.settings;
    const perm = this.permutation!;
    const start = b * s.batchSize;
    const size = Math.min(s.batchSize, this.train.count - start);
    testPoison(this.vae, "weight");
    const run = () => tidy(() => {
      const x = gatherRows(this.train.images, perm, start, size);
      const noise = normalNoise(size, this.vae.config.latentDim, this.rngNoise);
      const w = this.vae.effectiveWeights(iters);
      const { loss } = this.vae.elbo(x, noise, w);
      const named = this.vae.namedParameters();
      const grads = grad(loss, named.map(([, p]) => p));
      testPoison(grads, "grad");
      const value = loss.item();
      // A NaN loss has NaN gradients: report the loss, the cause users look for first.
      if (Number.isFinite(value)) {
        grads.forEach((g, i) => {
          const bad = firstNonFinite(g);
          if (bad !== null) throw this.diverged(`the gradient of ${named[i][0]} holds ${bad} in ${where}`, true);
        });
        this.adam.step(grads);
      }
      return value;
    });
    if (!this.req.detectAnomaly) return run();
    try {
      return detectAnomaly(run);
    } catch (err) {
      if (err instanceof NonFiniteError) throw this.diverged(`${err.message} in ${where}`);
      throw err;
    }
  }

  /**
   * The epoch's validation loss, in chunks with control.stop checked between
   * them; null when stopped. Stopping rewinds the validation noise stream, so
   * that the resumed run repeats this validation exactly.
   */
  private async validate(iters: number, control: { stop: boolean }): Promise<number | null> {
    const st = this.state;
    const rngStart = this.rngVal.getState();
    const w = noGrad(() => tidy(() => this.vae.effectiveWeights(iters)));
    try {
      const n = this.validation.count;
      let total = 0;
      const stopped = () => {
        if (control.stop) this.rngVal.setState(rngStart);
        return control.stop;
      };
      for (let start = 0; start < n; start += VALIDATION_CHUNK) {
        await yieldToEvents();
        if (stopped()) return null;
        total += this.validationChunk(w, start, Math.min(VALIDATION_CHUNK, n - start));
        this.req.onEvent?.({ type: "validation", phase: st.phase, epoch: st.epoch, done: Math.min(start + VALIDATION_CHUNK, n), total: n });
      }
      return stopped() ? null : total / n;
    } finally {
      this.releaseWeights(w);
    }
  }

  /** Sum of the negative ELBO over validation images [start, start + size), one noise sample each as the reference code. */
  private validationChunk(w: EffectiveWeights, start: number, size: number): number {
    return noGrad(() => tidy(() => {
      const x = sliceRows(this.validation.images, start, size);
      const noise = normalNoise(size, this.vae.config.latentDim, this.rngVal);
      return this.vae.elbo(x, noise, w).loss.item() * size;
    }));
  }

  /** Frees Björck outputs made for a validation; the standard kind's are the parameters themselves. */
  private releaseWeights(w: EffectiveWeights): void {
    const params = new Set(this.vae.parameters());
    for (const t of [...w.encoderMean, ...(w.encoderStd ?? []), ...w.decoder]) if (!params.has(t)) t.dispose();
  }

  private restoreBest(): void {
    if (!this.bestParams) return;
    this.vae.parameters().forEach((p, i) => p.data.set(this.bestParams![i]));
  }

  private saveBestModel(iters: number): void {
    // Save the best parameters (== current ones, just recorded) with their metadata.
    const st = this.state;
    saveModel(this.req.outDir, this.vae, {
      seed: this.req.seed,
      bjorckIters: this.vae.config.kind === "lipschitz" ? iters : 0,
      dataset: {
        name: this.req.dataset.name, fingerprint: this.req.dataset.fingerprint,
        official: this.req.dataset.official, trainLimit: this.req.dataset.trainLimit ?? null,
      },
      training: {
        phase: st.phase,
        settings: { ...this.req.settings },
        history: st.history,
        bestValLoss: st.bestValLoss,
        stoppedBecause: st.stoppedBecause || "in progress",
      },
    });
  }

  private result(status: TrainResult["status"]): TrainResult {
    return { status, vae: this.vae, history: this.state.history, bestValLoss: this.state.bestValLoss, stoppedBecause: this.state.stoppedBecause };
  }

  // ---------------------------------------------------------------------------
  // Checkpoints

  private saveCheckpoint(): string {
    const st = this.state;
    st.adam = { step: this.adam.stepCount, lr: this.adam.lr };
    st.schedEpoch = this.sched.lastEpoch;
    st.rng = { shuffle: this.rngShuffle.getState(), noise: this.rngNoise.getState(), validation: this.rngVal.getState() };
    const tensors: Record<string, TensorInput> = {};
    const adamState = this.adam.state();
    this.vae.namedParameters().forEach(([name, t], i) => {
      tensors[`param/${name}`] = { shape: [...t.shape], data: Float32Array.from(t.data) };
      tensors[`adam_m/${name}`] = { shape: [...t.shape], data: adamState.m[i] };
      tensors[`adam_v/${name}`] = { shape: [...t.shape], data: adamState.v[i] };
      if (this.bestParams) tensors[`best/${name}`] = { shape: [...t.shape], data: this.bestParams[i] };
    });
    if (this.permutation && st.batchPos > 0) {
      tensors["permutation"] = { shape: [this.permutation.length], data: Int32Array.from(this.permutation) };
    }
    const file = checkpointPath(this.req.outDir);
    writeCheckpoint(file, st, this.vae.config, tensors);
    return file;
  }

  private restore(): void {
    const { file, state: st, config, tensors } = readCheckpoint(this.req.outDir);
    if (JSON.stringify(config) !== JSON.stringify(this.vae.config)) {
      throw new LipvaeError(`${file} was made with a different model configuration; resume with the same flags or start afresh`);
    }
    if (st.datasetFingerprint !== this.req.dataset.fingerprint || st.trainLimit !== (this.req.dataset.trainLimit ?? null)) {
      throw new LipvaeError(`${file} was made on different data (dataset or --train-limit differs); resume with the same data`);
    }
    if (st.seed !== this.req.seed) throw new LipvaeError(`${file} was made with --seed ${st.seed}; resume with the same seed`);
    // A resumed run continues bit for bit only with the settings it started with.
    const differing = settingDifferences(st.settings, this.req.settings);
    if (differing.length > 0) {
      throw new LipvaeError(`${file} was made with ${differing.join(", ")}; resume with the checkpoint's settings or start a new run`);
    }
    const names = this.vae.namedParameters();
    const take = (key: string): Float32Array => {
      const t = tensors[key];
      if (!t || t.dtype !== "F32") throw new LipvaeError(`${file}: tensor ${key} is missing; the checkpoint is corrupt`);
      return t.data as Float32Array;
    };
    names.forEach(([name, t]) => t.data.set(take(`param/${name}`)));
    const lr = st.phase === "train" ? st.settings.lr : st.settings.finetuneLr;
    this.adam = new Adam(this.vae.parameters(), { lr });
    this.adam.loadState({ ...st.adam, m: names.map(([n]) => take(`adam_m/${n}`)), v: names.map(([n]) => take(`adam_v/${n}`)) });
    this.sched = new MultiStepLR(this.adam, lr, st.settings.milestones, st.settings.gamma);
    this.sched.lastEpoch = st.schedEpoch;
    this.bestParams = tensors[`best/${names[0][0]}`] ? names.map(([n]) => take(`best/${n}`)) : null;
    this.permutation = tensors["permutation"] ? Uint32Array.from(tensors["permutation"].data as Int32Array) : null;
    this.rngShuffle.setState(st.rng.shuffle);
    this.rngNoise.setState(st.rng.noise);
    this.rngVal.setState(st.rng.validation);
    this.state = st;
  }
}

/** Whether dir's model.json names the hash of the weights beside it (nothing to repair when neither exists). */
function modelFilesAgree(dir: string): boolean {
  const json = path.join(dir, MODEL_JSON), weights = path.join(dir, MODEL_WEIGHTS);
  if (!existsSync(json) && !existsSync(weights)) return true;
  try {
    return JSON.parse(readFileSync(json, "utf8")).parameters.sha256 === sha256(readFileSync(weights));
  } catch {
    return false;
  }
}

/**
 * Tests only: LIPVAE_TEST_POISON=<target>@<n> with target weight-nan,
 * weight-huge or grad-nan puts a NaN (or 1e38) into the first element of the
 * first weight (or its gradient) at this process's n-th step, to test the
 * fault handling without waiting for a real divergence.
 */
let poisonSteps = 0;
function testPoison(where: VAE | Tensor[], kind: "weight" | "grad"): void {
  const spec = process.env.LIPVAE_TEST_POISON;
  if (!spec) return;
  const [target, at] = spec.split("@");
  if (kind === "weight" && ++poisonSteps !== Number(at)) return;
  if (kind === "grad" && poisonSteps !== Number(at)) return;
  if (!target.startsWith(kind)) return;
  const t = Array.isArray(where) ? where[0] : where.parameters()[0];
  t.data[0] = target === "weight-huge" ? 1e38 : NaN;
}

/** Validation images per forward pass (part of the result: the noise is drawn per chunk). */
const VALIDATION_CHUNK = 500;

/** Lets pending events (a SIGINT handler setting control.stop) run. */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** "batchSize 128, not 64" for every setting whose value differs. */
function settingDifferences(saved: TrainSettings, wanted: TrainSettings): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(wanted)] as (keyof TrainSettings)[]);
  return [...keys]
    .filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(wanted[k]))
    .map((k) => `${k} ${JSON.stringify(saved[k])}, not ${JSON.stringify(wanted[k])}`);
}

/** Rows perm[start .. start+size) of an n x 784 image array, as an f32 tensor. */
export function gatherRows(images: Float32Array, perm: Uint32Array, start: number, size: number, width = 784): Tensor {
  const t = empty([size, width]);
  const out = t.data;
  for (let i = 0; i < size; i++) out.set(images.subarray(perm[start + i] * width, (perm[start + i] + 1) * width), i * width);
  return t;
}

/** Rows [start, start+size) as an f32 tensor. */
export function sliceRows(images: Float32Array, start: number, size: number, width = 784): Tensor {
  const t = empty([size, width]);
  t.data.set(images.subarray(start * width, (start + size) * width));
  return t;
}
