// The paper's Fig 6 / B.8: 2-D posteriors q(z|x) = N(μ, diag σ²), one ellipse
// per image at its TRUE size (semi-axes σ₁, σ₂: the ±1σ contour) coloured by
// digit, under the prior N(0, I)'s 1σ/2σ/3σ circles (dashed grey,
// drawn last, as the paper overlays them). (The authors'
// plotting code passes σ as matplotlib's ellipse width/height, which are
// diameters, so their ellipses are drawn at half size.) Vega-lite has no
// ellipse mark: each is a closed line through ELLIPSE_POINTS points, which
// include the four axis ends, so its drawn extent is exactly 2σ per axis.
// Both axes span ±extent over the same pixel length, so circles look round.
import type { TopLevelSpec } from "vega-lite";
import { LipvaeError } from "../errors.js";
import { chartFrame, renderChart, requireFinite, requireSome } from "./render.js";
import type { FigureText, Written } from "./types.js";

export interface Posterior2DPanel {
  title: string;
  points: { mu: [number, number]; sigma: [number, number]; label: number }[];
}

/** Points per ellipse outline (a multiple of 4, so the axis ends are vertices). */
export const ELLIPSE_POINTS = 48;
/** Side of each square panel in SVG pixels. */
export const PANEL_SIZE = 300;
/** Axes span ±DEFAULT_EXTENT unless told otherwise, as the paper's panels do. */
export const DEFAULT_EXTENT = 15;
const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

interface OutlinePoint { panel: string; kind: "prior" | "posterior"; id: number; k: number; x: number; y: number; digit?: number }

/** The closed outline of an axis-aligned ellipse: ELLIPSE_POINTS vertices and the first one again. */
function outline(cx: number, cy: number, rx: number, ry: number): { k: number; x: number; y: number }[] {
  return Array.from({ length: ELLIPSE_POINTS + 1 }, (_, k) => {
    const t = (2 * Math.PI * (k % ELLIPSE_POINTS)) / ELLIPSE_POINTS;
    return { k, x: cx + rx * Math.cos(t), y: cy + ry * Math.sin(t) };
  });
}

export function posteriorsSpec(panels: Posterior2DPanel[], text: FigureText & { extent?: number }): TopLevelSpec {
  const figure = "posteriors";
  const extent = text.extent ?? DEFAULT_EXTENT;
  if (!(Number.isFinite(extent) && extent > 0)) throw new LipvaeError(`${figure}: extent must be a number > 0 (got ${extent})`);
  requireSome(figure, "panels", panels.length);
  const rows: OutlinePoint[] = [];
  for (const panel of panels) {
    for (const radius of [1, 2, 3]) {
      for (const p of outline(0, 0, radius, radius)) rows.push({ panel: panel.title, kind: "prior", id: radius, ...p });
    }
    panel.points.forEach((point, id) => {
      const where = `point ${id} of panel '${panel.title}'`;
      for (const v of [...point.mu, ...point.sigma]) requireFinite(figure, `μ or σ of ${where}`, v);
      if (point.sigma[0] < 0 || point.sigma[1] < 0) throw new LipvaeError(`${figure}: σ of ${where} is negative; pass standard deviations, not log-variances`);
      if (!DIGITS.includes(point.label)) throw new LipvaeError(`${figure}: the label of ${where} is ${point.label}; labels are digits 0–9`);
      for (const p of outline(point.mu[0], point.mu[1], point.sigma[0], point.sigma[1])) {
        rows.push({ panel: panel.title, kind: "posterior", id, digit: point.label, ...p });
      }
    });
  }
  const axis = (title: string) =>
    ({ type: "quantitative" as const, title, scale: { domain: [-extent, extent], nice: false, zero: false }, axis: { tickCount: 7 } });
  const digit = { field: "digit", type: "nominal" as const, title: "digit", scale: { domain: DIGITS, scheme: "category10" } };
  const x = { field: "x", ...axis("z₁") };
  const y = { field: "y", ...axis("z₂") };
  return {
    ...chartFrame(text, [`ellipses: ±1σ of q(z|x) at true size; dashed grey circles: prior N(0, I) at 1σ, 2σ, 3σ`]),
    data: { values: rows },
    facet: { column: { field: "panel", type: "nominal", sort: panels.map((p) => p.title), title: null, header: { labelFontSize: 13 } } },
    spec: {
      width: PANEL_SIZE,
      height: PANEL_SIZE,
      layer: [
        {
          name: "posterior",
          transform: [{ filter: "datum.kind === 'posterior'" }],
          // filled lightly, like matplotlib's translucent ellipses, so overlaps stay readable
          mark: { type: "line", strokeWidth: 1, opacity: 0.8, fillOpacity: 0.2, clip: true },
          encoding: {
            x, y, detail: { field: "id" }, order: { field: "k", type: "quantitative" },
            color: digit,
            fill: digit, // same field and scale as the colour: one merged legend
          },
        },
        {
          name: "prior",
          transform: [{ filter: "datum.kind === 'prior'" }],
          mark: { type: "line", color: "#444", strokeWidth: 1.3, strokeDash: [5, 3], clip: true },
          encoding: { x, y, detail: { field: "id" }, order: { field: "k", type: "quantitative" } },
        },
      ],
    },
  };
}

/** Fig 6 / B.8: writes `${outBase}.svg` and `.png`. */
export async function drawPosteriors(panels: Posterior2DPanel[], text: FigureText & { extent?: number }, outBase: string): Promise<Written> {
  return renderChart(posteriorsSpec(panels, text), outBase);
}
