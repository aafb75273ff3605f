// The paper's Fig 3: estimated margin against the encoder's ‖σ‖, one panel
// per decoder Lipschitz constant M, mean ± sd over images. Each panel keeps
// its own y range, as the paper's do ("compare the ranges across plots").
import type { TopLevelSpec } from "vega-lite";
import { chartFrame, renderChart, requireFinite, requireSome } from "./render.js";
import type { FigureText, Written } from "./types.js";

export interface MarginVsSigmaPanel {
  title: string;
  points: { sigma: number; mean: number; sd: number; n: number }[];
}

// Short enough to fit beside a panel: an axis title longer than the panel stretches the layout.
const Y_LABEL = "estimated margin R̂ (‖δ‖₂)";

export function marginVsSigmaSpec(panels: MarginVsSigmaPanel[], text: FigureText & { xLabel: string }): TopLevelSpec {
  const figure = "margin vs sigma";
  requireSome(figure, "panels", panels.length);
  const x = { field: "sigma", type: "quantitative" as const, title: text.xLabel, scale: { zero: false, padding: 12 } };
  const mean = { field: "mean", type: "quantitative" as const };
  const counts = new Set(panels.flatMap((panel) => panel.points.map((p) => p.n)));
  const over = counts.size === 1 ? `over ${[...counts][0]} images` : "over images";
  return {
    ...chartFrame(text, [`points: mean ${over}; error bars: ± one standard deviation ${over}`]),
    data: {
      values: panels.flatMap((panel) => {
        requireSome(figure, `points in panel '${panel.title}'`, panel.points.length);
        return panel.points.map((p) => {
          for (const key of ["sigma", "mean", "sd", "n"] as const) requireFinite(figure, `${key} in panel '${panel.title}'`, p[key]);
          return { panel: panel.title, sigma: p.sigma, mean: p.mean, low: p.mean - p.sd, high: p.mean + p.sd, n: p.n };
        });
      }),
    },
    facet: { column: { field: "panel", type: "nominal", sort: panels.map((p) => p.title), title: null, header: { labelFontSize: 13 } } },
    spec: {
      width: 220,
      height: 240,
      layer: [
        { mark: { type: "rule", color: "#4c78a8" }, encoding: { x, y: { field: "low", type: "quantitative", title: Y_LABEL, scale: { zero: false } }, y2: { field: "high" } } },
        { mark: { type: "line", color: "#4c78a8", opacity: 0.5 }, encoding: { x, y: mean } },
        { mark: { type: "point", filled: true, size: 40, color: "#4c78a8" }, encoding: { x, y: mean } },
      ],
    },
    // each panel its own y range, as the paper's ("compare the ranges across plots")
    resolve: { scale: { y: "independent" } },
  };
}

/** Fig 3: writes `${outBase}.svg` and `.png`. */
export async function drawMarginVsSigma(panels: MarginVsSigmaPanel[], text: FigureText & { xLabel: string }, outBase: string): Promise<Written> {
  return renderChart(marginVsSigmaSpec(panels, text), outBase);
}
