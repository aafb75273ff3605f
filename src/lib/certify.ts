// Certified margins of a loaded model for given inputs: the constants (nominal, and
// measured on the weights that run), σ(x) per input, and the four certificates of
// src/bounds/certify.ts. `lipvae certify` and the library's certifyInput share it.

import { LipvaeError } from "../errors.js";
import { tidy } from "../engine/tensor.js";
import { noGrad } from "../engine/tape.js";
import { usableBuilds } from "../engine/builds.js";
import {
  type Constants, type Form, type InputCertificate, type SigmaStats,
  certifyFixedSigma, certifyInput as certifyWithStats, nominalConstants, nominalIsValid,
} from "../bounds/certify.js";
import { MEASURE_VERSION, STANDARD_MODEL_WARNING, measureConstants, measurementKey, type MeasuredConstants } from "../bounds/measured.js";
import { mulUp, spectralNorm } from "../bounds/spectral.js";
import type { ModelConfig } from "../model/config.js";
import { type PlainLayer, type PlainVae, plainEncode } from "../model/plain.js";
import type { Split } from "../data/datasets.js";
import { type LoadedModel, nonFiniteParameter, updateModelMeta } from "../model/store.js";
import { sliceRows } from "../model/train.js";
import type { VAE } from "../model/vae.js";
import path from "node:path";
import { libraryVersion } from "../version.js";
import { type ExportedModel, type Model, inputRows, isExported, modelConfig } from "./models.js";

export interface ConstantsOptions {
  /** Measure again even when model.json holds constants for exactly these weights. */
  remeasure?: boolean;
  /** Write newly measured constants into model.json (the CLI does; the library by default does not). */
  store?: boolean;
  /** Called with a one-line message before a (possibly slow) measurement starts. */
  onMeasure?: (message: string) => void;
  /** Called with a one-line note when storing into model.json fails (e.g. a read-only directory). */
  onNote?: (message: string) => void;
}

// Constants measured in this process, per loaded model, so repeated calls measure once.
const measuredInProcess = new WeakMap<LoadedModel, MeasuredConstants>();
const exportMeasured = new WeakMap<ExportedModel, Constants>();

/**
 * Certified upper bounds a, b, c on the Lipschitz constants of a model directory's
 * networks: from model.json when measured for this exact network (see measurementKey:
 * configuration, parameters, Björck iterations, the WASM builds covered, measuring
 * code), else measured now.
 */
export function directoryConstants(model: LoadedModel, opts: ConstantsOptions = {}): MeasuredConstants {
  const { vae, meta, dir } = model;
  // A diverged run leaves NaN or infinite parameters; nothing can be certified for them.
  const bad = nonFiniteParameter(vae);
  if (bad) throw new LipvaeError(`model ${dir} has non-finite weights (${bad}; a diverged run?): retrain with a lower --lr`);
  const key = measurementKey(meta.config, meta.parameters.sha256, meta.bjorckIters, usableBuilds());
  const stored = meta.certified as (MeasuredConstants & { key?: unknown }) | undefined;
  if (!opts.remeasure && stored && stored.key === key && [stored.a, stored.b, stored.c].every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0)) {
    return stored;
  }
  let measured = opts.remeasure ? undefined : measuredInProcess.get(model);
  if (!measured) {
    opts.onMeasure?.(`measuring spectral norms of ${vae.nets.reduce((n, m) => n + m.layers.length, 0)} layers (K = ${meta.bjorckIters}, WASM builds: ${usableBuilds().join(", ")})...`);
    measured = measureConstants(vae, meta.bjorckIters);
    measuredInProcess.set(model, measured);
  }
  if (opts.store) {
    meta.certified = {
      ...measured, key, measureVersion: MEASURE_VERSION, parametersSha256: meta.parameters.sha256,
      measuredWith: libraryVersion, measuredAt: new Date().toISOString(),
    };
    const note = storeBestEffort(() => updateModelMeta(dir, meta), dir);
    if (note) opts.onNote?.(note);
  }
  return measured;
}

