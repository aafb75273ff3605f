// `lipvae attack`: latent-space (the paper's eq. 3) and maximum-damage (eq. 4) attacks on
// test images, drawn as strips like the paper's Fig E.9 and Fig 1.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type Command, UsageError } from "./command.js";
import { integer, number, parseFlags } from "./args.js";
import { checkOutputDir } from "./out-path.js";
import { LipvaeError } from "../errors.js";
import { isDatasetName } from "../data/catalog.js";
import { type Split, loadDataset } from "../data/datasets.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { FIGURE_SCALE, type GridCaption, writeCaptionedGrid } from "../io/image-grid.js";
import { type LoadedModel, loadModel } from "../model/store.js";
import { tensor, tidy } from "../engine/tensor.js";
import { noGrad } from "../engine/tape.js";
import { stream } from "../engine/random.js";
import { libraryVersion } from "../version.js";
import { type AttackModel, attackModel, rowNoise } from "../attacks/model.js";
import { DEFAULT_OPTIMISER, type InitKind, type OptimiserOptions, type StepMethod } from "../attacks/optimise.js";
import { DEFAULT_MAX_DAMAGE, type NoiseMode, maxDamageAttack } from "../attacks/max-damage.js";
import { DEFAULT_LATENT, latentAttack } from "../attacks/latent.js";
import type { NormConstraint } from "../attacks/projection.js";

/** The optimiser's flags, shared with `lipvae margin`. */
export const OPTIMISER_FLAGS = {
  steps: { type: "string" }, "step-size": { type: "string" }, method: { type: "string" },
  restarts: { type: "string" }, init: { type: "string" },
} as const;

const OPTIONS = {
  model: { type: "string" }, kind: { type: "string" }, images: { type: "string" }, first: { type: "string" },
  radius: { type: "string" }, soft: { type: "boolean" }, lambda: { type: "string" },
  constraint: { type: "string" }, noise: { type: "string" }, samples: { type: "string" },
  ...OPTIMISER_FLAGS, seed: { type: "string" }, "data-dir": { type: "string" }, out: { type: "string" },
} as const;

const usage = `lipvae attack --model DIR --kind latent|max-damage [options]

Attacks the first N test images of the model's dataset and draws one strip
per image, columns: x, recon(x), δ, x+δ, recon(x+δ), and for the latent
attack the target x_t (the paper's Fig E.9; Fig 1 for max-damage). Each recon
is one sample λ = g(z), z ~ q(z|·), as the reference code draws them. δ is
shown as 0.5 + δ/(2·max|δ|) (grey = 0), scaled per image. x+δ stays in [0,1].
The PNG is captioned: the attack and its budget, the column names, and left
of each strip the image index, ‖δ‖ and the KL or damage reached.

  latent:      min KL(q(z|x+δ) ‖ q(z|x_t)) over ‖δ‖ ≤ c (hard, eq. 3), or
               KL + λ‖δ‖ (--soft, eq. 2). The target is the next test image
               with a different label (the reference code's choice).
  max-damage:  max ‖g(z_δ) − g(z_¬δ)‖ over ‖δ‖ ≤ R (ball) or = R (sphere).

Options:
  --model DIR          model directory
  --kind K             latent or max-damage (required)
  --images N           attack test images first..first+N-1 (default 2)
  --first I            index of the first test image (default 0)
  --radius R[,R2...]   the budget c or R; a list runs one attack and one PNG per budget
                       (default 3; Fig E.9 uses 1,3,5)
  --soft               latent: the soft objective; --radius then caps ‖δ‖ (default: no cap)
  --lambda L           latent soft: weight of ‖δ‖ (default 1, as the reference code)
  --constraint C       max-damage: ball (default) or sphere
  --noise N            max-damage: fresh (default: new z draws at every step, the paper's
                       objective) or common (the same draws all run)
  --samples K          max-damage: z pairs averaged per objective evaluation (default 1)
  --steps N            gradient steps per restart (default ${DEFAULT_OPTIMISER.steps})
  --step-size S        step length as a fraction of the radius (default ${DEFAULT_OPTIMISER.stepSize})
  --method M           normalised (default) or adam
  --restarts T         random restarts per image; the best is drawn (default ${DEFAULT_OPTIMISER.restarts})
  --init I             d-ball (default, the reference code's), sphere or zero
  --seed S             seed of every random choice (default 0)
  --data-dir D         folder with the dataset's IDX files (default data/<dataset>/)
  --out DIR            where the outputs go (default DIR/attack): per budget, a strip
                       PNG and a JSON record named by kind, mode and budget, e.g.
                       latent-r3.png and latent-r3.json, max-damage-sphere-r1.5.json,
                       so runs with other kinds or budgets sit side by side`;

