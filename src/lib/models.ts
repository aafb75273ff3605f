// The two kinds of model the library runs: a model directory (model.json +
// model.safetensors, run on the WASM engine) and an exported file (the effective
// network as plain affine layers, run in f64 JavaScript with no engine), behind
// one forward pass.

import { LipvaeError } from "../errors.js";
import { tensor, tidy } from "../engine/tensor.js";
import { noGrad } from "../engine/tape.js";
import { type ModelConfig, PAPER_DEFAULTS, validateConfig } from "../model/config.js";
import { type PlainVae, plainDecode, plainEncode, readPlainVae } from "../model/plain.js";
import type { LoadedModel } from "../model/store.js";

/** An exported file (`lipvae export`) with the configuration its metadata describes. */
export interface ExportedModel {
  file: string;
  plain: PlainVae;
  config: ModelConfig;
}

/** What the library's forward pass and certificates accept. */
export type Model = LoadedModel | ExportedModel;

export function isExported(model: Model): model is ExportedModel {
  return "plain" in model;
}

/** The configuration the model was trained with (read back from the metadata for an export). */
export function modelConfig(model: Model): ModelConfig {
  return isExported(model) ? model.config : model.vae.config;
}

/** Reads an exported safetensors file; errors name the file and what is wrong with it. */
export function loadExport(file: string): ExportedModel {
  const plain = readPlainVae(file);
  return { file, plain, config: exportConfig(plain, file) };
}

/**
 * The model configuration an export's metadata records (src/model/export.ts writes
 * every field), so the certificate code sees an export exactly as it sees the
 * directory it came from.
 */
export function exportConfig(plain: PlainVae, source: string): ModelConfig {
  const md = plain.metadata;
  const num = (key: string): number => {
    const v = Number(md[key]);
    if (md[key] === undefined || !Number.isFinite(v)) throw new LipvaeError(`${source}: metadata '${key}' must be a number, got '${md[key]}'; re-export the model with \`lipvae export\``);
    return v;
  };
  let hidden: number[];
  try {
    hidden = JSON.parse(md.hidden ?? "");
  } catch {
    throw new LipvaeError(`${source}: metadata 'hidden' must be a JSON list of layer widths, got '${md.hidden}'`);
  }
  const s = plain.sigma;
  const sigma: ModelConfig["sigma"] = s.mode === "learned" ? { mode: "learned" }
    : s.mode === "constrained" ? { mode: "constrained", maxNorm: s.clipNorm }
    : { mode: "fixed", gamma: Array.from(s.gamma) };
  const kind = md.kind === "standard" ? "standard" : "lipschitz";
  // A standard VAE has no Björck (its export records 0 steps): the defaults fill the unused fields.
  const iters = kind === "standard" ? PAPER_DEFAULTS.bjorck.trainIters : num("bjorck_iters");
  const method = md.bjorck_method === "spectral" ? "spectral" : "iterate";
  const config: ModelConfig = {
    kind,
    inputDim: plain.inputDim,
    hidden,
    latentDim: plain.latentDim,
    lipschitz: { decoder: num("lipschitz.decoder"), encoderMean: num("lipschitz.encoder_mean"), encoderStd: num("lipschitz.encoder_std") },
    groupSize: plain.groupSize,
    sigma,
    klBeta: num("kl_beta"),
    bjorck: { beta: kind === "standard" ? PAPER_DEFAULTS.bjorck.beta : num("bjorck_beta"), trainIters: iters, finetuneIters: iters, method, tolerance: md.bjorck_tolerance === undefined ? null : num("bjorck_tolerance") },
  };
  try {
    return validateConfig(config);
  } catch (err) {
    throw new LipvaeError(`${source}: ${(err as Error).message}`);
  }
}

/**
 * Rows in x (row-major, inputDim values per row); a clear error for a length that is
 * not a whole number of rows or a value that is not finite.
 */
export function inputRows(model: Model, x: ArrayLike<number>): number {
  const n = modelConfig(model).inputDim;
  if (x.length === 0 || x.length % n !== 0) {
    throw new LipvaeError(`input has ${x.length} values; expected a multiple of the model's input size ${n} (one row per image, pixels in [0, 1])`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new LipvaeError(`input value ${i} is ${x[i]}; inputs must be finite numbers`);
  }
  return x.length / n;
}

export interface ForwardOutputs {
  /** Encoder mean μ(x), rows × d_z. */
  mu: Float64Array;
  /** Encoder standard deviation σ(x), rows × d_z (the fixed γ repeated for a fixed σ). */
  sigma: Float64Array;
  /** The latent code decoded: μ + σ·noise, or μ without noise. */
  z: Float64Array;
  /** The reconstruction g(z) in (0, 1), rows × inputDim (continuous-Bernoulli parameters). */
  reconstruction: Float64Array;
}

/**
 * The effective network on a batch x (rows × inputDim): encoder, one latent code per
 * row (z = μ + σ·noise when `noise`, rows × d_z standard normals, is given; else z = μ),
 * decoder. A model directory runs with its saved Björck iterations on the WASM engine.
 */
export function forward(model: Model, x: ArrayLike<number>, opts: { noise?: ArrayLike<number> } = {}): ForwardOutputs {
  const rows = inputRows(model, x);
  const dz = modelConfig(model).latentDim;
  const noise = opts.noise;
  if (noise && noise.length !== rows * dz) throw new LipvaeError(`noise has ${noise.length} values; expected ${rows} rows × d_z = ${rows * dz}`);
  const latent = (mu: ArrayLike<number>, sigma: ArrayLike<number>) =>
    Float64Array.from(mu, (m, i) => (noise ? m + sigma[i] * noise[i] : m));
  if (isExported(model)) {
    const { mu, sigma } = plainEncode(model.plain, x, rows);
    const z = latent(mu, sigma);
    return { mu, sigma, z, reconstruction: plainDecode(model.plain, z, rows) };
  }
  const { vae, meta } = model;
  return noGrad(() => tidy(() => {
    const w = vae.effectiveWeights(meta.bjorckIters);
    const post = vae.encode(tensor(Float32Array.from(x), [rows, vae.config.inputDim]), w);
    const mu = Float64Array.from(post.mu.data), sigma = Float64Array.from(post.sigma.data);
    const z = latent(mu, sigma);
    const reconstruction = Float64Array.from(vae.decode(tensor(Float32Array.from(z), [rows, dz]), w).data);
    return { mu, sigma, z, reconstruction };
  }));
}
