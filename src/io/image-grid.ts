// Tiles a batch of small grayscale images (floats in [0,1], e.g. MNIST
// reconstructions or prior samples) into one PNG, like torchvision's make_grid.
import { LipvaeError } from "../errors.js";
import { type RasterImage, unitToByte, writePng } from "./png.js";

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
  const columns = Math.max(1, Math.min(count, opts.columns ?? Math.ceil(Math.sqrt(count))));
  const gridRows = Math.ceil(count / columns);
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
