// Tiles a batch of small grayscale images (floats in [0,1], e.g. MNIST
// reconstructions or prior samples) into one PNG, like torchvision's make_grid,
// optionally under a caption: a title, what each column and row is. Captions
// are SVG text rendered by resvg around the unchanged grid, embedded as a PNG.
import { LipvaeError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";
import { type RasterImage, encodePng, unitToByte, writePng } from "./png.js";
import { FIGURE_FONT, escapeXml, svgToPng, textWidth } from "./svg-png.js";

/** Magnification the commands use for their image figures. */
export const FIGURE_SCALE = 3;

export interface GridOptions {
  /** Size of each image (default 28×28). */
  rows?: number;
  cols?: number;
  /** Images per grid row (default: a near-square grid). */
  columns?: number;
  /** Pixels between cells and around the edge (default 2). */
  gap?: number;
  /** Gray level of the gap in [0,1] (default 0.5: visible against both black background and white strokes). */
  gapValue?: number;
  /** Integer nearest-neighbour magnification of the whole grid (default 1); 28-pixel digits are hard to see. */
  scale?: number;
}

function gridShape(count: number, opts: GridOptions): { columns: number; gridRows: number } {
  const columns = Math.max(1, Math.min(count, opts.columns ?? Math.ceil(Math.sqrt(count))));
  return { columns, gridRows: Math.ceil(count / columns) };
}

/** Lays out images (n × rows·cols row-major floats) as a grayscale raster. */
export function tileImages(images: Float32Array, opts: GridOptions = {}): RasterImage {
  const rows = opts.rows ?? 28;
  const cols = opts.cols ?? 28;
  const gap = opts.gap ?? 2;
  const size = rows * cols;
  if (images.length === 0 || images.length % size !== 0) {
    throw new LipvaeError(`image grid: ${images.length} values is not a whole, non-zero number of ${rows}×${cols} images`);
  }
  const count = images.length / size;
  const { columns, gridRows } = gridShape(count, opts);
  const width = columns * cols + (columns + 1) * gap;
  const height = gridRows * rows + (gridRows + 1) * gap;
  const data = new Uint8Array(width * height).fill(unitToByte(opts.gapValue ?? 0.5));
  for (let k = 0; k < count; k++) {
    const x0 = gap + (k % columns) * (cols + gap);
    const y0 = gap + Math.floor(k / columns) * (rows + gap);
    for (let r = 0; r < rows; r++) {
      const src = k * size + r * cols;
      const dst = (y0 + r) * width + x0;
      for (let c = 0; c < cols; c++) data[dst + c] = unitToByte(images[src + c]!);
    }
  }
  return magnify({ width, height, channels: 1, data }, opts.scale ?? 1);
}

/** Nearest-neighbour upscaling of a grayscale raster by an integer factor. */
function magnify(img: RasterImage, scale: number): RasterImage {
  if (!Number.isInteger(scale) || scale < 1) throw new LipvaeError(`image grid: scale must be a positive whole number (got ${scale})`);
  if (scale === 1) return img;
  const width = img.width * scale, height = img.height * scale;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const src = Math.floor(y / scale) * img.width;
    for (let x = 0; x < width; x++) data[y * width + x] = img.data[src + Math.floor(x / scale)]!;
  }
  return { width, height, channels: 1, data };
}

/** Writes the grid PNG atomically. */
export function writeImageGrid(file: string, images: Float32Array, opts?: GridOptions): void {
  writePng(file, tileImages(images, opts));
}

/** What a figure's caption says. Every field but the title is optional. */
export interface GridCaption {
  /** One line above everything (bold). */
  title: string;
  /** Lines under the title: settings, how to read the figure. */
  notes?: string[];
  /** One label per grid column, centred above it. */
  columns?: string[];
  /** Per grid row, the lines drawn to its left (e.g. the image index and its ‖δ‖). */
  rows?: string[][];
}

/** Where the caption put things, in output pixels. */
export interface CaptionLayout {
  width: number;
  height: number;
  /** Top-left corner of the grid: the bands above and to the left of it. */
  gridX: number;
  gridY: number;
}

