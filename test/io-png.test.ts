// PNG output decodes (with pngjs, an independent decoder) to the same pixels.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import path from "node:path";
import * as zlib from "node:zlib";
import pngjs from "pngjs";
import { crc32, encodePng, unitToByte, writePng, type RasterImage } from "../src/io/png.js";
import { captionedGridSvg, tileImages, writeCaptionedGrid, writeImageGrid } from "../src/io/image-grid.js";
import { expectLipvaeError, tempDir } from "./io-util.js";

const { PNG } = pngjs;
const SEED = 7;
const { dir, cleanup } = tempDir();
test.after(cleanup);

/** Decodes with pngjs (which checks CRCs) and returns the samples without alpha. */
function decode(bytes: Uint8Array): RasterImage & { colorType: number } {
  const png = PNG.sync.read(Buffer.from(bytes));
  const meta = png as unknown as { color: boolean; colorType: number };
  const channels = meta.color ? 3 : 1;
  const data = new Uint8Array(png.width * png.height * channels);
  for (let p = 0; p < png.width * png.height; p++) for (let c = 0; c < channels; c++) data[p * channels + c] = png.data[p * 4 + c]!;
  return { width: png.width, height: png.height, channels, data, colorType: meta.colorType };
}

const imageArb = fc
  .record({ width: fc.integer({ min: 1, max: 40 }), height: fc.integer({ min: 1, max: 40 }), channels: fc.constantFrom<1 | 3>(1, 3) })
  .chain(({ width, height, channels }) =>
    fc.uint8Array({ minLength: width * height * channels, maxLength: width * height * channels }).map((data) => ({ width, height, channels, data })),
  );

