// Training-step benchmarks on the paper-size model (784-512-512-10 x2, 10-512-512-784):
// effective weights (Björck with gradient), ELBO forward, backward, Adam update.

import { engine } from "../src/engine/engine.js";
import { tidy, tensor } from "../src/engine/tensor.js";
import { grad } from "../src/engine/tape.js";
import { Adam } from "../src/engine/optim.js";
import { stream } from "../src/engine/random.js";
import { PAPER_DEFAULTS, type ModelConfig } from "../src/model/config.js";
import { VAE, normalNoise } from "../src/model/vae.js";
import { type BenchRow, engineLabel, measure } from "./harness.js";
import { bjorckFlops } from "./kernels.js";

/** Network FLOPs of one step at batch B: forward 2*B*params, backward about twice that. */
export function networkFlops(batch: number): number {
  const macs = 2 * (784 * 512 + 512 * 512 + 512 * 10) + (10 * 512 + 512 * 512 + 512 * 784);
  return 3 * 2 * batch * macs;
}

export function trainBenchmarks(quick: boolean, only: RegExp | null): BenchRow[] {
  const rows: BenchRow[] = [];
  const build = engineLabel(engine());
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
  const rand = stream(0, "bench");
  const x = tensor(Float32Array.from({ length: 128 * 784 }, () => rand.uniform()), [128, 784]);
  for (const c of cases) {
    if (only && !only.test(c.name)) continue;
    const vae = new VAE(c.config, 0);
    const adam = new Adam(vae.parameters(), { lr: 1e-4 });
    const step = () => tidy(() => {
      const w = vae.effectiveWeights(c.iters);
      const { loss } = vae.elbo(x, normalNoise(128, 10, rand), w);
      adam.step(grad(loss, vae.parameters()));
      return null;
    });
    const isSpectral = c.config.bjorck.method === "spectral";
    // The spectral path's work is not the iteration's: no GFLOP/s for it.
    const flops = isSpectral ? 0 : (c.iters > 0 ? bjorckFlops(c.iters, true).autograd : 0) + networkFlops(128);
    const row = measure(c.name, build, flops, step, { minRuns: c.runs, minTimeMs: 0, warmup: 1 });
    row.note = isSpectral ? "fwd+bwd+Adam; Björck as 6 f64 eigendecompositions at 512 + 3 at 10 (init: every eigenvalue coincides)"
      : c.iters > 0 ? `fwd+bwd+Adam; GFLOP/s on autograd accounting (${(flops / 1e9).toFixed(1)} GFLOP)` : "fwd+bwd+Adam";
    rows.push(row);
  }
  return rows;
}
