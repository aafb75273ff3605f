// `lipvae export`: the effective network as plain affine layers, so that any
// safetensors reader (PyTorch, NumPy, ...) can rebuild the model with
// nn.Linear + GroupSort/ReLU + sigmoid and nothing lipvae-specific.
//
// Each layer is stored with Björck already applied (in f32, with the model's
// own iteration count, i.e. exactly the weights its forward pass multiplies
// by) and the per-layer scale s = M^(1/L) folded in: s(x W^T + b) = x (sW)^T + sb.
// The format is documented in docs/model-format.md.

import { statSync } from "node:fs";
import { tidy } from "../engine/tensor.js";
import { noGrad } from "../engine/tape.js";
import { type TensorInput, writeSafetensors } from "../io/safetensors.js";
import { libraryVersion } from "../version.js";
import type { MLP } from "./mlp.js";
import type { LoadedModel, ModelMeta } from "./store.js";
import { bjorckOptions } from "./config.js";

export const EXPORT_FORMAT = "lipvae-plain-vae";
export const EXPORT_FORMAT_VERSION = 1;

/** Net names, in the order they appear in the file and the docs. */
export const EXPORT_NETS = ["encoder_mean", "encoder_std", "decoder"] as const;
export type ExportNet = (typeof EXPORT_NETS)[number];

export interface ExportContent {
  tensors: Record<string, TensorInput>;
  metadata: Record<string, string>;
}

export interface ExportSummary {
  file: string;
  bytes: number;
  nets: { name: ExportNet; layers: number; scale: number }[];
  bjorckIters: number;
}

/** The `__metadata__` strings: everything a reader needs besides the tensors. */
export function exportMetadata(meta: ModelMeta): Record<string, string> {
  const c = meta.config;
  const lipschitz = c.kind === "lipschitz";
  const md: Record<string, string> = {
    format: EXPORT_FORMAT,
    format_version: String(EXPORT_FORMAT_VERSION),
    kind: c.kind,
    input_dim: String(c.inputDim),
    hidden: JSON.stringify(c.hidden),
    latent_dim: String(c.latentDim),
    activation: lipschitz ? "groupsort" : "relu",
    "output.encoder_mean": "identity",
    "output.encoder_std": "sigmoid",
    "output.decoder": "sigmoid",
    likelihood: "continuous_bernoulli",
    sigma_mode: c.sigma.mode,
    "lipschitz.decoder": String(c.lipschitz.decoder),
    "lipschitz.encoder_mean": String(c.lipschitz.encoderMean),
    "lipschitz.encoder_std": String(c.lipschitz.encoderStd),
    scale_folded: "true",
    bjorck_iters: String(meta.bjorckIters),
    bjorck_beta: String(c.bjorck.beta),
    kl_beta: String(c.klBeta),
    dataset: meta.dataset.name,
    source_model_sha256: meta.parameters.sha256,
    source_library_version: meta.libraryVersion,
    exported_by: `lipvae ${libraryVersion}`,
  };
  if (lipschitz) {
    md.groupsort_group_size = String(c.groupSize);
    const b = bjorckOptions(c);
    md.bjorck_method = b.method;
    if (b.tolerance !== null) md.bjorck_tolerance = String(b.tolerance);
  }
  if (c.sigma.mode === "fixed") md.sigma_gamma = JSON.stringify(c.sigma.gamma);
  if (c.sigma.mode === "constrained") {
    md.sigma_clip_norm = String(c.sigma.maxNorm);
    if (c.sigma.desiredRadius !== undefined) md.sigma_desired_radius = String(c.sigma.desiredRadius);
  }
  return md;
}

/** The effective layers of every net (Björck with meta.bjorckIters, scale folded in) plus metadata. */
export function exportContent(model: LoadedModel): ExportContent {
  const { vae, meta } = model;
  const tensors: Record<string, TensorInput> = {};
  noGrad(() => tidy(() => {
    const w = vae.effectiveWeights(meta.bjorckIters);
    const add = (net: MLP | null, weights: { data: ArrayLike<number>; shape: readonly number[] }[] | null) => {
      if (!net || !weights) return;
      const s = net.layerScale;
      net.layers.forEach((layer, i) => {
        tensors[`${net.name}.${i}.weight`] = { shape: [...weights[i].shape], data: foldScale(weights[i].data, s) };
        tensors[`${net.name}.${i}.bias`] = { shape: [...layer.bias.shape], data: foldScale(layer.bias.data, s) };
      });
    };
    add(vae.encoderMean, w.encoderMean);
    add(vae.encoderStd, w.encoderStd);
    add(vae.decoder, w.decoder);
  }));
  return { tensors, metadata: exportMetadata(meta) };
}

/**
 * s times values as the export stores them. Multiplied in f64 and rounded once, so
 * the fold adds at most half an ulp; that rounding can still raise a layer's norm
 * above s ||W||, so the measured constants (src/bounds/measured.ts) call this same
 * function and bound the folded weights too.
 */
export function foldScale(values: ArrayLike<number>, s: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = values[i] * s;
  return out;
}

/** Writes the export file atomically. */
export function exportModel(model: LoadedModel, file: string): ExportSummary {
  const { tensors, metadata } = exportContent(model);
  writeSafetensors(file, tensors, metadata);
  return {
    file,
    bytes: statSync(file).size,
    nets: model.vae.nets.map((n) => ({ name: n.name as ExportNet, layers: n.layers.length, scale: n.layerScale })),
    bjorckIters: model.meta.bjorckIters,
  };
}
