// Reads an exported plain VAE (src/model/export.ts, docs/model-format.md) and
// runs it in f64 JavaScript with no engine: the reference that the export is
// checked against, and a worked example of how any reader rebuilds the model
// from the file alone.

import { LipvaeError } from "../errors.js";
import { type SafetensorsContent, readSafetensors } from "../io/safetensors.js";
import { EXPORT_FORMAT, EXPORT_FORMAT_VERSION } from "./export.js";

export interface PlainLayer {
  inDim: number;
  outDim: number;
  /** [out, in] row-major, scale already folded in. */
  weight: Float64Array;
  bias: Float64Array;
}

export type PlainSigma =
  | { mode: "learned" }
  | { mode: "constrained"; clipNorm: number }
  | { mode: "fixed"; gamma: Float64Array };

export interface PlainVae {
  metadata: Record<string, string>;
  inputDim: number;
  latentDim: number;
  /** Between linear layers only, never after the last one. */
  activation: "groupsort" | "relu";
  groupSize: number;
  sigma: PlainSigma;
  encoderMean: PlainLayer[];
  encoderStd: PlainLayer[] | null;
  decoder: PlainLayer[];
}

export interface PlainOutputs {
  mu: Float64Array;
  sigma: Float64Array;
  z: Float64Array;
  lambda: Float64Array;
}

export function readPlainVae(file: string): PlainVae {
  return parsePlainVae(readSafetensors(file), file);
}

/** Checks the metadata and the layer chain of an export; errors name the file and the problem. */
export function parsePlainVae(content: SafetensorsContent, source: string): PlainVae {
  const md = content.metadata;
  const fail = (msg: string): never => {
    throw new LipvaeError(`${source}: ${msg}`);
  };
  if (md.format !== EXPORT_FORMAT) fail(`not a lipvae export (format '${md.format ?? "missing"}'); make one with \`lipvae export\``);
  if (Number(md.format_version) > EXPORT_FORMAT_VERSION) fail(`export format version ${md.format_version} is newer than this lipvae reads (${EXPORT_FORMAT_VERSION}): upgrade lipvae`);
  const int = (key: string) => {
    const v = Number(md[key]);
    if (!Number.isInteger(v) || v < 1) fail(`metadata '${key}' must be a positive integer, got '${md[key]}'`);
    return v;
  };
  const inputDim = int("input_dim"), latentDim = int("latent_dim");
  const activation = md.activation;
  if (activation !== "groupsort" && activation !== "relu") fail(`unknown activation '${activation}'`);
  const groupSize = activation === "groupsort" ? int("groupsort_group_size") : 1;

  let sigma: PlainSigma;
  if (md.sigma_mode === "learned") sigma = { mode: "learned" };
  else if (md.sigma_mode === "constrained") {
    const clipNorm = Number(md.sigma_clip_norm);
    if (!(clipNorm > 0)) fail(`constrained sigma needs a positive sigma_clip_norm, got '${md.sigma_clip_norm}'`);
    sigma = { mode: "constrained", clipNorm };
  } else if (md.sigma_mode === "fixed") {
    let g: unknown;
    try {
      g = JSON.parse(md.sigma_gamma ?? "");
    } catch {
      fail(`sigma_gamma must be a number or a JSON list, got '${md.sigma_gamma}'`);
    }
    const gamma = typeof g === "number" ? new Float64Array(latentDim).fill(g) : Float64Array.from(g as number[]);
    if (gamma.length !== latentDim || gamma.some((v) => !(v > 0))) fail(`sigma_gamma must hold ${latentDim} positive values, got '${md.sigma_gamma}'`);
    sigma = { mode: "fixed", gamma };
  } else {
    return fail(`unknown sigma_mode '${md.sigma_mode}'`);
  }

  const net = (name: string, from: number, to: number): PlainLayer[] => {
    const layers: PlainLayer[] = [];
    for (let i = 0; ; i++) {
      const w = content.tensors[`${name}.${i}.weight`], b = content.tensors[`${name}.${i}.bias`];
      if (!w) break;
      if (!b) fail(`${name}.${i}.bias is missing`);
      const [outDim, inDim] = w.shape;
      const expectIn = i === 0 ? from : layers[i - 1].outDim;
      if (w.shape.length !== 2 || inDim !== expectIn) fail(`${name}.${i}.weight has shape [${w.shape}], expected [out, ${expectIn}]`);
      if (b.shape.length !== 1 || b.shape[0] !== outDim) fail(`${name}.${i}.bias has shape [${b.shape}], expected [${outDim}]`);
      layers.push({ inDim, outDim, weight: Float64Array.from(w.data as Float32Array), bias: Float64Array.from(b.data as Float32Array) });
    }
    if (layers.length === 0) fail(`${name}.0.weight is missing`);
    if (layers[layers.length - 1].outDim !== to) fail(`${name} ends with ${layers[layers.length - 1].outDim} outputs, expected ${to}`);
    return layers;
  };
  return {
    metadata: md,
    inputDim,
    latentDim,
    activation: activation as PlainVae["activation"],
    groupSize,
    sigma,
    encoderMean: net("encoder_mean", inputDim, latentDim),
    encoderStd: sigma.mode === "fixed" ? null : net("encoder_std", inputDim, latentDim),
    decoder: net("decoder", latentDim, inputDim),
  };
}

