// Lipschitz constants measured on a model's actual weights (docs/architecture.md,
// 'Certificates').
//
// For each net, the certified constant is the product over layers of a
// certified bound on the layer's spectral norm, times the output activation's
// factor: sigmoid 1/4 (decoder, encoder std), identity 1 (encoder mean);
// GroupSort, ReLU and the sigma clip are 1-Lipschitz.
//
// A layer's bound covers two matrices, because a certificate must hold both for
// the network that runs and for the file `lipvae export` writes:
// - the forward pass: W_eff is computed exactly as the forward pass computes it
//   (f32 Björck on the WASM kernels, by the model's method and tolerance:
//   mlp.effectiveWeights with the model's BjorckOptions), and the kernel multiplies by the scale
//   s = M^(1/L) passed as an f32 argument, i.e. by fround(s), which is above
//   the f64 s for some M (M = 2: by 1.9e-8 relative). The layer is
//   max(s, fround(s)) ||W_eff||;
// - the export: fl32(s W_eff), whose rounding can raise the norm above
//   s ||W_eff||; its norm is bounded directly.
// Every product is rounded upward, so the f64 constant is never below the real one.

import { createHash } from "node:crypto";
import { noGrad } from "../engine/tape.js";
import { engine } from "../engine/engine.js";
import { tidy } from "../engine/tensor.js";
import { LipvaeError } from "../errors.js";
import { type BjorckOptions, type ModelConfig, bjorckOptions } from "../model/config.js";
import { foldScale } from "../model/export.js";
import type { MLP } from "../model/mlp.js";
import type { VAE } from "../model/vae.js";
import { mulUp, nextUp, spectralNorm } from "./spectral.js";
import { bjorckOnBuild, usableBuilds } from "../engine/builds.js";

/** How far above 1 a Björck-orthonormalised singular value may sit before we call it unconverged. */
export const CONVERGENCE_TOLERANCE = 1e-6;

/**
 * Version of the measuring procedure. Stored constants measured by another version
 * are measured again; raise it whenever a change here can change the numbers.
 */
export const MEASURE_VERSION = 4;

export const STANDARD_MODEL_WARNING = "standard (unconstrained) model: only measured constants are meaningful; nominal M certifies nothing";

export interface LayerMeasurement {
  shape: [number, number];
  /** The scale the bound uses: the larger of M^(1/L) and its f32 rounding (what the kernels multiply by). */
  scale: number;
  /** Eigensolver estimate and certified bound of ||W_eff||_2. */
  spectralEstimate: number;
  spectralUpper: number;
  /** Certified bound of the exported folded weight ||fl32(s W_eff)||_2. */
  exportedUpper: number;
  /** Certified bound of ||W_eff' - W_eff||_F over the other usable WASM builds' Björck weights W_eff' (0 if none). */
  otherBuildsDistance: number;
  /** The layer's certified bound: the max over builds of max(scale x ||W||, ||fl32(s W)||), rounded upward. */
  bound: number;
}

export interface NetMeasurement {
  name: string;
  nominal: number;
  outputFactor: number;
  layers: LayerMeasurement[];
  /** Certified Lipschitz constant of the net. */
  certified: number;
  /** The same product from the eigensolver estimates (not a certificate). */
  estimate: number;
}

export interface MeasuredConstants {
  /** Decoder g (with its output sigmoid). */
  a: number;
  /** Encoder mean mu. */
  b: number;
  /** Encoder std sigma (with its output sigmoid); 0 for a fixed sigma. */
  c: number;
  nets: NetMeasurement[];
  bjorckIters: number;
  /**
   * The WASM builds whose Björck weights the constants cover (every build this
   * Node can run). The builds round differently (relaxed SIMD fuses
   * multiply-adds), so the effective weights differ between them by about 1e-7.
   */
  wasmBuilds: string[];
  /** True when every Björck layer has sigma_max <= 1 + CONVERGENCE_TOLERANCE. */
  converged: boolean;
  /** Human-readable warnings (unconverged layers, unconstrained model). */
  warnings: string[];
}

