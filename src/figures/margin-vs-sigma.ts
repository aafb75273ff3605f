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

// Short enough to fit beside a panel: a longer axis title stretches the layout.
const Y_LABEL = "estimated margin R̂ (‖δ‖₂)";

export function marginVsSigmaSpec(panels: MarginVsSigmaPanel[], text: FigureText & { xLabel: string }): TopLevelSpec {
  const figure = "margin vs sigma";
  requireSome(figure, "panels", panels.length);
  const x = { field: "sigma", type: "quantitative" as const, title: text.xLabel, scale: { zero: false, padding: 12 } };
  const mean = { field: "mean", type: "quantitative" as const };
  const counts = new Set(panels.flatMap((panel) => panel.points.map((p) => p.n)));
  const over = counts.size === 1 ? `over ${[...counts][0]} images` : "over images";
  const frame = chartFrame(text, [`points: mean ${over}; error bars: ± one standard deviation ${over}`]);
  return {
    ...frame,
    // end labels inside the axis, so no panel's title is pushed up by a label at its top edge
    config: { ...frame.config, axisY: { labelFlush: true } },
    // a concatenation, not a facet: each panel keeps its own y range
    hconcat: panels.map((panel, i) => {
      requireSome(figure, `points in panel '${panel.title}'`, panel.points.length);
      const values = panel.points.map((p) => {
        for (const key of ["sigma", "mean", "sd", "n"] as const) requireFinite(figure, `${key} in panel '${panel.title}'`, p[key]);
        return { sigma: p.sigma, mean: p.mean, low: p.mean - p.sd, high: p.mean + p.sd, n: p.n };
      });
      const y = { field: "low", type: "quantitative" as const, title: i === 0 ? Y_LABEL : null, scale: { zero: false } };
      return {
        title: { text: panel.title, fontSize: 13, fontWeight: "normal" as const },
        width: 220,
        height: 240,
        data: { values },
        layer: [
          { mark: { type: "rule" as const, color: "#4c78a8" }, encoding: { x, y, y2: { field: "high" } } },
          { mark: { type: "line" as const, color: "#4c78a8", opacity: 0.5 }, encoding: { x, y: mean } },
          { mark: { type: "point" as const, filled: true, size: 40, color: "#4c78a8" }, encoding: { x, y: mean } },
        ],
      };
    }),
  };
}

/** Fig 3: writes `${outBase}.svg` and `.png`. */
export async function drawMarginVsSigma(panels: MarginVsSigmaPanel[], text: FigureText & { xLabel: string }, outBase: string): Promise<Written> {
  return renderChart(marginVsSigmaSpec(panels, text), outBase);
}
