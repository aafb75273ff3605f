// Training-step benchmarks on the paper-size model (784-512-512-10 x2, 10-512-512-784):
// effective weights (Björck with gradient), ELBO forward, backward, Adam update.

import { engine } from "../src/engine/engine.js";
import { tidy, tensor } from "../src/engine/tensor.js";
import { grad } from "../src/engine/tape.js";
import { Adam } from "../src/engine/optim.js";
import { stream } from "../src/engine/random.js";
import { PAPER_DEFAULTS, type ModelConfig } from "../src/model/config.js";
import { VAE, normalNoise } from "../src/model/vae.js";
import { type BenchRow, type RowSpec } from "./harness.js";
import { bjorckAutogradFlops } from "./kernels.js";

/** Network FLOPs of one step at batch B on autograd accounting: forward 2*B*params, backward twice that. */
export function networkFlops(batch: number): number {
  const macs = 2 * (784 * 512 + 512 * 512 + 512 * 10) + (10 * 512 + 512 * 512 + 512 * 784);
  return 3 * 2 * batch * macs;
}

/** The training-step rows; each builds its model and optimiser when first timed. */
export function trainRowSpecs(quick: boolean): RowSpec[] {
  const spectral: ModelConfig = { ...PAPER_DEFAULTS, bjorck: { ...PAPER_DEFAULTS.bjorck, method: "spectral" } };
  const cases: { name: string; config: ModelConfig; iters: number; runs: number }[] = [
    { name: "train.step.b128.k3", config: PAPER_DEFAULTS, iters: 3, runs: quick ? 2 : 10 },
    { name: "train.step.b128.k15", config: PAPER_DEFAULTS, iters: 15, runs: quick ? 1 : 3 },
    { name: "train.step.b128.k50", config: PAPER_DEFAULTS, iters: 50, runs: quick ? 1 : 3 },
    { name: "train.step.standard.b128", config: { ...PAPER_DEFAULTS, kind: "standard" }, iters: 0, runs: quick ? 3 : 20 },
    // The opt-in spectral Björck (--bjorck-method spectral): the same K steps through f64 eigendecompositions.
    { name: "train.step.b128.k3.spectral", config: spectral, iters: 3, runs: quick ? 1 : 5 },
    { name: "train.step.b128.k15.spectral", config: spectral, iters: 15, runs: quick ? 1 : 5 },
    { name: "train.step.b128.k50.spectral", config: spectral, iters: 50, runs: quick ? 1 : 5 },
  ];
  return cases.map((c) => ({
    name: c.name,
    make: () => {
      const rand = stream(0, `bench:${c.name}`);
      const x = tensor(Float32Array.from({ length: 128 * 784 }, () => rand.uniform()), [128, 784]);
      const vae = new VAE(c.config, 0);
      const adam = new Adam(vae.parameters(), { lr: 1e-4 });
      const isSpectral = c.config.bjorck.method === "spectral";
      const autograd = (c.iters > 0 ? bjorckAutogradFlops(c.iters, true) : 0) + networkFlops(128);
      return {
        run: () => tidy(() => {
          const w = vae.effectiveWeights(c.iters);
          const { loss } = vae.elbo(x, normalNoise(128, 10, rand), w);
          adam.step(grad(loss, vae.parameters()));
          return null;
        }),
        // GFLOP/s on the FLOPs the kernels executed (assembly/flops.ts). The spectral
        // path's main cost, the f64 eigensolver, is not a GEMM: no GFLOP/s for it.
        flops: isSpectral ? 0 : () => engine().kernels.flopsF32(),
        opts: { minRuns: c.runs, minTimeMs: 0, warmup: 1 },
        note: (row: BenchRow) => isSpectral
          ? "fwd+bwd+Adam; Björck as 6 f64 eigendecompositions at 512 + 3 at 10 (init: every eigenvalue coincides)"
          : `fwd+bwd+Adam; GFLOP/s on the ${(row.flopsPerCall! / 1e9).toFixed(1)} GFLOP the kernels executed ` +
            `(autograd accounting: ${(autograd / 1e9).toFixed(1)} GFLOP, ${(autograd / (row.median * 1e6)).toFixed(1)} GFLOP/s)`,
      };
    },
  }));
}
