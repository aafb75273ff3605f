// Perturbations of one input: a random direction or the maximum-damage attack
// (the library's, src/attacks/max-damage.ts), rescaled onto the sphere
// ‖δ‖ = R inside the pixel box, and a Monte Carlo look at the damage they do.

import { type AttackModel } from "../attacks/model.js";
import { DEFAULT_MAX_DAMAGE, countWithin, damageSamples, maxDamageAttack } from "../attacks/max-damage.js";
import { projectSphereBox } from "../attacks/projection.js";
import { stream } from "../engine/random.js";
import type { Posterior } from "../model/vae.js";

/** δ of norm `radius` along `direction`, kept inside the box (x + δ ∈ [0,1]); its norm may fall short when R is infeasible. */
export function alongDirection(x: Float32Array, direction: Float32Array, radius: number): { delta: Float32Array; norm: number } {
  const delta = Float32Array.from(direction);
  const { norm } = projectSphereBox(delta, x, radius);
  return { delta, norm };
}

/** A standard-normal direction from the seeded stream (reproducible per seed). */
export function randomDirection(n: number, seed: number): Float32Array {
  const d = new Float32Array(n);
  stream(seed, "web-random-direction").fillNormal(d);
  return d;
}

export interface AttackSettings {
  radius: number;
  steps: number;
  restarts: number;
  seed: number;
}

/**
 * The paper's maximum-damage attack (ball ‖δ‖ ≤ R, fresh noise) on one input,
 * reporting progress as a fraction. Progress counts the attack's calls of the
 * encoder: one for the clean posterior, one per step plus the final
 * evaluation, and two when the restarts are compared.
 */
export function maxDamage(model: AttackModel, x: Float32Array, s: AttackSettings, onProgress: (fraction: number) => void): { delta: Float32Array; damage: number } {
  const total = 1 + s.steps + 1 + 2;
  let calls = 0;
  const vae = Object.create(model.vae) as AttackModel["vae"];
  vae.encode = (input, w): Posterior => {
    onProgress(Math.min(1, ++calls / total));
    return model.vae.encode(input, w);
  };
  const opts = { ...DEFAULT_MAX_DAMAGE, steps: s.steps, restarts: s.restarts, seed: s.seed, evalSamples: 32 };
  const result = maxDamageAttack({ ...model, vae }, x, 1, s.radius, opts);
  return { delta: result.delta, damage: result.damage[0] };
}

/** Estimated P[‖g(z_δ) − g(z)‖ ≤ r] from `samples` draws (z_δ ~ q(z|x+δ), z ~ q(z|x)). */
export function robustnessEstimate(model: AttackModel, x: Float32Array, delta: Float32Array, r: number, samples: number, seed: number): number {
  const d = damageSamples(model, x, delta, samples, [stream(seed, "web-estimate")]);
  return countWithin(d, 1, r)[0] / samples;
}
