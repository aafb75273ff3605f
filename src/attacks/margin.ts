// Algorithm 2 of the paper (Camuto et al.'s margin estimator) as the reference
// code runs it (docs/reference-code.md, 'Margin estimation'), with lipvae's
// options on top (docs/attacks.md §6):
//   - candidates from the top down; at each radius R run T max-damage attacks
//     (on the sphere ‖δ‖ = R by default, as the code), estimate each
//     attack's r-robustness probability from S fresh sample pairs, and stop at
//     the first R where every one passes (p̂ > ε);
//   - grid "reference": arange(1e-6, maxR, α) descending, after a pre-check at
//     R = 1e-6 that gives up at once if any attack fails there; grid "paper":
//     maxR, maxR − α, … while > 0;
//   - no radius passing gives 0 (the code raises an error, the paper prints a message);
//   - options: judge each p̂ by a one-sided lower confidence bound instead,
//     ≥ instead of >, and bisection between the passing radius and the
//     failing one above it.
// Images run in lockstep: every round batches the T attacks of every image
// still searching, each at its own radius, each from its own seeded streams,
// so an image's result does not depend on the others.

import { type Random, stream } from "../engine/random.js";
import type { AttackModel } from "./model.js";
import { DEFAULT_MAX_DAMAGE, type MaxDamageOptions, countWithin, damageSamples, maxDamageRows } from "./max-damage.js";
import { type IntervalMethod, proportionBound } from "./stats.js";

export interface MarginOptions {
  /** Reconstruction radius r. */
  r: number;
  /** Probability level ε. */
  eps: number;
  maxRadius: number;
  /** Grid step α. */
  step: number;
  /** S: sample pairs per attack for the probability estimate. */
  samples: number;
  /** T: attacks (random restarts) per radius; all must pass. */
  restarts: number;
  grid: "reference" | "paper";
  /** The reference code's extra check at R = 1e-6 before the scan. */
  precheck: boolean;
  /** Pass when the estimate is > ε (true, the paper and code) or ≥ ε. */
  strict: boolean;
  /** Judge a one-sided lower confidence bound on p instead of p̂ (null = the point estimate). */
  confidence: { method: IntervalMethod; level: number } | null;
  /** Bisection steps after the grid, between the passing radius and the failing one above (0 = off). */
  refine: number;
  /** The max-damage attack (its `restarts` field is ignored: T above is used). */
  attack: MaxDamageOptions;
  seed: number;
}

/** The reference code's settings (docs/reference-code.md, 'Margin estimation'), attacks on the sphere. */
export const DEFAULT_MARGIN: MarginOptions = {
  r: 8, eps: 0.5, maxRadius: 10, step: 0.5, samples: 40, restarts: 5,
  grid: "reference", precheck: true, strict: true, confidence: null, refine: 0,
  attack: { ...DEFAULT_MAX_DAMAGE, constraint: "sphere" }, seed: 0,
};

/** The reference grid's bottom value: "zero" without a zero-norm attack. */
export const REFERENCE_GRID_START = 1e-6;

/** Candidate radii, largest first. */
export function marginGrid(opts: Pick<MarginOptions, "grid" | "maxRadius" | "step">): number[] {
  const { maxRadius: top, step } = opts;
  if (!(step > 0) || !(top > 0)) throw new RangeError(`margin grid: need maxRadius > 0 and step > 0 (got ${top}, ${step})`);
  const out: number[] = [];
  if (opts.grid === "reference") {
    // np.arange(1e-6, max_R, α): start + j·α for every j with start + j·α < max_R.
    for (let j = 0; REFERENCE_GRID_START + j * step < top; j++) out.push(REFERENCE_GRID_START + j * step);
    return out.reverse();
  }
  for (let j = 0; top - j * step > 1e-12 * top; j++) out.push(top - j * step);
  return out;
}

export interface MarginLevel {
  phase: "precheck" | "scan" | "refine";
  radius: number;
  /** Per attack: successes (distance ≤ r) out of S. */
  successes: number[];
  /** Per attack: the value judged against ε (p̂, or its lower confidence bound). */
  judged: number[];
  /** ‖δ‖ the attacks reached (below R only if the pixel box cannot hold a larger δ). */
  norms: number[];
  passed: boolean;
}

export interface MarginResult {
  image: number;
  /** The estimated margin R̂ (0 when no radius passed). */
  margin: number;
  levels: MarginLevel[];
}

interface Search {
  image: number;
  phase: MarginLevel["phase"];
  /** Index into the grid during the scan. */
  index: number;
  lo: number;
  hi: number;
  refineLeft: number;
  radius: number;
  margin: number | null;
  levels: MarginLevel[];
}

export interface MarginProgress {
  /** Images finished so far. */
  done: number;
  total: number;
  /** Rows (attacks) in the round just run. */
  attacks: number;
}