export const attackCommand: Command = {
  name: "attack",
  usage,
  options: OPTIONS,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, OPTIONS, { positionals: true });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (name the model with --model DIR)`);
    if (values.model === undefined) throw new UsageError("--model DIR is required (lipvae attack --help shows the options)");
    const kind = values.kind;
    if (kind !== "latent" && kind !== "max-damage") throw new UsageError(`--kind must be latent or max-damage (got '${kind ?? ""}')`);
    const count = values.images === undefined ? 2 : integer("--images", values.images, 1);
    const first = values.first === undefined ? 0 : integer("--first", values.first, 0);
    const soft = values.soft === true;
    if (soft && kind !== "latent") throw new UsageError("--soft applies to --kind latent only");
    const radii = values.radius === undefined ? [soft ? Infinity : 3]
      : values.radius.split(",").map((v) => number("--radius", v.trim(), { positive: true }));
    const lambda = values.lambda === undefined ? 1 : number("--lambda", values.lambda, { min: 0 });
    const constraint = choice("--constraint", values.constraint, ["ball", "sphere"], "ball") as NormConstraint;
    const noise = choice("--noise", values.noise, ["fresh", "common"], "fresh") as NoiseMode;
    const samples = values.samples === undefined ? 1 : integer("--samples", values.samples, 1);
    const optimiser = optimiserFlags(values);
    const seed = values.seed === undefined ? 0 : integer("--seed", values.seed, 0);
    const outDir = values.out ?? path.join(values.model, "attack");

    const loaded = loadModel(values.model);
    checkOutputDir(values.out === undefined ? "--out (default)" : "--out", outDir);
    const test = testSplit(loaded, values["data-dir"]);
    if (first + count > test.count) throw new UsageError(`--first ${first} --images ${count} runs past the ${test.count} test images`);
    const model = attackModel(loaded.vae, loaded.meta.bjorckIters);
    const n = model.n;
    const x = test.images.slice(first * n, (first + count) * n);
    const targets = kind === "latent" ? Array.from({ length: count }, (_, i) => nextDifferentLabel(test, first + i)) : [];
    const target = kind === "latent" ? new Float32Array(count * n) : null;
    targets.forEach((t, i) => target!.set(test.images.subarray(t * n, (t + 1) * n), i * n));
    const columns = kind === "latent" ? ["x", "recon(x)", "delta", "x+delta", "recon(x+delta)", "target"] : ["x", "recon(x)", "delta", "x+delta", "recon(x+delta)"];
    mkdirSync(outDir, { recursive: true });

    const common = {
      format: "lipvae-attack", formatVersion: 2, libraryVersion, created: new Date().toISOString(),
      model: { dir: path.resolve(loaded.dir), sha256: loaded.meta.parameters.sha256, bjorckIters: loaded.meta.bjorckIters },
      kind, mode: kind === "latent" ? (soft ? "soft" : "hard") : constraint, lambda: soft ? lambda : null,
      noise: kind === "max-damage" ? { mode: noise, samples } : null,
      optimiser: { ...DEFAULT_OPTIMISER, ...optimiser }, seed, columns,
    };
    const runs = radii.map((radius) => {
      const t0 = performance.now();
      let delta: Float32Array, norms: Float64Array, scores: Float64Array;
      if (kind === "latent") {
        const r = latentAttack(model, x, target!, count, { ...DEFAULT_LATENT, ...optimiser, mode: soft ? "soft" : "hard", radius, lambda, seed });
        ({ delta, norms } = r);
        scores = r.kl;
      } else {
        const r = maxDamageAttack(model, x, count, radius, { ...DEFAULT_MAX_DAMAGE, ...optimiser, constraint, noise, samples, seed });
        ({ delta, norms } = r);
        scores = r.damage;
      }
      const seconds = (performance.now() - t0) / 1000;
      const stem = attackFileStem(kind, common.mode, radius);
      const png = `${stem}.png`, json = `${stem}.json`;
      const run = {
        radius: Number.isFinite(radius) ? radius : null, seconds, png, json,
        images: Array.from({ length: count }, (_, i) => ({
          index: first + i,
          ...(kind === "latent" ? { target: targets[i], kl: scores[i] } : { meanDamage: scores[i] }),
          deltaNorm: norms[i],
        })),
      };
      const strip = attackStrips(model, x, delta, target, count, seed);
      const caption = attackCaption({
        kind, mode: common.mode, radius, lambda, model: loaded.dir, seed, optimiser: common.optimiser, images: run.images,
      });
      writeCaptionedGrid(path.join(outDir, png), strip.images, { columns: strip.columns, scale: FIGURE_SCALE }, caption);
      writeJsonAtomic(path.join(outDir, json), { ...common, ...run });
      return run;
    });
    const what = kind === "latent" ? "KL(q(z|x+δ) ‖ q(z|x_t))" : "mean ‖g(z_δ) − g(z_¬δ)‖ over 64 draws";
    for (const run of runs) {
      const budget = run.radius === null ? "∞" : String(run.radius);
      console.log(`${kind} attack on ${count} test image(s) of ${values.model}, ‖δ‖ ${kind === "max-damage" && constraint === "sphere" ? "=" : "≤"} ${budget} (${run.seconds.toFixed(1)} s):`);
      for (const im of run.images) {
        const score = "kl" in im ? im.kl : im.meanDamage;
        const tgt = "target" in im ? ` → target ${im.target}` : "";
        console.log(`  image ${String(im.index).padStart(5)}${tgt}  ‖δ‖ = ${im.deltaNorm.toFixed(3)}  ${what} = ${score!.toFixed(4)}`);
      }
      console.log(`wrote ${path.join(outDir, run.png)} (columns: ${columns.join(", ")})`);
      console.log(`      ${path.join(outDir, run.json)}`);
    }
    return 0;
  },
};

/**
 * File name (without extension) of one attack's outputs: kind, mode unless it
 * is the default (hard latent, ball max-damage) and budget, so that runs with
 * another kind, mode or budget into the same folder never overwrite each other.
 */
export function attackFileStem(kind: "latent" | "max-damage", mode: string, radius: number): string {
  const budget = Number.isFinite(radius) ? String(radius) : "inf";
  const variant = mode === "soft" || mode === "sphere" ? `-${mode}` : "";
  return `${kind}${variant}-r${budget}`;
}

/** What an attack's strip PNG says above and beside the strips. */
export function attackCaption(a: {
  kind: "latent" | "max-damage";
  mode: string;
  radius: number;
  lambda: number;
  model: string;
  seed: number;
  optimiser: OptimiserOptions;
  images: { index: number; target?: number; kl?: number; meanDamage?: number; deltaNorm: number }[];
}): GridCaption {
  const budget = Number.isFinite(a.radius) ? String(a.radius) : "∞";
  const title =
    a.kind === "max-damage" ? `Maximum-damage attack (eq. 4), ‖δ‖ ${a.mode === "sphere" ? "=" : "≤"} ${budget}`
    : a.mode === "soft" ? `Latent-space attack, soft (eq. 2), λ = ${a.lambda}${Number.isFinite(a.radius) ? `, ‖δ‖ ≤ ${budget}` : ""}`
    : `Latent-space attack (eq. 3), ‖δ‖ ≤ ${budget}`;
  const objective = a.kind === "latent" ? "KL = KL(q(z|x+δ) ‖ q(z|target))" : "damage = mean ‖g(z_δ) − g(z_¬δ)‖ over 64 draws";
  const g = (v: number) => String(Number(v.toPrecision(4)));
  return {
    title,
    notes: [
      `model ${path.basename(path.resolve(a.model))}; ${a.optimiser.steps} ${a.optimiser.method} steps × ${a.optimiser.restarts} restarts; seed ${a.seed}`,
      objective,
      "δ shown as 0.5 + δ/(2·max|δ|) per image (grey = 0); each recon is one sample g(z), z ~ q(z|·)",
    ],
    columns: a.kind === "latent" ? ["x", "recon(x)", "δ", "x+δ", "recon(x+δ)", "target"] : ["x", "recon(x)", "δ", "x+δ", "recon(x+δ)"],
    rows: a.images.map((im) => [
      im.target === undefined ? `image ${im.index}` : `image ${im.index} → ${im.target}`,
      `‖δ‖ = ${im.deltaNorm.toFixed(3)}`,
      im.kl !== undefined ? `KL = ${g(im.kl)}` : `damage = ${g(im.meanDamage!)}`,
    ]),
  };
}

export function optimiserFlags(values: Record<string, string | boolean | undefined | (string | boolean)[]>): Partial<OptimiserOptions> {
  const out: Partial<OptimiserOptions> = {};
  const str = (k: string) => values[k] as string | undefined;
  if (str("steps") !== undefined) out.steps = integer("--steps", str("steps")!, 1);
  if (str("step-size") !== undefined) out.stepSize = number("--step-size", str("step-size")!, { positive: true });
  if (str("method") !== undefined) out.method = choice("--method", str("method"), ["normalised", "adam"], "normalised") as StepMethod;
  if (str("restarts") !== undefined) out.restarts = integer("--restarts", str("restarts")!, 1);
  if (str("init") !== undefined) out.init = choice("--init", str("init"), ["d-ball", "sphere", "zero"], "d-ball") as InitKind;
  return out;
}

export function choice(flag: string, raw: string | undefined, allowed: string[], fallback: string): string {
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw)) throw new UsageError(`${flag} must be ${allowed.join(" or ")} (got '${raw}')`);
  return raw;
}

/** The test split of the dataset the model was trained on (a warning if the files differ). */
export function testSplit(model: LoadedModel, dataDir: string | undefined): Split {
  const name = model.meta.dataset?.name;
  if (typeof name !== "string" || !isDatasetName(name)) {
    throw new LipvaeError(`${path.join(model.dir, "model.json")} names an unknown dataset '${name}'; the file is corrupt`);
  }
  const data = loadDataset(name, { dataDir, verifyChecksums: false, limit: 1 });
  if (data.fingerprint !== model.meta.dataset.fingerprint) {
    console.error(`lipvae: warning: the ${name} files in ${data.dataDir} differ from the ones ${model.dir} was trained on`);
  }
  return data.test;
}

/** The next test image (cyclically) whose label differs from image i's (reference: get_target_image). */
export function nextDifferentLabel(test: Split, i: number): number {
  for (let k = 1; k < test.count; k++) {
    const j = (i + k) % test.count;
    if (test.labels[j] !== test.labels[i]) return j;
  }
  throw new LipvaeError("every test image has the same label: no attack target exists");
}

/**
 * Strip rows [x, recon(x), δ, x+δ, recon(x+δ), (target)] per image, as one
 * images array for writeCaptionedGrid. Recons are one seeded sample each.
 */
export function attackStrips(model: AttackModel, x: Float32Array, delta: Float32Array, target: Float32Array | null, count: number, seed: number): { images: Float32Array; columns: number } {
  const n = model.n, columns = target ? 6 : 5;
  const moved = new Float32Array(count * n);
  for (let i = 0; i < moved.length; i++) moved[i] = Math.min(1, Math.max(0, x[i] + delta[i]));
  const recon = (rows: Float32Array, tag: string) => noGrad(() => tidy(() => {
    const post = model.vae.encode(tensor(rows, [count, n]), model.weights);
    const rands = Array.from({ length: count }, (_, i) => stream(seed, `attack-recon:${tag}:${i}`));
    return Float32Array.from(model.vae.decode(model.vae.sample(post, rowNoise(rands, 1, model.dz)), model.weights).data);
  }));
  const clean = recon(x, "clean"), attacked = recon(moved, "attacked");
  const out = new Float32Array(count * columns * n);
  for (let i = 0; i < count; i++) {
    const row = (k: number) => out.subarray((i * columns + k) * n, (i * columns + k + 1) * n);
    const slice = (a: Float32Array) => a.subarray(i * n, (i + 1) * n);
    row(0).set(slice(x));
    row(1).set(slice(clean));
    let max = 0;
    for (const v of slice(delta)) max = Math.max(max, Math.abs(v));
    const d = slice(delta), shown = row(2);
    for (let j = 0; j < n; j++) shown[j] = max > 0 ? 0.5 + d[j] / (2 * max) : 0.5;
    row(3).set(slice(moved));
    row(4).set(slice(attacked));
    if (target) row(5).set(slice(target));
  }
  return { images: out, columns };
}
