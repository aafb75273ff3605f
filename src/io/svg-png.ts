// SVG → PNG with resvg (Rust, via @resvg/resvg-js), using the DejaVu fonts
// the machine ships so that text renders the same everywhere.
import { existsSync } from "node:fs";
import { Resvg } from "@resvg/resvg-js";

const FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu"].filter((dir) => existsSync(dir));

/** Renders an SVG document to PNG bytes, `scale` device pixels per SVG unit. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const renderer = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: scale },
    font: {
      fontDirs: FONT_DIRS,
      loadSystemFonts: FONT_DIRS.length === 0,
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
    },
  });
  return renderer.render().asPng();
}
