// `lipvae margin`: Algorithm 2's estimated (r, ε)-robustness margins on the
// first test images, per model, with a histogram like the paper's Fig 5 (left).
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type Command, UsageError } from "./command.js";
import { integer, number, parseFlags } from "./args.js";
import { checkOutputDir } from "./out-path.js";
import { Progress } from "./progress.js";
import { OPTIMISER_FLAGS, choice, optimiserFlags, testSplit } from "./attack.js";
import { drawMarginHistograms } from "../figures/margins.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { loadModel } from "../model/store.js";
import { libraryVersion } from "../version.js";
import { attackModel } from "../attacks/model.js";
import { DEFAULT_MARGIN, type MarginOptions, type MarginResult, estimateMargins } from "../attacks/margin.js";
import type { NoiseMode } from "../attacks/max-damage.js";
import type { NormConstraint } from "../attacks/projection.js";
import type { IntervalMethod } from "../attacks/stats.js";

export const MARGINS_JSON = "margins.json";
export const HISTOGRAM = "margin-histogram";

const d = DEFAULT_MARGIN;
const OPTIONS = {
  model: { type: "string", multiple: true }, images: { type: "string" }, first: { type: "string" },
  r: { type: "string" }, eps: { type: "string" }, "max-radius": { type: "string" }, step: { type: "string" },
  samples: { type: "string" }, grid: { type: "string" }, inclusive: { type: "boolean" },
  confidence: { type: "string" }, interval: { type: "string" }, refine: { type: "string" },
  constraint: { type: "string" }, noise: { type: "string" }, "attack-samples": { type: "string" },
  ...OPTIMISER_FLAGS, seed: { type: "string" }, "data-dir": { type: "string" }, out: { type: "string" },
} as const;
const usage = `lipvae margin --model DIR [--model DIR2 ...] [options]

Estimates the (r, ε)-robustness margin of each of the first N test images by
Algorithm 2 (Camuto et al.; the paper's Appendix D) as the reference code
runs it: radii from max R down in steps of α, at each radius T max-damage
attacks on the sphere ‖δ‖ = R, each judged by S sample pairs; the margin is
the first radius where every attack keeps P[‖g(z_δ) − g(z_¬δ)‖ ≤ r] > ε, and 0
when none does. Prints the margins, writes ${MARGINS_JSON} and a histogram
(${HISTOGRAM}.svg/.png, the paper's Fig 5 left; one colour per model).

Algorithm 2:
  --images N         first N test images (default 25)
  --first I          start at test image I (default 0)
  --r R              reconstruction radius r (default ${d.r})
  --eps E            probability level ε (default ${d.eps})
  --max-radius R     max R (default ${d.maxRadius})
  --step A           grid step α (default ${d.step})
  --samples S        sample pairs per attack (default ${d.samples})
  --restarts T       attacks per radius (default ${d.restarts})
  --grid G           reference (default: 1e-6 + kα below max R, after a check at
                     R = 1e-6) or paper (max R, max R − α, …; no pre-check)
  --inclusive        pass when p ≥ ε instead of p > ε
  --confidence L     judge a one-sided lower confidence bound at level L (e.g. 0.95)
                     instead of the estimate S⁺/S
  --interval M       clopper-pearson (default) or wilson, with --confidence
  --refine N         N bisection steps between the passing radius and the one above
The attack:
  --constraint C     sphere (default, as the reference code) or ball
  --noise N          fresh (default) or common random numbers
  --attack-samples K z pairs per objective evaluation (default 1)
  --steps N, --step-size S, --method M, --init I   the optimiser (see lipvae attack)
Other:
  --seed S           seed of every random choice (default 0)
  --data-dir D       folder with the dataset's IDX files
  --out DIR          output folder (default: the first model's DIR/margin)`;

export interface ModelMargins {
  dir: string;
  label: string;
  sha256: string;
  images: { index: number; margin: number; levels: MarginResult["levels"] }[];
  mean: number;
  std: number;
  seconds: number;
}

