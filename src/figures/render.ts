// The one path from a vega-lite spec to files: compile to vega, render the
// SVG headless, rasterise it with resvg, write both atomically. Every chart
// of lipvae (`lipvae plot`, `lipvae margin`, the paper's figures) goes through it.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { LipvaeError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { FIGURE_FONT, svgToPng, textWidth } from "../io/svg-png.js";
import type { FigureText, Written } from "./types.js";

export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** PNG pixels per SVG unit for charts (image figures are drawn at their own scale). */
export const CHART_PNG_SCALE = 2;

/** What every chart shares: schema, white background, the figure font, the title block. */
export function chartFrame(text: FigureText, extraSubtitle: string[] = []) {
  const subtitle = [...(text.subtitle === undefined ? [] : [text.subtitle]), ...extraSubtitle];
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: subtitle.length === 0 ? { text: text.title } : { text: text.title, subtitle },
    background: "white",
    // labels measured to the pixel (measuredWidth) would otherwise be allowed to touch
    config: { font: FIGURE_FONT, axis: { labelSeparation: 4 } },
  };
}

const widths = new Map<string, number>();

/**
 * Text width as resvg will draw it. Without a canvas, vega guesses 0.8 × font
 * size per character, far too wide for DejaVu Sans: a long subtitle or legend
 * label then leaves a wide empty band in the figure.
 */
function measuredWidth(item: { fontSize?: number; fontWeight?: string | number }, text: unknown): number {
  const line = text == null ? "" : String(text).trim();
  const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11; // vega's default size
  const weight = item.fontWeight === "bold" || Number(item.fontWeight) >= 600 ? "bold" : "normal";
  const key = `${size} ${weight} ${line}`;
  let width = widths.get(key);
  if (width === undefined) {
    // textWidth is the ink's extent; the glyphs' side bearings add about 0.15 em
    width = size > 0 && line !== "" ? textWidth(line, size, weight) + 0.15 * size : 0;
    widths.set(key, width);
  }
  return width;
}

/** Renders a vega-lite spec to an SVG string, headless. Loaded on demand: vega is large. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  // vega exports textMetrics but its typings omit it
  (vega as unknown as { textMetrics: { width: typeof measuredWidth } }).textMetrics.width = measuredWidth;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes `${outBase}.svg` and its PNG (`scale` pixels per SVG unit) atomically, creating the folder. */
export function writeSvgAndPng(svg: string, outBase: string, scale = CHART_PNG_SCALE): Written {
  mkdirSync(path.dirname(path.resolve(outBase)), { recursive: true });
  const written = { svg: `${outBase}.svg`, png: `${outBase}.png` };
  writeFileAtomic(written.svg, svg);
  writeFileAtomic(written.png, svgToPng(svg, scale));
  return written;
}

/** Renders a vega-lite spec and writes it as `${outBase}.svg` and `.png`. */
export async function renderChart(spec: TopLevelSpec, outBase: string, scale = CHART_PNG_SCALE): Promise<Written> {
  return writeSvgAndPng(await renderSvg(spec), outBase, scale);
}

/** Throws a one-line error unless x is a finite number (NaN would silently vanish from a chart). */
export function requireFinite(figure: string, what: string, x: number): void {
  if (!Number.isFinite(x)) throw new LipvaeError(`${figure}: ${what} is ${x}; every value drawn must be a finite number`);
}

/** Throws a one-line error when a figure is given nothing to draw. */
export function requireSome(figure: string, what: string, count: number): void {
  if (count === 0) throw new LipvaeError(`${figure}: no ${what} given; pass at least one`);
}