/**
 * Runs `store` (caching the constants in model.json) and returns a one-line
 * note instead of failing when the file system refuses: the cache only saves
 * the next run a measurement, the certificate does not depend on it.
 */
export function storeBestEffort(store: () => void, dir: string): string | null {
  try {
    store();
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== "string") throw err;
    return `note: could not store the measured constants in ${path.join(dir, "model.json")} (${code}); they are used for this run and measured again next time`;
  }
}

/**
 * Certified a, b, c of an exported file's networks: the product over layers of a
 * certified bound on each stored weight's spectral norm (the scale is folded in),
 * times 1/4 for a sigmoid output. GroupSort, ReLU and the σ clip are 1-Lipschitz.
 */
export function exportConstants(plain: PlainVae): Constants {
  const net = (layers: PlainLayer[] | null, outputFactor: number) =>
    layers === null ? 0 : layers.reduce((acc, l) => mulUp(acc, spectralNorm(l.weight, l.outDim, l.inDim).upper), outputFactor);
  return { a: net(plain.decoder, 1 / 4), b: net(plain.encoderMean, 1), c: net(plain.encoderStd, 1 / 4) };
}

/**
 * Certified a, b, c of either kind of model, with warnings (unconverged Björck layers,
 * an unconstrained model) that say when the nominal constants certify nothing.
 */
export function measuredConstants(model: Model, opts: ConstantsOptions = {}): Constants & { warnings: string[] } {
  if (isExported(model)) {
    const standard = model.config.kind === "standard";
    let constants = exportMeasured.get(model);
    if (!constants) exportMeasured.set(model, constants = exportConstants(model.plain));
    return { ...constants, warnings: standard ? [STANDARD_MODEL_WARNING] : [] };
  }
  const { a, b, c, warnings } = directoryConstants(model, opts);
  return { a, b, c, warnings };
}

/** Whether the nominal constants hold for these weights, per form (never for the standard VAE). */
export function nominalValidity(cfg: ModelConfig, measured: Constants): Record<Form, boolean> {
  if (cfg.kind === "standard") return { paper: false, tight: false };
  return { paper: nominalIsValid(cfg, "paper", measured), tight: nominalIsValid(cfg, "tight", measured) };
}

/** ‖σ(x)‖ and max_j σ_j(x) for the first n rows of images, Björck computed once. */
export function sigmaStats(vae: VAE, iters: number, images: Float32Array, n: number): SigmaStats[] {
  return noGrad(() => tidy(() => {
    const w = vae.effectiveWeights(iters);
    const out: SigmaStats[] = [];
    for (let start = 0; start < n; start += 500) {
      const size = Math.min(500, n - start);
      tidy(() => {
        out.push(...summariseRows(vae.encode(sliceRows(images, start, size), w).sigma.data, size, vae.config.latentDim));
        return null;
      });
    }
    return out;
  }));
}

function summariseRows(s: ArrayLike<number>, rows: number, dz: number): SigmaStats[] {
  return Array.from({ length: rows }, (_, i) => {
    let sq = 0, mx = 0;
    for (let j = 0; j < dz; j++) {
      sq += s[i * dz + j] ** 2;
      mx = Math.max(mx, s[i * dz + j]);
    }
    return { norm: Math.sqrt(sq), max: mx };
  });
}

export interface CertifyOptions extends ConstantsOptions {
  /** Reconstruction radius r > 0 (the paper's default: 8). */
  r: number;
  /** Probability threshold ε in (0, 1) (the paper's default: 0.5). */
  eps: number;
}

/** The certified margins of one input and everything they were computed from. */
export interface Certificate extends InputCertificate {
  /** "lemma2" (learned or constrained σ: per input) or "theorem3" (fixed σ: one global margin). */
  bound: "lemma2" | "theorem3";
  constants: {
    /** Certified bounds measured on the weights that run. */
    measured: Constants;
    /** The nominal M per net, as each form uses them. */
    nominal: Record<Form, Constants>;
  };
  /** False where the weights exceed the nominal constants: the nominal margins then certify nothing. */
  nominalValid: Record<Form, boolean>;
  /** Unconverged Björck layers, an unconstrained model. */
  warnings: string[];
}

