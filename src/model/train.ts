// Training as the authors' scripts do it (docs/reference-code.md, 'Training
// loop'), with checkpoints that resume bit for bit:
//   phase "train":    Adam(lr), K = trainIters Björck steps, MultiStepLR per epoch,
//                     stop when |epoch loss - previous| <= tolerance; keep the best
//                     parameters by validation loss;
//   phase "finetune": (Lipschitz models) from that best, fresh Adam(finetuneLr),
//                     K = finetuneIters, same rule, best by validation again.
// The model directory always holds the best model so far (atomic writes); the
// checkpoint file holds everything needed to continue after Ctrl-C or a crash.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Adam, type AdamState, MultiStepLR } from "../engine/optim.js";
import { Random, stream } from "../engine/random.js";
import { type Tensor, empty, tidy } from "../engine/tensor.js";
import { grad, noGrad } from "../engine/tape.js";
import type { Dataset, Split } from "../data/datasets.js";
import { LipvaeError } from "../errors.js";
import { decodeSafetensors, encodeSafetensors, type TensorInput } from "../io/safetensors.js";
import { writeFileAtomic } from "../io/atomic.js";
import type { ModelConfig } from "./config.js";
import { type EpochRecord, saveModel } from "./store.js";
import { VAE, normalNoise } from "./vae.js";

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
  | { type: "epoch"; record: EpochRecord; best: boolean; converged: boolean }
  | { type: "interrupted"; checkpoint: string };

type Phase = "train" | "finetune";

export interface TrainRequest {
  config: ModelConfig;
  seed: number;
  dataset: Dataset;
  outDir: string;
  settings: TrainSettings;
  /** Continue from outDir's checkpoint. */
  resume?: boolean;
  onEvent?: (e: TrainEvent) => void;
  /** Set .stop = true to stop after the current step with a checkpoint. */
  control?: { stop: boolean };
}

export interface TrainResult {
  status: "finished" | "interrupted";
  vae: VAE;
  history: EpochRecord[];
  bestValLoss: number | null;
  stoppedBecause: string;
}

/** Everything besides tensors that a checkpoint must restore. */
interface TrainState {
  phase: Phase;
  epoch: number;
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
  datasetFingerprint: string;
  trainLimit: number | null;
}

export const CHECKPOINT_FILE = "checkpoint.safetensors";

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
      settings, seed, datasetFingerprint: dataset.fingerprint, trainLimit: dataset.trainLimit ?? null,
    };
    const ckpt = path.join(req.outDir, CHECKPOINT_FILE);
    if (req.resume) {
      if (!existsSync(ckpt)) throw new LipvaeError(`--resume: no checkpoint at ${ckpt}; start without --resume`);
      this.vae = new VAE(config, seed, { initialise: false });
      this.restore(ckpt);
    } else {
      this.vae = new VAE(config, seed);
      this.startPhase("train");
    }
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

  /** Runs epochs of the current phase; false when interrupted. */
  private async runPhase(iters: number, batches: number, control: { stop: boolean }): Promise<boolean> {
    const s = this.req.settings;
    const st = this.state;
    const fixedEpochs = st.phase === "train" ? s.epochs : s.finetuneEpochs;
    const maxEpochs = fixedEpochs ?? (st.phase === "train" ? s.maxEpochs : s.finetuneMaxEpochs);
    while (st.epoch < maxEpochs) {
      if (st.batchPos === 0) {
        this.permutation = this.rngShuffle.permutation(this.train.count);
        st.epochLossSum = 0;
        st.epochBatches = 0;
        st.epochSeconds = 0;
      }
      while (st.batchPos < batches) {
        const t0 = performance.now();
        const loss = this.step(st.batchPos, iters);
        st.epochSeconds += (performance.now() - t0) / 1000;
        if (!Number.isFinite(loss)) {
          throw new LipvaeError(`training diverged: the loss became ${loss} at ${st.phase} epoch ${st.epoch + 1}, batch ${st.batchPos + 1}; lower --lr`);
        }
        st.epochLossSum += loss;
        st.epochBatches += 1;
        st.batchPos += 1;
        this.req.onEvent?.({ type: "step", phase: st.phase, epoch: st.epoch, batch: st.batchPos, batches, loss });
        // Yield so that Ctrl-C (SIGINT) can be observed between steps.
        await new Promise((r) => setImmediate(r));
        if (control.stop && st.batchPos < batches) return false;
      }
      const trainLoss = st.epochLossSum / st.epochBatches;
      const t0 = performance.now();
      const valLoss = this.validationLoss(iters);
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
      if (control.stop && st.epoch < maxEpochs) return false;
    }
    st.stoppedBecause = fixedEpochs !== null
      ? `${st.phase}: ran the requested ${fixedEpochs} epochs`
      : `${st.phase}: reached --max-epochs ${maxEpochs} before converging`;
    return true;
  }

  /** One optimisation step on batch b of the current permutation; returns the loss. */
  private step(b: number, iters: number): number {
    const s = this.req.settings;
    const perm = this.permutation!;
    const start = b * s.batchSize;
    const size = Math.min(s.batchSize, this.train.count - start);
    return tidy(() => {
      const x = gatherRows(this.train.images, perm, start, size);
      const noise = normalNoise(size, this.vae.config.latentDim, this.rngNoise);
      const w = this.vae.effectiveWeights(iters);
      const { loss } = this.vae.elbo(x, noise, w);
      const params = this.vae.parameters();
      const grads = grad(loss, params);
      this.adam.step(grads);
      return loss.item();
    });
  }

  /** Mean negative ELBO over the validation set (one sample each, as the reference). */
  validationLoss(iters: number): number {
    return noGrad(() => tidy(() => {
      const w = this.vae.effectiveWeights(iters);
      const n = this.validation.count, bs = 500;
      let total = 0;
      for (let start = 0; start < n; start += bs) {
        const size = Math.min(bs, n - start);
        total += tidy(() => {
          const x = sliceRows(this.validation.images, start, size);
          const noise = normalNoise(size, this.vae.config.latentDim, this.rngVal);
          return this.vae.elbo(x, noise, w).loss.item() * size;
        });
      }
      return total / n;
    }));
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
    const file = path.join(this.req.outDir, CHECKPOINT_FILE);
    writeFileAtomic(file, encodeSafetensors(tensors, { state: JSON.stringify(st), config: JSON.stringify(this.vae.config) }));
    return file;
  }

  private restore(file: string): void {
    const { tensors, metadata } = decodeSafetensors(readFileSync(file), file);
    let st: TrainState;
    try {
      st = JSON.parse(metadata.state);
    } catch {
      throw new LipvaeError(`${file}: the checkpoint has no readable training state; start without --resume`);
    }
    if (JSON.stringify(JSON.parse(metadata.config)) !== JSON.stringify(this.vae.config)) {
      throw new LipvaeError(`${file} was made with a different model configuration; resume with the same flags or start afresh`);
    }
    if (st.datasetFingerprint !== this.req.dataset.fingerprint || st.trainLimit !== (this.req.dataset.trainLimit ?? null)) {
      throw new LipvaeError(`${file} was made on different data (dataset or --train-limit differs); resume with the same data`);
    }
    if (st.done) throw new LipvaeError(`${file}: this training run already finished (${st.stoppedBecause}); nothing to resume`);
    if (st.seed !== this.req.seed) throw new LipvaeError(`${file} was made with --seed ${st.seed}; resume with the same seed`);
    st.settings = this.req.settings;
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
