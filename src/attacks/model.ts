// The frozen model an attack runs against: the VAE with its effective
// weights computed once (Björck with K = 50 costs seconds at paper size; the
// reference code also freezes them before attacking, see docs/reference-code.md,
// 'Björck orthonormalisation'), plus per-row noise drawn from per-row streams, so that a row's randomness
// does not depend on which other rows share its batch.

import { type Tensor, full, keep } from "../engine/tensor.js";
import { noGrad } from "../engine/tape.js";
import type { Random } from "../engine/random.js";
import type { EffectiveWeights, VAE } from "../model/vae.js";

export interface AttackModel {
  vae: VAE;
  weights: EffectiveWeights;
  /** Latent dimension d_z. */
  dz: number;
  /** Input width (784). */
  n: number;
}

/** Freezes the model's effective weights for `bjorckIters` Björck steps (meta.bjorckIters). */
export function attackModel(vae: VAE, bjorckIters: number): AttackModel {
  const weights = noGrad(() => vae.effectiveWeights(bjorckIters));
  for (const list of [weights.encoderMean, weights.encoderStd ?? [], weights.decoder]) for (const t of list) keep(t);
  return { vae, weights, dz: vae.config.latentDim, n: vae.config.inputDim };
}

/** Standard normals [rows·perRow, cols]; rows i·perRow … (i+1)·perRow − 1 come from rands[i]. */
export function rowNoise(rands: Random[], perRow: number, cols: number): Tensor {
  const t = full([rands.length * perRow, cols], 0);
  const d = t.data as Float32Array;
  const block = perRow * cols;
  rands.forEach((rand, i) => rand.fillNormal(d.subarray(i * block, (i + 1) * block)));
  return t;
}