/** Last-layer pre-activation of one net for a batch x [batch, in] (row-major). */
export function plainNet(m: PlainVae, layers: PlainLayer[], x: ArrayLike<number>, batch: number): Float64Array {
  let h = Float64Array.from(x);
  layers.forEach((layer, l) => {
    const { inDim, outDim, weight, bias } = layer;
    const out = new Float64Array(batch * outDim);
    for (let r = 0; r < batch; r++) {
      for (let o = 0; o < outDim; o++) {
        let acc = bias[o];
        for (let i = 0; i < inDim; i++) acc += h[r * inDim + i] * weight[o * inDim + i];
        out[r * outDim + o] = acc;
      }
    }
    if (l < layers.length - 1) {
      if (m.activation === "relu") out.forEach((v, i) => (out[i] = Math.max(v, 0)));
      else groupSortInPlace(out, m.groupSize);
    }
    h = out;
  });
  return h;
}

/** Sorts each contiguous group ascending (group size 2 = [min, max]). */
function groupSortInPlace(v: Float64Array, group: number): void {
  for (let start = 0; start < v.length; start += group) v.subarray(start, start + group).sort();
}

const sigmoid = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

/** q(z|x): mean and standard deviation for x [batch, inputDim]. */
export function plainEncode(m: PlainVae, x: ArrayLike<number>, batch: number): { mu: Float64Array; sigma: Float64Array } {
  const dz = m.latentDim;
  const mu = plainNet(m, m.encoderMean, x, batch);
  const s = m.sigma;
  if (s.mode === "fixed") return { mu, sigma: Float64Array.from({ length: batch * dz }, (_, i) => s.gamma[i % dz]) };
  const sigma = plainNet(m, m.encoderStd!, x, batch).map(sigmoid);
  if (s.mode === "constrained") {
    for (let r = 0; r < batch; r++) {
      const row = sigma.subarray(r * dz, (r + 1) * dz);
      const norm = Math.hypot(...row);
      if (norm > s.clipNorm) row.forEach((v, i) => (row[i] = (v * s.clipNorm) / norm));
    }
  }
  return { mu, sigma };
}

/** lambda = g(z), the continuous-Bernoulli parameters, for z [batch, latentDim]. */
export function plainDecode(m: PlainVae, z: ArrayLike<number>, batch: number): Float64Array {
  return plainNet(m, m.decoder, z, batch).map(sigmoid);
}

/** Encode, z = mu + sigma * noise (one sample), decode. */
export function plainForward(m: PlainVae, x: ArrayLike<number>, noise: ArrayLike<number>, batch: number): PlainOutputs {
  const { mu, sigma } = plainEncode(m, x, batch);
  const z = mu.map((v, i) => v + sigma[i] * noise[i]);
  return { mu, sigma, z, lambda: plainDecode(m, z, batch) };
}
