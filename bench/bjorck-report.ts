// `node dist/bench/bjorck-report.js [--quick]`: what each Björck option does to
// time, to gradients and to the measured spectral norms, on the paper's nine
// weight shapes (docs/architecture.md, 'Spectral Björck').
//
// Options: the paper's iteration, the spectral method, and each with the
// tolerance stop (--bjorck-tol 1e-3), at K = 3, 15, 50. For each:
//   - ms: Björck forward + backward over the nine matrices (f32 engine path);
//   - value / gradient: max over the matrices of max|x - exact| / max|exact|,
//     exact = the K-step iteration in f64 (bench/exact.ts), gradient of
//     sum(G o W_K) for a fixed random G;
//   - sigma_max: the largest certified upper bound of ||W_K||_2 over the
//     matrices (src/bounds/spectral.ts), what `lipvae certify` would use.
// Two weight sets: "spread", singular values log-spaced in [3e-4, 1.45] (a
// trained layer's smallest s^2 is about 1e-7), and "init", the model's
// orthogonal initialisation where every singular value coincides.

import { parseArgs } from "node:util";
import { parsedOrExit } from "./args.js";
import { median } from "./harness.js";
import { engine } from "../src/engine/engine.js";
import { tensor, tidy } from "../src/engine/tensor.js";
import * as ops from "../src/engine/ops.js";
import { grad, requireGrad } from "../src/engine/tape.js";
import { stream } from "../src/engine/random.js";
import { orthogonalF64 } from "../src/model/init.js";
import { spectralNorm } from "../src/bounds/spectral.js";
import { PAPER_WEIGHTS } from "./kernels.js";
import { iterateF64, relErr, withSingularValues } from "./exact.js";

interface Option { name: string; spectral: boolean; tol: number | null }
const OPTIONS: Option[] = [
  { name: "iterate", spectral: false, tol: null },
  { name: "spectral", spectral: true, tol: null },
  { name: "iterate, tol 1e-3", spectral: false, tol: 1e-3 },
  { name: "spectral, tol 1e-3", spectral: true, tol: 1e-3 },
];

interface Mat { r: number; c: number; w: Float64Array; g: Float64Array }

function spreadMatrix(r: number, c: number, seed: number): Float64Array {
  const s = Math.min(r, c);
  const sv = Array.from({ length: s }, (_, i) => 3e-4 * (1.45 / 3e-4) ** (i / Math.max(s - 1, 1)));
  return withSingularValues(r, c, sv, stream(seed, "bjorck-report"));
}

function weightSet(kind: "spread" | "init"): Mat[] {
  return PAPER_WEIGHTS.map(([r, c], i) => {
    const rand = stream(100 + i, "bjorck-report-g");
    const w = kind === "spread" ? spreadMatrix(r, c, i)
      : Float64Array.from(Float32Array.from(orthogonalF64(r, c, 1 / Math.sqrt(c), stream(i, "bjorck-report-init"))));
    const g = Float64Array.from({ length: r * c }, () => Math.fround(2 * rand.uniform() - 1));
    return { r, c, w, g };
  });
}

/** W_K and dL/dW for one matrix on the f32 engine path. */
function run(m: Mat, iters: number, opt: Option): { out: Float32Array; grad: Float32Array } {
  return tidy(() => {
    const x = requireGrad(tensor(m.w, [m.r, m.c]));
    const y = opt.spectral ? ops.bjorckSpectral(x, iters, 0.5, opt.tol) : ops.bjorck(x, iters, 0.5, opt.tol);
    const [dx] = grad(ops.sum(ops.mul(y, tensor(m.g, [m.r, m.c]))), [x]);
    return { out: Float32Array.from(y.data), grad: Float32Array.from(dx.data) };
  });
}

function main(): void {
  const values = parsedOrExit(() => parseArgs({ options: { quick: { type: "boolean", default: false } } }).values,
    "usage: node dist/bench/bjorck-report.js [--quick]");
  const repeats = values.quick ? 1 : 3;
  console.log(`Björck options on the paper's 9 weight shapes (WASM build: ${engine().build}, ${engine().threads} thread(s))\n`);
  console.log("| weights | K | option | ms (fwd+bwd, 9 matrices) | value vs exact | gradient vs exact | max certified sigma_max |");
  console.log("|---|---:|---|---:|---:|---:|---:|");
  for (const kind of ["spread", "init"] as const) {
    const mats = weightSet(kind);
    for (const iters of [3, 15, 50]) {
      const exact = mats.map((m) => iterateF64(m.r, m.c, iters, 0.5, m.w, m.g));
      for (const opt of OPTIONS) {
        run(mats[0], iters, opt); // warm-up
        const times: number[] = [];
        let results: { out: Float32Array; grad: Float32Array }[] = [];
        for (let rep = 0; rep < repeats; rep++) {
          const t0 = performance.now();
          results = mats.map((m) => run(m, iters, opt));
          times.push(performance.now() - t0);
        }
        const value = Math.max(...results.map((res, i) => relErr(res.out, exact[i].out)));
        const gradient = Math.max(...results.map((res, i) => relErr(res.grad, exact[i].grad)));
        const sigma = Math.max(...results.map((res, i) => spectralNorm(res.out, mats[i].r, mats[i].c).upper));
        console.log(`| ${kind} | ${iters} | ${opt.name} | ${median(times).toFixed(0)} | ${value.toExponential(1)} | ${gradient.toExponential(1)} | ${sigma.toFixed(7)} |`);
      }
    }
  }
}

main();