/**
 * Estimates the (r, ε)-robustness margin of every image (x: count × n rows),
 * numbering them from `firstIndex` (that number seeds each image's streams).
 */
export function estimateMargins(
  model: AttackModel, x: Float32Array, count: number, options: Partial<MarginOptions> = {},
  hooks: { firstIndex?: number; onRound?: (p: MarginProgress) => void } = {},
): MarginResult[] {
  const opts = { ...DEFAULT_MARGIN, ...options };
  validate(opts);
  const grid = marginGrid(opts);
  const n = model.n, T = opts.restarts;
  const first = hooks.firstIndex ?? 0;
  const searches: Search[] = Array.from({ length: count }, (_, i) => {
    const s: Search = { image: first + i, phase: "scan", index: 0, lo: 0, hi: 0, refineLeft: opts.refine, radius: grid[0], margin: null, levels: [] };
    if (opts.precheck) {
      s.phase = "precheck";
      s.radius = REFERENCE_GRID_START;
    }
    return s;
  });
  const attack: MaxDamageOptions = { ...opts.attack, restarts: T };
  for (;;) {
    const active = searches.filter((s) => s.margin === null);
    if (active.length === 0) break;
    const rows = active.length * T;
    const xs = new Float32Array(rows * n), radii = new Float64Array(rows);
    const rands: Random[] = [];
    active.forEach((s, a) => {
      const local = s.image - first;
      for (let t = 0; t < T; t++) {
        xs.set(x.subarray(local * n, (local + 1) * n), (a * T + t) * n);
        radii[a * T + t] = s.radius;
        // One stream per (image, level, attack): attack start, attack noise, then the estimate's samples.
        rands.push(stream(opts.seed, `margin:${s.image}:${s.phase}:${s.levels.length}:${t}`));
      }
    });
    const result = maxDamageRows(model, xs, radii, rands, attack);
    const dist = damageSamples(model, xs, result.delta, opts.samples, rands);
    const successes = countWithin(dist, rows, opts.r);
    active.forEach((s, a) => {
      const level = judge(s, opts, Array.from(successes.subarray(a * T, (a + 1) * T)), Array.from(result.norms.subarray(a * T, (a + 1) * T)));
      s.levels.push(level);
      advance(s, level.passed, grid, opts);
    });
    hooks.onRound?.({ done: searches.filter((s) => s.margin !== null).length, total: count, attacks: rows });
  }
  return searches.map((s) => ({ image: s.image, margin: s.margin!, levels: s.levels }));
}

function judge(s: Search, opts: MarginOptions, successes: number[], norms: number[]): MarginLevel {
  const S = opts.samples;
  const judged = successes.map((k) => (opts.confidence
    ? proportionBound(opts.confidence.method, k, S, opts.confidence.level, "lower")
    : k / S));
  const passed = judged.every((p) => (opts.strict ? p > opts.eps : p >= opts.eps));
  return { phase: s.phase, radius: s.radius, successes, judged, norms, passed };
}

/** Moves one search to its next radius, or ends it. */
function advance(s: Search, passed: boolean, grid: number[], opts: MarginOptions): void {
  if (s.phase === "precheck") {
    if (!passed) s.margin = 0;
    else {
      s.phase = "scan";
      s.radius = grid[0];
    }
    return;
  }
  if (s.phase === "scan") {
    if (passed) {
      const above = s.index > 0 ? grid[s.index - 1] : opts.grid === "reference" ? opts.maxRadius : s.radius;
      if (opts.refine > 0 && above > s.radius) {
        s.phase = "refine";
        s.lo = s.radius;
        s.hi = above;
        s.radius = (s.lo + s.hi) / 2;
      } else s.margin = s.radius;
      return;
    }
    s.index += 1;
    if (s.index >= grid.length) s.margin = 0;
    else s.radius = grid[s.index];
    return;
  }
  if (passed) s.lo = s.radius;
  else s.hi = s.radius;
  s.refineLeft -= 1;
  if (s.refineLeft <= 0) s.margin = s.lo;
  else s.radius = (s.lo + s.hi) / 2;
}

function validate(o: MarginOptions): void {
  const bad = (m: string): never => {
    throw new RangeError(`margin estimation: ${m}`);
  };
  if (!(o.r > 0)) bad(`r must be > 0 (got ${o.r})`);
  if (!(o.eps >= 0 && o.eps < 1)) bad(`ε must be in [0, 1) (got ${o.eps})`);
  if (!(Number.isInteger(o.samples) && o.samples >= 1)) bad(`S must be a positive whole number (got ${o.samples})`);
  if (!(Number.isInteger(o.restarts) && o.restarts >= 1)) bad(`T must be a positive whole number (got ${o.restarts})`);
  if (!(Number.isInteger(o.refine) && o.refine >= 0)) bad(`refine must be a whole number ≥ 0 (got ${o.refine})`);
}
