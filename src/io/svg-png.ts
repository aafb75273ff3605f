// SVG → PNG with resvg (Rust, via @resvg/resvg-js), using the DejaVu fonts
// the machine ships so that text renders the same everywhere.
import { existsSync } from "node:fs";
import { Resvg, type ResvgRenderOptions } from "@resvg/resvg-js";

const FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu"].filter((dir) => existsSync(dir));

/** The font family every lipvae figure names. */
export const FIGURE_FONT = "DejaVu Sans";

const FONT: ResvgRenderOptions["font"] = {
  fontDirs: FONT_DIRS,
  loadSystemFonts: FONT_DIRS.length === 0,
  defaultFontFamily: FIGURE_FONT,
  sansSerifFamily: FIGURE_FONT,
};

/** Renders an SVG document to PNG bytes, `scale` device pixels per SVG unit. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const renderer = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: scale },
    font: FONT,
  });
  return renderer.render().asPng();
}

/** Escapes text for SVG character data and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * Width in SVG units of one line of text as resvg lays it out with the fonts
 * above (the ink's bounding box; 0 for blank text). Lets a figure size its
 * margins for its labels instead of guessing from the character count.
 */
export function textWidth(text: string, fontSize: number, fontWeight: "normal" | "bold" = "normal"): number {
  if (text.trim() === "") return 0;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text x="0" y="${fontSize}" ` +
    `font-family="${FIGURE_FONT}" font-size="${fontSize}" font-weight="${fontWeight}">${escapeXml(text)}</text></svg>`;
  return new Resvg(svg, { font: FONT }).getBBox()?.width ?? 0;
}
