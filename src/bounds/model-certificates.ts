// Certificates for a saved model: the measured constants (cached in model.json
// under a key over the exact network) and the per-image (Lemma 2) or global
// (Theorem 3) certificates on the first test images. Shared by `lipvae certify`
// and `lipvae reproduce`, so that both certify the same way.

import { noGrad } from "../engine/tape.js";
import { usableBuilds } from "../engine/builds.js";
import { tidy } from "../engine/tensor.js";
import { LipvaeError } from "../errors.js";
import type { Split } from "../data/datasets.js";
import { type LoadedModel, nonFiniteParameter, updateModelMeta } from "../model/store.js";
import { sliceRows } from "../model/train.js";
import type { VAE } from "../model/vae.js";
import { libraryVersion } from "../version.js";
import { type CertifyOptions, type Constants, type Form, type InputCertificate, certifyFixedSigma, certifyInput, nominalIsValid } from "./certify.js";
import { MEASURE_VERSION, type MeasuredConstants, measureConstants, measurementKey } from "./measured.js";

export interface ModelCertificates {
  measured: MeasuredConstants;
  /** Whether the nominal constants (as each form uses them) hold for the saved weights. */
  valid: Record<Form, boolean>;
  /** One row per image; one row with index and label -1 for a fixed σ (the global certificate). */
  rows: { index: number; label: number; cert: InputCertificate }[];
}

/**
 * Constants from model.json when they were measured for this exact network (see
 * measurementKey: configuration, parameters, Björck iterations, the WASM builds covered, measuring
 * code), else measured now and stored.
 */
export function modelConstants(model: LoadedModel, remeasure: boolean, log: (line: string) => void): MeasuredConstants {
  const { vae, meta, dir } = model;
  const key = measurementKey(meta.config, meta.parameters.sha256, meta.bjorckIters, usableBuilds());
  const stored = meta.certified as (MeasuredConstants & { key?: unknown }) | undefined;
  if (!remeasure && stored && stored.key === key && [stored.a, stored.b, stored.c].every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0)) {
    return stored;
  }
  log(`measuring spectral norms of ${vae.nets.reduce((n, m) => n + m.layers.length, 0)} layers (K = ${meta.bjorckIters}, WASM builds: ${usableBuilds().join(", ")})...`);
  const measured = measureConstants(vae, meta.bjorckIters);
  meta.certified = {
    ...measured, key, measureVersion: MEASURE_VERSION, parametersSha256: meta.parameters.sha256,
    measuredWith: libraryVersion, measuredAt: new Date().toISOString(),
  };
  updateModelMeta(dir, meta);
  return measured;
}

/** The model's certificates on the first `images` test images (fixed σ: the one global certificate). */
export function certifyModel(
  model: LoadedModel, test: () => Split, opts: CertifyOptions & { images: number; remeasure?: boolean; log: (line: string) => void },
): ModelCertificates {
  const { vae, meta, dir } = model;
  const cfg = vae.config;
  // A diverged run leaves NaN or infinite parameters; nothing can be certified for them.
  const bad = nonFiniteParameter(vae);
  if (bad) throw new LipvaeError(`model ${dir} has non-finite weights (${bad}; a diverged run?): retrain with a lower --lr`);
  const measured = modelConstants(model, opts.remeasure === true, opts.log);
  const k: Constants = { a: measured.a, b: measured.b, c: measured.c };
  const valid: Record<Form, boolean> = { paper: nominalIsValid(cfg, "paper", k), tight: nominalIsValid(cfg, "tight", k) };
  if (cfg.kind === "standard") valid.paper = valid.tight = false;
  const bound = { r: opts.r, eps: opts.eps };
  if (cfg.sigma.mode === "fixed") return { measured, valid, rows: [{ index: -1, label: -1, cert: certifyFixedSigma(cfg, k, bound) }] };
  const split = test();
  const n = Math.min(opts.images, split.count);
  const sigmas = sigmaStats(vae, meta.bjorckIters, split.images, n);
  return { measured, valid, rows: sigmas.map((s, i) => ({ index: i, label: split.labels[i], cert: certifyInput(cfg, s, k, bound) })) };
}

/** ||sigma(x)|| and max_j sigma_j(x) for the first n images, Björck computed once. */
export function sigmaStats(vae: VAE, iters: number, images: Float32Array, n: number): { norm: number; max: number }[] {
  return noGrad(() => tidy(() => {
    const w = vae.effectiveWeights(iters);
    const out: { norm: number; max: number }[] = [];
    for (let start = 0; start < n; start += 500) {
      const size = Math.min(500, n - start);
      tidy(() => {
        const s = vae.encode(sliceRows(images, start, size), w).sigma.data;
        const dz = vae.config.latentDim;
        for (let i = 0; i < size; i++) {
          let sq = 0, mx = 0;
          for (let j = 0; j < dz; j++) {
            sq += s[i * dz + j] ** 2;
            mx = Math.max(mx, s[i * dz + j]);
          }
          out.push({ norm: Math.sqrt(sq), max: mx });
        }
        return null;
      });
    }
    return out;
  }));
}