const PAD = 10;
const TITLE_SIZE = 16;
const NOTE_SIZE = 12;
const LABEL_SIZE = 13;
const LINE = 1.3; // line height as a multiple of the font size

/**
 * The captioned figure as an SVG document: the grid (tiled as tileImages
 * does, embedded as a PNG and drawn pixel for pixel) with the caption's text
 * around it. Sizes are output pixels: render at zoom 1.
 */
export function captionedGridSvg(images: Float32Array, opts: GridOptions, caption: GridCaption): { svg: string; layout: CaptionLayout } {
  const grid = tileImages(images, opts);
  const count = images.length / ((opts.rows ?? 28) * (opts.cols ?? 28));
  const { columns, gridRows } = gridShape(count, opts);
  const scale = opts.scale ?? 1, gap = (opts.gap ?? 2) * scale;
  const cellWidth = (opts.cols ?? 28) * scale, cellHeight = (opts.rows ?? 28) * scale;
  if (caption.columns && caption.columns.length !== columns) {
    throw new LipvaeError(`image grid caption: ${caption.columns.length} column labels for ${columns} columns`);
  }
  if (caption.rows && caption.rows.length !== gridRows) {
    throw new LipvaeError(`image grid caption: ${caption.rows.length} row labels for ${gridRows} rows`);
  }
  const notes = caption.notes ?? [];
  const rowLines = caption.rows ?? [];
  const labelWidth = Math.max(0, ...rowLines.flat().map((line) => textWidth(line, LABEL_SIZE)));
  const gridX = labelWidth > 0 ? Math.ceil(labelWidth) + 2 * PAD : 0;
  let y = PAD + TITLE_SIZE;
  const text: string[] = [];
  const line = (x: number, baseline: number, size: number, content: string, extra = "") =>
    text.push(`<text x="${x}" y="${baseline.toFixed(1)}" font-size="${size}"${extra}>${escapeXml(content)}</text>`);
  line(PAD, y, TITLE_SIZE, caption.title, ` font-weight="bold"`);
  for (const note of notes) {
    y += NOTE_SIZE * LINE;
    line(PAD, y, NOTE_SIZE, note, ` fill="#444"`);
  }
  if (caption.columns) {
    y += LABEL_SIZE * LINE + 4;
    caption.columns.forEach((label, k) => line(gridX + gap + k * (cellWidth + gap) + cellWidth / 2, y, LABEL_SIZE, label, ` text-anchor="middle"`));
  }
  const gridY = Math.ceil(y + PAD / 2);
  rowLines.forEach((lines, r) => {
    const middle = gridY + gap + r * (cellHeight + gap) + cellHeight / 2;
    const first = middle - ((lines.length - 1) * LABEL_SIZE * LINE) / 2 + LABEL_SIZE * 0.35;
    lines.forEach((content, i) => line(gridX - PAD, first + i * LABEL_SIZE * LINE, LABEL_SIZE, content, ` text-anchor="end"`));
  });
  const textRight = Math.max(
    textWidth(caption.title, TITLE_SIZE, "bold"),
    ...notes.map((note) => textWidth(note, NOTE_SIZE)),
  ) + 2 * PAD;
  const width = Math.max(gridX + grid.width, Math.ceil(textRight));
  const height = gridY + grid.height;
  const png = Buffer.from(encodePng(grid)).toString("base64");
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<g font-family="${FIGURE_FONT}" fill="#222">`,
    ...text,
    `</g>`,
    // optimizeSpeed: nearest neighbour, so the grid's pixels reach the PNG unchanged
    `<image x="${gridX}" y="${gridY}" width="${grid.width}" height="${grid.height}" image-rendering="optimizeSpeed" href="data:image/png;base64,${png}"/>`,
    `</svg>`,
  ].join("\n");
  return { svg, layout: { width, height, gridX, gridY } };
}

/** Writes the grid PNG with its caption atomically; returns where the grid went. */
export function writeCaptionedGrid(file: string, images: Float32Array, opts: GridOptions, caption: GridCaption): CaptionLayout {
  const { svg, layout } = captionedGridSvg(images, opts, caption);
  writeFileAtomic(file, svgToPng(svg, 1));
  return layout;
}
