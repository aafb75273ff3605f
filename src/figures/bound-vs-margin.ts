// The paper's Fig 4: per image, the certified lower bound on the margin
// (x, log scale) against the estimated margin (y), with the line y = x: a
// correct bound puts every point on or above it. A bound ≤ 0 (nothing
// certified) has no place on a log axis, so those points go in a strip at
// the left edge labelled "bound = 0" instead of being dropped.
import type { TopLevelSpec } from "vega-lite";
import { LipvaeError } from "../errors.js";
import { chartFrame, renderChart, requireFinite, requireSome } from "./render.js";
import type { FigureText, Written } from "./types.js";

export interface BoundVsMarginPoint {
  image: number;
  series: string;
  bound: number;
  margin: number;
}

/** The label of the strip that holds points whose bound is ≤ 0. */
export const ZERO_BOUND_LABEL = "bound = 0";
const LINE_POINTS = 64;
const HEIGHT = 320;

/** The log axis' range: every positive bound, stretched to the largest margin so y = x crosses the points. */
function logDomain(points: BoundVsMarginPoint[]): [number, number] {
  const bounds = points.map((p) => p.bound).filter((b) => b > 0);
  const margins = points.map((p) => p.margin).filter((m) => m > 0);
  const lo = bounds.length > 0 ? Math.min(...bounds) : margins.length > 0 ? Math.min(...margins) : 0.01;
  const hi = Math.max(lo, ...bounds, ...margins);
  return [lo / (hi > lo ? 1.25 : 10), hi * 1.25];
}

export function boundVsMarginSpec(points: BoundVsMarginPoint[], text: FigureText): TopLevelSpec {
  const figure = "bound vs margin";
  requireSome(figure, "points", points.length);
  for (const p of points) {
    requireFinite(figure, `the margin of image ${p.image} (${p.series})`, p.margin);
    if (Number.isNaN(p.bound) || p.bound === Infinity) {
      throw new LipvaeError(`${figure}: the bound of image ${p.image} (${p.series}) is ${p.bound}; a bound must be a number < ∞`);
    }
  }
  const series = [...new Set(points.map((p) => p.series))];
  const [lo, hi] = logDomain(points);
  const line = Array.from({ length: LINE_POINTS }, (_, i) => {
    const x = lo * (hi / lo) ** (i / (LINE_POINTS - 1));
    return { x, y: x };
  });
  const y = { field: "margin", type: "quantitative", scale: { zero: true } } as const;
  const logX = {
    type: "quantitative" as const, title: "certified lower bound on the margin (‖δ‖₂, log scale)",
    scale: { type: "log" as const, domain: [lo, hi], nice: false },
  };
  const lineY = { field: "y", type: "quantitative", axis: { title: null } } as const;
  const color = { field: "series", type: "nominal", title: "bound", scale: { domain: series }, legend: { orient: "bottom", labelLimit: 0 } } as const;
  const shape = { ...color };
  return {
    ...chartFrame(text, [`points on or above y = x are correctly bounded; "${ZERO_BOUND_LABEL}": no positive certificate`]),
    hconcat: [
      {
        name: "zero-bound-strip",
        width: 24 + 14 * series.length,
        height: HEIGHT,
        data: { values: points.filter((p) => p.bound <= 0).map((p) => ({ ...p, strip: ZERO_BOUND_LABEL })) },
        mark: { type: "point", filled: true, size: 40, opacity: 0.8 },
        encoding: {
          x: { field: "strip", type: "nominal", title: null, scale: { domain: [ZERO_BOUND_LABEL] }, axis: { labelAngle: 0 } },
          xOffset: { field: "series", type: "nominal", scale: { domain: series } },
          y: { ...y, title: "estimated margin R̂ (‖δ‖₂)" },
          color,
          shape,
        },
      },
      {
        width: 380,
        height: HEIGHT,
        layer: [
          {
            data: { values: line },
            mark: { type: "line", color: "#888", strokeDash: [5, 4], clip: true },
            encoding: { x: { ...logX, field: "x" }, y: lineY },
          },
          {
            // the label sits right of the line, three quarters along it, clear of the frame
            data: { values: [line[Math.round(0.75 * (LINE_POINTS - 1))]!] },
            mark: { type: "text", text: "y = x", align: "left", dx: 8, dy: 4, color: "#666" },
            encoding: { x: { ...logX, field: "x" }, y: lineY },
          },
          {
            name: "bounded-points",
            data: { values: points.filter((p) => p.bound > 0) },
            mark: { type: "point", filled: true, size: 40, opacity: 0.8 },
            encoding: {
              x: { ...logX, field: "bound" },
              y: { ...y, axis: { title: null } },
              color,
              shape,
            },
          },
        ],
      },
    ],
    spacing: 6,
    resolve: { scale: { y: "shared", color: "shared", shape: "shared" } },
  };
}

/** Fig 4: writes `${outBase}.svg` and `.png`. */
export async function drawBoundVsMargin(points: BoundVsMarginPoint[], text: FigureText, outBase: string): Promise<Written> {
  return renderChart(boundVsMarginSpec(points, text), outBase);
}
