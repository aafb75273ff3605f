// Image figures (the paper's Fig 1 max-damage panels, Fig 7 prior samples,
// Fig E.9 latent attacks): rows of 28×28 grey images with a label per row and
// optional column labels. Reuses the captioned image grid, whose SVG embeds
// the tiles as a PNG data URI, so the SVG is self-contained.
import { LipvaeError } from "../errors.js";
import { FIGURE_SCALE, captionedGridSvg } from "../io/image-grid.js";
import { requireSome, writeSvgAndPng } from "./render.js";
import type { FigureText, Written } from "./types.js";

export interface ImageRow {
  label: string;
  images: Float32Array[];
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;
/** Grey of an empty cell (a row shorter than the longest): the grid's gap colour. */
const EMPTY = 0.5;

/** The grid's SVG: rows padded with empty cells to the longest row. A row label may hold line breaks. */
export function imageRowsSvg(rows: ImageRow[], text: FigureText & { columnLabels?: string[] }): string {
  const figure = "image rows";
  requireSome(figure, "rows", rows.length);
  const columns = Math.max(...rows.map((row) => row.images.length));
  if (columns === 0) throw new LipvaeError(`${figure}: every row is empty; pass at least one image`);
  if (text.columnLabels && text.columnLabels.length !== columns) {
    throw new LipvaeError(`${figure}: ${text.columnLabels.length} column labels for ${columns} columns; give one per column`);
  }
  const all = new Float32Array(rows.length * columns * PIXELS).fill(EMPTY);
  rows.forEach((row, r) => row.images.forEach((image, c) => {
    if (image.length !== PIXELS) {
      throw new LipvaeError(`${figure}: image ${c} of row '${row.label}' has ${image.length} values; images are ${SIDE}×${SIDE} = ${PIXELS} floats`);
    }
    if (image.some((v) => Number.isNaN(v))) throw new LipvaeError(`${figure}: image ${c} of row '${row.label}' contains NaN`);
    all.set(image, (r * columns + c) * PIXELS);
  }));
  const { svg } = captionedGridSvg(all, { columns, scale: FIGURE_SCALE }, {
    title: text.title,
    notes: text.subtitle === undefined ? [] : [text.subtitle],
    columns: text.columnLabels,
    rows: rows.map((row) => row.label.split("\n")),
  });
  return svg;
}

/** Writes `${outBase}.svg` and `.png` (the SVG is drawn in output pixels, so the PNG is at zoom 1). */
export async function drawImageRows(rows: ImageRow[], text: FigureText & { columnLabels?: string[] }, outBase: string): Promise<Written> {
  return writeSvgAndPng(imageRowsSvg(rows, text), outBase, 1);
}
