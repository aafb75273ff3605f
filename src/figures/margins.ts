// The paper's Fig 5: estimated margins per model (left, histograms) and the
// trade-off between reconstruction and robustness (right, one point per model).
import type { TopLevelSpec } from "vega-lite";
import { chartFrame, renderChart, requireFinite, requireSome } from "./render.js";
import type { FigureText, Written } from "./types.js";

export interface HistogramOptions {
  /** Bin width and range (e.g. Algorithm 2's grid step α and [0, max R]); default: about 20 bins. */
  bin?: { step: number; extent?: [number, number] };
  /** x-axis title (default "estimated margin R̂ (‖δ‖₂)"). */
  xLabel?: string;
}

/** Overlaid histograms of estimated margins, one colour per model. */
export function marginHistogramSpec(models: { label: string; margins: number[] }[], text: FigureText & HistogramOptions): TopLevelSpec {
  const figure = "margin histogram";
  requireSome(figure, "models", models.length);
  const values = models.flatMap((m) => m.margins.map((margin) => {
    requireFinite(figure, `a margin of ${m.label}`, margin);
    return { model: m.label, margin };
  }));
  const bin = text.bin === undefined ? { maxbins: 20 } : { step: text.bin.step, ...(text.bin.extent ? { extent: text.bin.extent } : {}) };
  return {
    ...chartFrame(text),
    width: 480,
    height: 280,
    data: { values },
    mark: { type: "bar", opacity: 0.7, binSpacing: 1 },
    encoding: {
      x: { field: "margin", type: "quantitative", bin, title: text.xLabel ?? "estimated margin R̂ (‖δ‖₂)" },
      y: { aggregate: "count", type: "quantitative", title: "images", stack: null },
      color: { field: "model", type: "nominal", title: null, sort: models.map((m) => m.label), legend: { orient: "top-right", labelLimit: 0 } },
    },
  };
}

/** Fig 5 left: writes `${outBase}.svg` and `.png`. */
export async function drawMarginHistograms(
  models: { label: string; margins: number[] }[],
  text: FigureText & HistogramOptions,
  outBase: string,
): Promise<Written> {
  return renderChart(marginHistogramSpec(models, text), outBase);
}

/** Mean test log-likelihood against mean estimated margin, each point labelled with its model. */
export function likelihoodVsMarginSpec(
  points: { label: string; meanMargin: number; logLikelihood: number }[],
  text: FigureText,
): TopLevelSpec {
  const figure = "log-likelihood vs margin";
  requireSome(figure, "models", points.length);
  for (const p of points) {
    requireFinite(figure, `the mean margin of ${p.label}`, p.meanMargin);
    requireFinite(figure, `the log-likelihood of ${p.label}`, p.logLikelihood);
  }
  const x = { field: "meanMargin", type: "quantitative", title: "mean estimated margin R̂ (‖δ‖₂)", scale: { zero: false, padding: 30 } } as const;
  const y = { field: "logLikelihood", type: "quantitative", title: "mean test log-likelihood (nats per image)", scale: { zero: false, padding: 20 } } as const;
  return {
    ...chartFrame(text),
    width: 420,
    height: 300,
    data: { values: points },
    layer: [
      { mark: { type: "point", filled: true, size: 70, color: "#4c78a8" }, encoding: { x, y } },
      { mark: { type: "text", align: "left", dx: 7, dy: -7, fontSize: 11 }, encoding: { x, y, text: { field: "label" } } },
    ],
  };
}

/** Fig 5 right: writes `${outBase}.svg` and `.png`. */
export async function drawLikelihoodVsMargin(
  points: { label: string; meanMargin: number; logLikelihood: number }[],
  text: FigureText,
  outBase: string,
): Promise<Written> {
  return renderChart(likelihoodVsMarginSpec(points, text), outBase);
}