function measureNet(mlp: MLP, iters: number, opts: BjorckOptions, outputFactor: number): NetMeasurement {
  // The weights the model runs: the same method and tolerance as its forward pass.
  const weights = tidy(() => noGrad(() => mlp.effectiveWeights(iters, opts).map((w) => Float32Array.from(w.data))));
  const others = otherBuildsWeights(mlp, iters, opts);
  const s = mlp.layerScale;
  const scale = Math.max(s, Math.fround(s));
  const layers = mlp.layers.map((layer, i): LayerMeasurement => {
    const [r, c] = layer.weight.shape as [number, number];
    if (!weights[i].every(Number.isFinite)) {
      throw new LipvaeError(`${mlp.name}.${i}: the effective (Björck) weights are not finite (a diverged run?): retrain with a lower --lr`);
    }
    const { estimate, upper } = spectralNorm(weights[i], r, c);
    // With s = 1 (the standard kind) the fold is exact and the export is W_eff itself.
    const exportedUpper = s === 1 ? upper : spectralNorm(foldScale(weights[i], s), r, c).upper;
    let bound = Math.max(mulUp(scale, upper), exportedUpper);
    // Another build's W' = W + E: ||W'|| <= ||W|| + ||E||_F, and its export
    // fl32(s W') adds at most u s ||W'||_F (u = 2^-24, one rounding per entry).
    let otherBuildsDistance = 0;
    for (const other of others) {
      const distance = frobeniusUp(other[i], weights[i]);
      otherBuildsDistance = Math.max(otherBuildsDistance, distance);
      const norm = addUp(upper, distance);
      const exported = addUp(mulUp(s, norm), mulUp(mulUp(2 ** -24, s), frobeniusUp(other[i])));
      bound = Math.max(bound, mulUp(scale, norm), exported);
    }
    return { shape: [r, c], scale, spectralEstimate: estimate, spectralUpper: upper, exportedUpper, otherBuildsDistance, bound };
  });
  const certified = layers.reduce((acc, l) => mulUp(acc, l.bound), outputFactor);
  if (!Number.isFinite(certified)) {
    throw new LipvaeError(`${mlp.name}: the measured Lipschitz constant overflows (weights far too large, a diverged run?): retrain with a lower --lr`);
  }
  return {
    name: mlp.name, nominal: mlp.lipschitz, outputFactor, layers, certified,
    estimate: layers.reduce((acc, l) => acc * l.scale * l.spectralEstimate, outputFactor),
  };
}

/** The Björck weights of every other usable build (none for the standard kind, which has no Björck). */
function otherBuildsWeights(mlp: MLP, iters: number, opts: BjorckOptions): Float32Array[][] {
  if (mlp.kind !== "lipschitz") return [];
  const mats = mlp.layers.map((l) => ({ w: Float32Array.from(l.weight.data), r: l.weight.shape[0], c: l.weight.shape[1] }));
  return usableBuilds().filter((b) => b !== engine().build).map((b) => bjorckOnBuild(b, mats, iters, opts.beta, opts));
}

/** ||x - y||_F (or ||x||_F), rounded generously upward. */
function frobeniusUp(x: Float32Array, y?: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = y ? x[i] - y[i] : x[i]; // exact in f64 for f32 inputs
    sum += d * d;
  }
  // Summation error is below n·2^-53 relative; 1e-9 covers n up to 10^7.
  return nextUp(Math.sqrt(sum * (1 + 1e-9)));
}

function addUp(a: number, b: number): number {
  return nextUp(a + b);
}

/** JSON with object keys sorted, so that equal values give equal strings whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * What stored constants are valid for: everything the networks' function depends on
 * (the whole configuration, the parameter file, the Björck iterations, the WASM build
 * that computes Björck) and the measuring procedure. Any change gives another key, so
 * the constants are measured again.
 */
export function measurementKey(config: ModelConfig, parametersSha256: string, bjorckIters: number, wasmBuilds: string[]): string {
  const what = canonicalJson({ config, parametersSha256, bjorckIters, wasmBuilds, measureVersion: MEASURE_VERSION });
  return createHash("sha256").update(what).digest("hex");
}

/** Measures a, b, c on the model's effective weights for `iters` Björck steps (the saved model's). */
export function measureConstants(vae: VAE, iters: number): MeasuredConstants {
  const opts = bjorckOptions(vae.config);
  const decoder = measureNet(vae.decoder, iters, opts, 1 / 4);
  const mean = measureNet(vae.encoderMean, iters, opts, 1);
  const std = vae.encoderStd ? measureNet(vae.encoderStd, iters, opts, 1 / 4) : null;
  const nets = [decoder, mean, ...(std ? [std] : [])];
  const warnings: string[] = [];
  let converged = true;
  if (vae.config.kind === "lipschitz") {
    for (const net of nets) {
      net.layers.forEach((l, i) => {
        if (l.spectralUpper > 1 + CONVERGENCE_TOLERANCE) {
          converged = false;
          warnings.push(`${net.name}.${i}: Björck has not converged (sigma_max <= ${l.spectralUpper.toFixed(7)} > 1 + 1e-6); ` +
            "certificates use the measured value, not the nominal M");
        }
      });
    }
  } else {
    warnings.push(STANDARD_MODEL_WARNING);
  }
  return { a: decoder.certified, b: mean.certified, c: std ? std.certified : 0, nets, bjorckIters: iters, wasmBuilds: usableBuilds(), converged, warnings };
}