test("grayscale and RGB PNGs decode to the same pixels (fast-check, fixed seed)", () => {
  fc.assert(
    fc.property(imageArb, (img) => {
      const back = decode(encodePng(img));
      assert.equal([back.width, back.height, back.channels, back.colorType], [img.width, img.height, img.channels, img.channels === 1 ? 0 : 2]);
      assert.equal(Array.from(back.data), Array.from(img.data));
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test("crc32 matches zlib's", () => {
  const z = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
  const bytes = new TextEncoder().encode("The quick brown fox jumps over the lazy dog");
  assert.is(crc32(bytes), 0x414fa339); // the well-known CRC-32 of this sentence
  if (z) assert.is(crc32(bytes), z(bytes));
});

test("bad sizes are refused", () => {
  expectLipvaeError(() => encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(3) }), "2×2×1 needs 4 bytes, got 3");
  expectLipvaeError(() => encodePng({ width: 0, height: 2, channels: 1, data: new Uint8Array(0) }), "invalid size 0×2");
});

test("unitToByte rounds and clamps", () => {
  assert.equal([0, 1, 0.5, 1 / 255, -3, 7, NaN, 0.999].map(unitToByte), [0, 255, 128, 1, 0, 255, 0, 255]);
});

test("a grid tiles each 28×28 image in its cell, with gaps", () => {
  const count = 5, size = 784;
  const images = Float32Array.from({ length: count * size }, (_, i) => ((i * 7919) % 256) / 255);
  const file = path.join(dir, "grid.png");
  writeImageGrid(file, images, { columns: 3, gap: 2 });
  const png = decode(readFileSync(file));
  assert.equal([png.width, png.height, png.channels], [3 * 28 + 4 * 2, 2 * 28 + 3 * 2, 1]);
  for (let k = 0; k < count; k++) {
    const x0 = 2 + (k % 3) * 30, y0 = 2 + Math.floor(k / 3) * 30;
    for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) {
      assert.is(png.data[(y0 + r) * png.width + x0 + c], Math.round(images[k * size + r * 28 + c]! * 255));
    }
  }
  assert.is(png.data[0], 128); // gap gray
  assert.is(png.data[(png.height - 1) * png.width + png.width - 1], 128); // the empty sixth cell is gap too
});

test("grid defaults: near-square layout; a bad length is refused", () => {
  const img = tileImages(new Float32Array(10 * 784));
  assert.equal([img.width, img.height], [4 * 28 + 5 * 2, 3 * 28 + 4 * 2]);
  expectLipvaeError(() => tileImages(new Float32Array(785)), "785 values is not a whole, non-zero number of 28×28 images");
  writePng(path.join(dir, "rgb.png"), { width: 1, height: 1, channels: 3, data: Uint8Array.of(1, 2, 3) });
  assert.equal(Array.from(decode(readFileSync(path.join(dir, "rgb.png"))).data), [1, 2, 3]);
});

test("a captioned grid: title, column and row labels in a band around the unchanged grid", () => {
  const count = 5, size = 784;
  const images = Float32Array.from({ length: count * size }, (_, i) => ((i * 7919) % 256) / 255);
  const opts = { columns: 3, scale: 2 };
  const caption = {
    title: "Latent-space attack, ‖δ‖ ≤ 3",
    notes: ["model <a&b>; seed 0"],
    columns: ["x", "recon(x)", "x+δ"],
    rows: [["image 0 → 1", "‖δ‖ = 2.998"], ["image 3"]],
  };
  const bare = tileImages(images, opts);
  const { svg, layout } = captionedGridSvg(images, opts, caption);
  // the intermediate SVG carries the text (escaped) and the bare grid as a PNG
  for (const text of ["Latent-space attack, ‖δ‖ ≤ 3", "model &lt;a&amp;b&gt;; seed 0", ">recon(x)<", ">x+δ<", ">image 0 → 1<", ">‖δ‖ = 2.998<", ">image 3<"]) {
    assert.ok(svg.includes(text), `the SVG contains ${text}`);
  }
  assert.ok(svg.includes(`data:image/png;base64,${Buffer.from(encodePng(bare)).toString("base64")}`));

  const file = path.join(dir, "captioned.png");
  assert.equal(writeCaptionedGrid(file, images, opts, caption), layout);
  const png = PNG.sync.read(readFileSync(file));
  assert.equal([png.width, png.height], [layout.width, layout.height]);
  // the caption is a band above (title, notes, column labels) and one to the left (row labels)
  assert.ok(layout.gridY >= 50 && layout.gridX >= 60, JSON.stringify(layout));
  assert.is(png.height, bare.height + layout.gridY);
  assert.is(png.width, bare.width + layout.gridX);
  // every grid pixel is the bare grid's, grey in RGB
  let differ = 0;
  for (let y = 0; y < bare.height; y++) for (let x = 0; x < bare.width; x++) {
    const at = ((y + layout.gridY) * png.width + x + layout.gridX) * 4, want = bare.data[y * bare.width + x];
    if (png.data[at] !== want || png.data[at + 1] !== want || png.data[at + 2] !== want) differ++;
  }
  assert.is(differ, 0, "grid pixels unchanged");
  // text was drawn (a font was found): dark pixels in both bands, none in their empty corners
  const dark = (x0: number, x1: number, y0: number, y1: number) => {
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (png.data[(y * png.width + x) * 4] < 100) n++;
    return n;
  };
  assert.ok(dark(0, png.width, 0, 20) > 100, "the title");
  assert.ok(dark(layout.gridX, png.width, layout.gridY - 18, layout.gridY) > 20, "the column labels");
  assert.ok(dark(0, layout.gridX, layout.gridY, png.height) > 100, "the row labels");
  assert.is(dark(0, 4, 0, png.height) + dark(0, png.width, 0, 3), 0, "white margins");

  // no row labels: no left band; a long title widens the figure instead of being cut
  const plain = captionedGridSvg(images, opts, { title: "t" }).layout;
  assert.equal([plain.gridX, plain.width, plain.height - plain.gridY], [0, bare.width, bare.height]);
  const wide = captionedGridSvg(images, opts, { title: "a title much longer than the small grid it sits above" }).layout;
  assert.ok(wide.width > bare.width && wide.gridX === 0);
  expectLipvaeError(() => captionedGridSvg(images, opts, { title: "t", columns: ["x", "y"] }), "2 column labels for 3 columns");
  expectLipvaeError(() => captionedGridSvg(images, opts, { title: "t", rows: [["a"]] }), "1 row labels for 2 rows");
});

test.run();