function checkOptions(opts: CertifyOptions): void {
  if (!(opts.r > 0) || !Number.isFinite(opts.r)) throw new LipvaeError(`r must be a positive number (got ${opts.r})`);
  if (!(opts.eps > 0 && opts.eps < 1)) throw new LipvaeError(`eps must be in (0, 1) (got ${opts.eps}); at 0 every radius qualifies`);
}

/** Certificates for every row of x (rows × inputDim, pixels in [0, 1]). */
export function certifyInputs(model: Model, x: ArrayLike<number>, opts: CertifyOptions): Certificate[] {
  checkOptions(opts);
  const rows = inputRows(model, x);
  const cfg = modelConfig(model);
  const { warnings, ...measured } = measuredConstants(model, opts);
  const common = {
    constants: { measured, nominal: { paper: nominalConstants(cfg, "paper"), tight: nominalConstants(cfg, "tight") } },
    nominalValid: nominalValidity(cfg, measured),
    warnings,
  };
  const { r, eps } = opts;
  if (cfg.sigma.mode === "fixed") {
    const cert = certifyFixedSigma(cfg, measured, { r, eps });
    return Array.from({ length: rows }, () => ({ ...cert, bound: "theorem3", ...common }));
  }
  const stats = isExported(model)
    ? summariseRows(plainEncode(model.plain, x, rows).sigma, rows, cfg.latentDim)
    : sigmaStats(model.vae, model.meta.bjorckIters, Float32Array.from(x), rows);
  return stats.map((s) => ({ ...certifyWithStats(cfg, s, measured, { r, eps }), bound: "lemma2", ...common }));
}

/** Certificates of a single input x (inputDim values, pixels in [0, 1]). */
export function certifyInput(model: Model, x: ArrayLike<number>, opts: CertifyOptions): Certificate {
  const n = modelConfig(model).inputDim;
  if (x.length !== n) throw new LipvaeError(`certifyInput takes one input of ${n} values, got ${x.length}; use certifyInputs for a batch`);
  return certifyInputs(model, x, opts)[0];
}

/** A model directory's certificates on test images: one row per image (fixed σ: one global row, index -1). */
export interface ModelCertificates {
  measured: MeasuredConstants;
  /** Whether the nominal constants (as each form uses them) hold for the saved weights. */
  valid: Record<Form, boolean>;
  rows: { index: number; label: number; cert: InputCertificate }[];
}

/**
 * The certificates `lipvae certify` prints (and `lipvae reproduce` records): constants
 * stored in model.json when measured for these weights (else measured and stored, best
 * effort), then Lemma 2 on the first `images` test images, or Theorem 3 for a fixed σ.
 * `test` is called only when per-image σ is needed.
 */
export function certifyModel(
  model: LoadedModel, test: () => Split, opts: { images: number; r: number; eps: number; remeasure?: boolean; log: (line: string) => void },
): ModelCertificates {
  checkOptions(opts);
  const measured = directoryConstants(model, { remeasure: opts.remeasure, store: true, onMeasure: opts.log, onNote: opts.log });
  const k: Constants = { a: measured.a, b: measured.b, c: measured.c };
  const cfg = model.vae.config;
  const valid = nominalValidity(cfg, k);
  const bound = { r: opts.r, eps: opts.eps };
  if (cfg.sigma.mode === "fixed") return { measured, valid, rows: [{ index: -1, label: -1, cert: certifyFixedSigma(cfg, k, bound) }] };
  const split = test();
  const n = Math.min(opts.images, split.count);
  const sigmas = sigmaStats(model.vae, model.meta.bjorckIters, split.images, n);
  return { measured, valid, rows: sigmas.map((s, i) => ({ index: i, label: split.labels[i], cert: certifyWithStats(cfg, s, k, bound) })) };
}
