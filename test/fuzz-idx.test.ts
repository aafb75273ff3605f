// Gzipped IDX files decompress only as much as their header promises: a gzip
// bomb behind a small header, or a header promising more than the compressed
// file can hold, is refused without inflating it.
import { test } from "uvu";
import { gzipSync } from "node:zlib";
import { encodeIdxImages, encodeIdxLabels, parseIdxImages, parseIdxLabels } from "../src/io/idx.js";
import { expectLipvaeError } from "./io-util.js";

const images = encodeIdxImages({ count: 2, rows: 3, cols: 3, pixels: new Uint8Array(18).fill(7) });

test("a gzip bomb behind a small IDX header is refused at the promised size", () => {
  const bomb = new Uint8Array(32 * 1024 * 1024);
  bomb.set(images.subarray(0, 16)); // promises 18 pixels, then 32 MB of zeros
  expectLipvaeError(() => parseIdxImages(gzipSync(bomb), "bomb.gz"), "bomb.gz", "decompresses to more than 35 bytes");
});

test("an IDX header promising more than its gzip file can hold is refused before decompressing", () => {
  const labels = encodeIdxLabels({ count: 3, labels: Uint8Array.from([1, 2, 3]) });
  new DataView(labels.buffer).setUint32(4, 2 ** 32 - 1, false);
  expectLipvaeError(() => parseIdxLabels(gzipSync(labels), "labels.gz"), "labels.gz", "the header promises 4294967303 bytes", "gzip file can hold");
});

test("gzipped IDX files that keep their promise still parse", () => {
  const parsed = parseIdxImages(gzipSync(images), "ok.gz", { count: 2, rows: 3, cols: 3 });
  if (parsed.pixels.length !== 18 || parsed.pixels[17] !== 7) throw new Error("wrong pixels");
});

test.run();
