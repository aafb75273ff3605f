// Fashion-MNIST is not shipped: it loads from a --data-dir (here the shared
// copy beside the checkout) and its absence gives an error naming the fix.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { defaultDataDir } from "../src/data/catalog.js";
import { loadDataset } from "../src/data/datasets.js";
import { officialFingerprint } from "../src/data/files.js";
import { expectLipvaeError } from "./io-util.js";

const shared = path.join(projectRoot, "..", "shared", "data", "fashion-mnist");

test("loads from --data-dir with the official checksums and the reference split", () => {
  if (!existsSync(shared)) {
    console.log(`  (skipped: ${shared} is absent)`);
    return;
  }
  const d = loadDataset("fashion-mnist", { dataDir: shared });
  assert.ok(d.official);
  assert.is(d.fingerprint, officialFingerprint("fashion-mnist"));
  assert.is.not(d.fingerprint, officialFingerprint("mnist"));
  assert.equal([d.train.count, d.validation.count, d.test.count], [54000, 6000, 10000]);
  assert.equal(Array.from(d.train.labels.subarray(0, 5)), [9, 0, 0, 3, 0]);
  const perClass = new Array(10).fill(0);
  for (const l of d.test.labels) perClass[l]++;
  assert.equal(perClass, new Array(10).fill(1000));
  let min = Infinity, max = -Infinity;
  for (const v of d.test.images) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.equal([min, max], [0, 1]);
});

test("without --data-dir: says it is not shipped and how to get it", () => {
  if (existsSync(defaultDataDir("fashion-mnist"))) {
    console.log("  (skipped: data/fashion-mnist/ exists in this checkout)");
    return;
  }
  expectLipvaeError(() => loadDataset("fashion-mnist"), "Fashion-MNIST is not shipped with lipvae", "lipvae data fetch fashion-mnist", "--data-dir");
});

test.run();
