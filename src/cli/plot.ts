// `lipvae plot <figure>`: figures as SVG and PNG, drawn with vega-lite
// (compiled to vega, rendered headless) and rasterised by resvg.
//   bounds   the paper's Figure 2: Theorem 1's p1 and p2 against ‖δ‖.
import path from "node:path";
import type { TopLevelSpec } from "vega-lite";
import type { Command } from "./command.js";
import { UsageError } from "./command.js";
import { parseFlags } from "./bounds.js";
import { chartFrame, renderChart } from "../figures/render.js";
import { checkOutputDir } from "./out-path.js";
import type { Theorem1Input } from "../bounds/types.js";

const USAGE = `lipvae plot: figures as SVG and PNG

usage: lipvae plot bounds [--out DIR] [--tight] [--a A --b B --c C --r R --dz D --sigma-norm S] [--max-delta X]

subcommands:
  bounds   the paper's Figure 2: Theorem 1's p1 (Markov) and p2 (chi-square) against ‖δ‖,
           for a = b = c = r = dz = 5 and ‖σ(x)‖ = 0.1 unless overridden.
           Writes DIR/fig2-bounds.svg and DIR/fig2-bounds.png (DIR defaults to figures).

options:
  --out DIR          output folder (created if missing)
  --tight            also draw lipvae's tight p1 and p2 (dashed)
  --max-delta X      right end of the ‖δ‖ axis (default 0.15)
  --points N         number of ‖δ‖ values (default 301)
  --scale S          PNG pixels per SVG unit (default 2)`;

const FLAGS = {
  out: { type: "string" },
  tight: { type: "boolean" },
  a: { type: "string" },
  b: { type: "string" },
  c: { type: "string" },
  r: { type: "string" },
  dz: { type: "string" },
  "sigma-norm": { type: "string" },
  "max-delta": { type: "string" },
  points: { type: "string" },
  scale: { type: "string" },
} as const;

function positive(flag: string, text: string | undefined, fallback: number, integer = false): number {
  if (text === undefined) return fallback;
  const x = Number(text);
  const ok = text.trim() !== "" && Number.isFinite(x) && (integer ? Number.isSafeInteger(x) && x >= 1 : x > 0);
  if (!ok) throw new UsageError(`--${flag} must be ${integer ? "a positive integer" : "a number > 0"} (got '${text}')`);
  return x;
}

function nonNegative(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const x = Number(text);
  if (text.trim() === "" || !Number.isFinite(x) || x < 0) throw new UsageError(`--${flag} must be a number ≥ 0 (got '${text}')`);
  return x;
}

interface Point {
  delta: number;
  bound: string;
  value: number;
}

/** The curves of Figure 2 (and, with tight, lipvae's tight p1 and p2). */
export async function figure2Data(
  base: Omit<Theorem1Input, "delta">,
  maxDelta: number,
  points: number,
  tight: boolean,
): Promise<Point[]> {
  const { paperTheorem1 } = await import("../bounds/paper.js"); // loaded when a plot is drawn
  const { tightTheorem1 } = await import("../bounds/tight.js");
  const data: Point[] = [];
  for (let i = 0; i < points; i++) {
    const delta = (maxDelta * i) / (points - 1);
    const paper = paperTheorem1({ ...base, delta });
    data.push({ delta, bound: "p1 (paper, Markov)", value: paper.p1 });
    data.push({ delta, bound: "p2 (paper, chi-square)", value: paper.p2 });
    if (tight) {
      const ours = tightTheorem1({ ...base, delta });
      data.push({ delta, bound: "p1 (tight)", value: ours.p1 });
      data.push({ delta, bound: "p2 (tight)", value: ours.p2 });
    }
  }
  return data;
}

const SERIES = [
  { name: "p1 (paper, Markov)", color: "#4c78a8", dash: [1, 0] },
  { name: "p2 (paper, chi-square)", color: "#e45756", dash: [1, 0] },
  { name: "p1 (tight)", color: "#4c78a8", dash: [6, 3] },
  { name: "p2 (tight)", color: "#e45756", dash: [6, 3] },
];

/** Vega-lite spec of Figure 2: p1 blue, p2 red; tight curves dashed. */
export function figure2Spec(base: Omit<Theorem1Input, "delta">, data: Point[]): TopLevelSpec {
  const { a, b, c, r, dz, sigmaNorm } = base;
  const present = SERIES.filter((series) => data.some((point) => point.bound === series.name));
  const domain = present.map((series) => series.name);
  const legend = { orient: "bottom-right", labelLimit: 0, title: null } as const;
  return {
    ...chartFrame({
      title: "Theorem 1 bounds on P[‖z_δ − z_¬δ‖ ≥ r/a]",
      subtitle: `a = ${a}, b = ${b}, c = ${c}, r = ${r}, dz = ${dz}, ‖σ(x)‖ = ${sigmaNorm}`,
    }),
    width: 480,
    height: 300,
    data: { values: data },
    mark: { type: "line", strokeWidth: 2, clip: true },
    encoding: {
      x: { field: "delta", type: "quantitative", title: "‖δ‖₂" },
      y: { field: "value", type: "quantitative", title: "bound", scale: { domain: [0, 1] } },
      color: {
        field: "bound", type: "nominal", title: null, legend,
        scale: { domain, range: present.map((series) => series.color) },
      },
      strokeDash: {
        field: "bound", type: "nominal", title: null, legend,
        scale: { domain, range: present.map((series) => series.dash) },
      },
    },
  };
}

async function plotBounds(argv: string[]): Promise<number> {
  const values = parseFlags(argv, FLAGS);
  const base = {
    a: positive("a", values.a, 5),
    b: positive("b", values.b, 5),
    c: nonNegative("c", values.c, 5),
    r: positive("r", values.r, 5),
    dz: positive("dz", values.dz, 5, true),
    sigmaNorm: nonNegative("sigma-norm", values["sigma-norm"], 0.1),
  };
  const maxDelta = positive("max-delta", values["max-delta"], 0.15);
  const points = positive("points", values.points, 301, true);
  if (points < 2) throw new UsageError("--points must be at least 2");
  const scale = positive("scale", values.scale, 2);
  const outDir = values.out ?? "figures";
  checkOutputDir(values.out === undefined ? "--out (default)" : "--out", outDir);

  const spec = figure2Spec(base, await figure2Data(base, maxDelta, points, values.tight === true));
  const written = await renderChart(spec, path.join(outDir, "fig2-bounds"), scale);
  console.log(`wrote ${written.svg}\nwrote ${written.png}`);
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { bounds: plotBounds };

export const plotCommand: Command = {
  name: "plot",
  usage: USAGE,
  options: FLAGS,
  async run(argv) {
    const [sub, ...rest] = argv;
    const run = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (!run) {
      throw new UsageError(
        `${sub === undefined ? "missing subcommand" : `unknown subcommand '${sub}'`}; one of: ${Object.keys(SUBCOMMANDS).join(", ")}`,
      );
    }
    return run(rest);
  },
};
