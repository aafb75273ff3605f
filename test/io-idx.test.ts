// IDX reader: round trips on small generated files, and every corruption gives
// a one-line LipvaeError that names the file and says expected vs found.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import {
  encodeIdxImages, encodeIdxLabels, parseIdxImages, parseIdxLabels, readIdxImages, readIdxLabels,
} from "../src/io/idx.js";
import { expectLipvaeError, tempDir } from "./io-util.js";

const { dir, cleanup } = tempDir();
test.after(cleanup);

// 7 images of 5×4 and labels, deterministic bytes.
const count = 7, rows = 5, cols = 4;
const pixels = Uint8Array.from({ length: count * rows * cols }, (_, i) => (i * 37 + 11) % 256);
const labels = Uint8Array.from({ length: count }, (_, i) => (i * 3) % 10);
const imageBytes = encodeIdxImages({ count, rows, cols, pixels });
const labelBytes = encodeIdxLabels({ count, labels });

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

test("plain and gzipped files round-trip", () => {
  for (const [suffix, pack] of [["", (b: Uint8Array) => b], [".gz", (b: Uint8Array) => gzipSync(b)]] as const) {
    const img = readIdxImages(write(`imgs${suffix}`, pack(imageBytes)), { count, rows, cols });
    assert.equal([img.count, img.rows, img.cols], [count, rows, cols]);
    assert.equal(Array.from(img.pixels), Array.from(pixels));
    const lab = readIdxLabels(write(`labels${suffix}`, pack(labelBytes)), { count });
    assert.equal(Array.from(lab.labels), Array.from(labels));
  }
});

test("the header layout is the official one (big-endian magic and sizes)", () => {
  assert.equal(Array.from(imageBytes.subarray(0, 16)), [0, 0, 8, 3, 0, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 4]);
  assert.equal(Array.from(labelBytes.subarray(0, 8)), [0, 0, 8, 1, 0, 0, 0, 7]);
});

test("bad magic: names the file, expected and found, and spots swapped files", () => {
  const file = write("swapped", labelBytes);
  expectLipvaeError(() => readIdxImages(file), file, "bad magic number", "expected 2051", "found 2049", "swapped");
  const bad = imageBytes.slice();
  bad[3] = 4; // 4 dimensions
  expectLipvaeError(() => parseIdxImages(bad, "x.idx"), "x.idx: bad magic number", "expected 2051", "found 2052");
  const text = new TextEncoder().encode("this is not an idx file at all");
  expectLipvaeError(() => parseIdxLabels(text, "notes.txt"), "notes.txt", "expected 2049", "not an IDX file");
});

test("a file shorter than the header", () => {
  expectLipvaeError(() => parseIdxImages(imageBytes.subarray(0, 10), "short"), "short: file is 10 bytes", "16-byte IDX header");
  expectLipvaeError(() => parseIdxLabels(new Uint8Array(0), "empty"), "empty: file is 0 bytes", "8-byte");
});

test("truncated payload and extra bytes", () => {
  const file = write("truncated.gz", gzipSync(imageBytes.subarray(0, imageBytes.length - 3)));
  expectLipvaeError(() => readIdxImages(file), file, "payload length", "7 images of 5×4 = 140 bytes", "found 137", "truncated");
  expectLipvaeError(() => parseIdxLabels(labelBytes.subarray(0, 12), "lab"), "lab: payload length", "= 7 bytes", "found 4", "truncated");
  const long = new Uint8Array(labelBytes.length + 2);
  long.set(labelBytes);
  expectLipvaeError(() => parseIdxLabels(long, "lab"), "found 9", "2 extra bytes at the end");
});

test("wrong dimensions or count", () => {
  expectLipvaeError(() => parseIdxImages(imageBytes, "imgs", { rows: 28, cols: 28 }), "imgs: wrong image dimensions", "expected 28×28", "says 5×4");
  expectLipvaeError(() => parseIdxImages(imageBytes, "imgs", { count: 60000 }), "wrong number of images", "expected 60000", "says 7");
  expectLipvaeError(() => parseIdxLabels(labelBytes, "lab", { count: 10000 }), "wrong number of labels", "expected 10000", "says 7");
});

test("label out of range: says which label and where", () => {
  const bad = labelBytes.slice();
  bad[8 + 5] = 12;
  const file = write("badlabel.gz", gzipSync(bad));
  expectLipvaeError(() => readIdxLabels(file), file, "label 12 at index 5 is out of range", "0..9");
  assert.is(parseIdxLabels(bad, "x", { classes: 13 }).labels[5], 12);
});

test("bad gzip: truncated, corrupt CRC, garbage after the magic", () => {
  const gz = gzipSync(imageBytes);
  const truncated = write("cut.gz", gz.subarray(0, gz.length - 20));
  expectLipvaeError(() => readIdxImages(truncated), truncated, "cannot decompress the gzip data", "unexpected end of file", "download it again");
  const badCrc = Buffer.from(gz);
  badCrc[badCrc.length - 6] ^= 1;
  expectLipvaeError(() => parseIdxImages(badCrc, "crc.gz"), "crc.gz: cannot decompress", "incorrect data check");
  const garbage = Uint8Array.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  expectLipvaeError(() => parseIdxLabels(garbage, "junk.gz"), "junk.gz: cannot decompress");
});

test("a missing file", () => {
  const file = path.join(dir, "nope.gz");
  expectLipvaeError(() => readIdxImages(file), file, "no such file");
});

test.run();