export const marginCommand: Command = {
  name: "margin",
  usage,
  options: OPTIONS,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, OPTIONS, { positionals: true });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (name models with --model DIR)`);
    const dirs = values.model ?? [];
    if (dirs.length === 0) throw new UsageError("--model DIR is required (lipvae margin --help shows the options)");
    const count = values.images === undefined ? 25 : integer("--images", values.images, 1);
    const first = values.first === undefined ? 0 : integer("--first", values.first, 0);
    const { restarts, ...optimiser } = optimiserFlags(values);
    const grid = choice("--grid", values.grid, ["reference", "paper"], "reference") as MarginOptions["grid"];
    if (values.interval !== undefined && values.confidence === undefined) throw new UsageError("--interval needs --confidence LEVEL");
    const opts: MarginOptions = {
      ...d,
      r: values.r === undefined ? d.r : number("--r", values.r, { positive: true }),
      eps: values.eps === undefined ? d.eps : number("--eps", values.eps, { min: 0, max: 0.999999 }),
      maxRadius: values["max-radius"] === undefined ? d.maxRadius : number("--max-radius", values["max-radius"], { positive: true }),
      step: values.step === undefined ? d.step : number("--step", values.step, { positive: true }),
      samples: values.samples === undefined ? d.samples : integer("--samples", values.samples, 1),
      restarts: restarts ?? d.restarts,
      grid,
      precheck: grid === "reference",
      strict: values.inclusive !== true,
      confidence: values.confidence === undefined ? null : {
        level: number("--confidence", values.confidence, { min: 0.5000001, max: 0.9999999 }),
        method: choice("--interval", values.interval, ["clopper-pearson", "wilson"], "clopper-pearson") as IntervalMethod,
      },
      refine: values.refine === undefined ? 0 : integer("--refine", values.refine, 0),
      attack: {
        ...d.attack, ...optimiser,
        constraint: choice("--constraint", values.constraint, ["sphere", "ball"], "sphere") as NormConstraint,
        noise: choice("--noise", values.noise, ["fresh", "common"], "fresh") as NoiseMode,
        samples: values["attack-samples"] === undefined ? 1 : integer("--attack-samples", values["attack-samples"], 1),
      },
      seed: values.seed === undefined ? 0 : integer("--seed", values.seed, 0),
    };
    const outDir = values.out ?? path.join(dirs[0], "margin");

    // Every input is loaded and checked before the first model's (long) Algorithm 2 starts.
    const loadedModels = dirs.map((dir) => ({ dir, loaded: loadModel(dir) }));
    checkOutputDir(values.out === undefined ? "--out (default)" : "--out", outDir);
    const splits = new Map<string, ReturnType<typeof testSplit>>(); // models on the same data share one load
    const inputs = loadedModels.map(({ dir, loaded }) => {
      const key = `${loaded.meta.dataset?.name}:${loaded.meta.dataset?.fingerprint}`;
      const test = splits.get(key) ?? testSplit(loaded, values["data-dir"]);
      splits.set(key, test);
      if (first + count > test.count) throw new UsageError(`--first ${first} --images ${count} runs past the ${test.count} test images`);
      return { dir, loaded, test };
    });

    const results: ModelMargins[] = [];
    const progress = new Progress();
    for (const { dir, loaded, test } of inputs) {
      const label = modelLabel(dir, loaded.meta.config);
      if (loaded.meta.config.kind === "lipschitz") progress.log(`${label}: computing the effective weights (Björck K = ${loaded.meta.bjorckIters})...`);
      const model = attackModel(loaded.vae, loaded.meta.bjorckIters);
      const t0 = performance.now();
      let rounds = 0;
      const margins = estimateMargins(model, test.images.subarray(first * model.n, (first + count) * model.n), count, opts, {
        firstIndex: first,
        onRound: (p) => progress.update({ label: `margin ${label}`, done: p.done, total: p.total, fields: { round: String(++rounds), attacks: String(p.attacks) } }),
      });
      progress.finish();
      const values_ = margins.map((m) => m.margin);
      const mean = values_.reduce((a, b) => a + b, 0) / count;
      const std = Math.sqrt(values_.reduce((a, b) => a + (b - mean) ** 2, 0) / count);
      results.push({
        dir: path.resolve(dir), label, sha256: loaded.meta.parameters.sha256,
        images: margins.map((m) => ({ index: m.image, margin: m.margin, levels: m.levels })),
        mean, std, seconds: (performance.now() - t0) / 1000,
      });
      printMargins(label, results[results.length - 1], opts);
    }

    mkdirSync(outDir, { recursive: true });
    writeJsonAtomic(path.join(outDir, MARGINS_JSON), {
      format: "lipvae-margins", formatVersion: 1, libraryVersion, created: new Date().toISOString(),
      settings: { ...opts, images: count, first },
      models: results,
    });
    await drawMarginHistograms(
      results.map((m) => ({ label: m.label, margins: m.images.map((im) => im.margin) })),
      {
        title: "Estimated (r, ε)-robustness margins",
        subtitle: `Algorithm 2: r = ${opts.r}, ε = ${opts.eps}, S = ${opts.samples}, T = ${opts.restarts}, ${count * results.length} images`,
        // binned by the grid step, as the reference code bins them
        bin: { step: opts.step, extent: [0, opts.maxRadius] },
        xLabel: "estimated margin R̂ (binned by α)",
      },
      path.join(outDir, HISTOGRAM),
    );
    console.log(`wrote ${path.join(outDir, MARGINS_JSON)}`);
    console.log(`      ${path.join(outDir, `${HISTOGRAM}.png`)} (and .svg)`);
    return 0;
  },
};

/** "lipschitz M=5 (dir)" or "standard (dir)". */
function modelLabel(dir: string, cfg: { kind: string; lipschitz: { decoder: number } }): string {
  const name = path.basename(path.resolve(dir));
  return cfg.kind === "lipschitz" ? `${name} (M = ${cfg.lipschitz.decoder})` : `${name} (standard)`;
}

function printMargins(label: string, m: ModelMargins, o: MarginOptions): void {
  const rule = `${o.confidence ? `${(100 * o.confidence.level).toFixed(1)}% lower bound of p` : "p"} ${o.strict ? ">" : "≥"} ${o.eps}`;
  console.log(`${label}: estimated (r = ${o.r}, ε = ${o.eps})-margins, ${m.images.length} test images (${rule}, S = ${o.samples}, T = ${o.restarts}, ${m.seconds.toFixed(1)} s)`);
  const cells = m.images.map((im) => `${String(im.index).padStart(5)}: ${im.margin.toFixed(im.margin > 0 && im.margin < 1e-3 ? 6 : 3)}`);
  for (let i = 0; i < cells.length; i += 5) console.log(`  ${cells.slice(i, i + 5).join("   ")}`);
  console.log(`  mean ${m.mean.toFixed(3)} ± ${m.std.toFixed(3)} (std over images)`);
}
