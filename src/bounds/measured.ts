// Lipschitz constants measured on a model's actual weights (docs/architecture.md,
// 'Certificates').
//
// For each net, the certified constant is the product over layers of
//   scale M^(1/L) x (certified upper bound on ||W_eff||_2)
// times the output activation's factor: sigmoid 1/4 (decoder, encoder std),
// identity 1 (encoder mean); GroupSort, ReLU and the sigma clip are 1-Lipschitz.
// W_eff is computed exactly as the forward pass computes it (f32 Björck on
// the WASM kernels), so the bound holds for the network that runs.

import { noGrad } from "../engine/tape.js";
import { tidy } from "../engine/tensor.js";
import type { MLP } from "../model/mlp.js";
import type { VAE } from "../model/vae.js";
import { spectralNorm } from "./spectral.js";

/** How far above 1 a Björck-orthonormalised singular value may sit before we call it unconverged. */
export const CONVERGENCE_TOLERANCE = 1e-6;

export interface LayerMeasurement {
  shape: [number, number];
  scale: number;
  /** Power-iteration estimate and certified bound of ||W_eff||_2. */
  spectralEstimate: number;
  spectralUpper: number;
}

export interface NetMeasurement {
  name: string;
  nominal: number;
  outputFactor: number;
  layers: LayerMeasurement[];
  /** Certified Lipschitz constant of the net. */
  certified: number;
  /** The same product from the power-iteration estimates (not a certificate). */
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
  /** True when every Björck layer has sigma_max <= 1 + CONVERGENCE_TOLERANCE. */
  converged: boolean;
  /** Human-readable warnings (unconverged layers, unconstrained model). */
  warnings: string[];
}

function measureNet(mlp: MLP, iters: number, beta: number, outputFactor: number): NetMeasurement {
  const weights = tidy(() => noGrad(() => mlp.effectiveWeights(iters, beta).map((w) => Float32Array.from(w.data))));
  const layers = mlp.layers.map((layer, i): LayerMeasurement => {
    const [r, c] = layer.weight.shape as [number, number];
    const { estimate, upper } = spectralNorm(weights[i], r, c);
    return { shape: [r, c], scale: mlp.layerScale, spectralEstimate: estimate, spectralUpper: upper };
  });
  const product = (f: (l: LayerMeasurement) => number) => layers.reduce((acc, l) => acc * l.scale * f(l), outputFactor);
  return {
    name: mlp.name, nominal: mlp.lipschitz, outputFactor, layers,
    certified: product((l) => l.spectralUpper),
    estimate: product((l) => l.spectralEstimate),
  };
}

/** Measures a, b, c on the model's effective weights for `iters` Björck steps (the saved model's). */
export function measureConstants(vae: VAE, iters: number): MeasuredConstants {
  const beta = vae.config.bjorck.beta;
  const decoder = measureNet(vae.decoder, iters, beta, 1 / 4);
  const mean = measureNet(vae.encoderMean, iters, beta, 1);
  const std = vae.encoderStd ? measureNet(vae.encoderStd, iters, beta, 1 / 4) : null;
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
    warnings.push("standard (unconstrained) model: only measured constants are meaningful; nominal M certifies nothing");
  }
  return { a: decoder.certified, b: mean.certified, c: std ? std.certified : 0, nets, bjorckIters: iters, converged, warnings };
}
