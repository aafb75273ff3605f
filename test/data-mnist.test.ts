// The shipped MNIST: official files, the reference split (docs/reference-code.md, 'Data'),
// byte/255 pixels, and clear errors for missing or modified files.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, symlinkSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { projectRoot } from "../src/paths.js";
import { datasets, fileRoles } from "../src/data/catalog.js";
import { loadDataset, takeFirst } from "../src/data/datasets.js";
import { officialFingerprint, readDataFile, resolveDataDir, sha256Hex } from "../src/data/files.js";
import { expectLipvaeError, tempDir } from "./io-util.js";

const shipped = path.join(projectRoot, "data", "mnist");
const raw = (file: string) => gunzipSync(readFileSync(path.join(shipped, file)));
const { dir: tmp, cleanup } = tempDir();
test.after(cleanup);

const mnist = loadDataset("mnist"); // default dir, checksums verified

test("projectRoot is the checkout (dist/src/paths.js resolves two levels up)", () => {
  assert.ok(existsSync(path.join(projectRoot, "package.json")));
  assert.is(mnist.dataDir, shipped);
});

test("the shipped .gz files are the official ones (sizes and SHA-256)", () => {
  for (const role of fileRoles) {
    const f = datasets.mnist.files[role];
    const bytes = readFileSync(path.join(shipped, f.name + ".gz"));
    assert.is(bytes.length, f.gzBytes, f.name);
    assert.is(sha256Hex(bytes), f.gzSha256, f.name);
  }
  assert.ok(mnist.official);
  assert.is(mnist.fingerprint, officialFingerprint("mnist"));
  assert.match(mnist.fingerprint, /^sha256:[0-9a-f]{64}$/);
});

// Only where a shared data directory sits beside the checkout (development machines);
// the same table is in docs/architecture.md, 'Data'.
test("the catalog agrees with the checksum table in shared/data/README.md", () => {
  const readme = path.join(projectRoot, "..", "shared", "data", "README.md");
  if (!existsSync(readme)) {
    console.log(`  (skipped: ${readme} is absent)`);
    return;
  }
  const text = readFileSync(readme, "utf8");
  for (const name of ["mnist", "fashion-mnist"] as const) {
    for (const role of fileRoles) {
      const f = datasets[name].files[role];
      assert.ok(text.includes(`| ${name}/${f.name}.gz | ${f.gzBytes} | `) && text.includes(f.gzSha256), `${name}/${f.name}`);
    }
  }
});

test("split sizes: train 54,000, validation 6,000, test 10,000", () => {
  assert.equal([mnist.train.count, mnist.validation.count, mnist.test.count], [54000, 6000, 10000]);
  assert.equal([mnist.train.images.length, mnist.validation.images.length, mnist.test.images.length], [54000 * 784, 6000 * 784, 10000 * 784]);
  assert.equal([mnist.train.labels.length, mnist.validation.labels.length, mnist.test.labels.length], [54000, 6000, 10000]);
  assert.equal([mnist.rows, mnist.cols], [28, 28]);
});

test("train is the first 54,000 official images, validation the last 6,000, in order", () => {
  const images = raw("train-images-idx3-ubyte.gz").subarray(16);
  const labels = raw("train-labels-idx1-ubyte.gz").subarray(8);
  for (const [s, offset] of [[mnist.train, 0], [mnist.validation, 54000]] as const) {
    for (const k of [0, 1, s.count - 1]) {
      assert.is(s.labels[k], labels[offset + k]);
      for (let p = 0; p < 784; p++) assert.is(s.images[k * 784 + p], Math.fround(images[(offset + k) * 784 + p]! / 255));
    }
  }
  assert.equal(Array.from(mnist.train.labels.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  assert.equal(Array.from(mnist.test.labels.subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  const perClass = new Array(10).fill(0);
  for (const l of mnist.test.labels) perClass[l]++;
  assert.equal(perClass, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
});

test("pixels are byte/255 in float32, within [0,1], not binarised", () => {
  const levels = new Set<number>();
  for (const s of [mnist.train, mnist.validation, mnist.test]) {
    for (let i = 0; i < s.images.length; i += 97) levels.add(s.images[i]!);
  }
  for (const v of levels) {
    assert.ok(v >= 0 && v <= 1);
    assert.is(v, Math.fround(Math.round(v * 255) / 255));
  }
  assert.ok(levels.has(0) && levels.has(1) && levels.size > 100, `${levels.size} grey levels`);
});

test("takeFirst gives views of the first n items", () => {
  const v = takeFirst(mnist.validation, 3);
  assert.is(v.count, 3);
  assert.is(v.images.buffer, mnist.validation.images.buffer);
  assert.equal(Array.from(v.labels), Array.from(mnist.validation.labels.subarray(0, 3)));
});

// A folder like data/mnist but with one training label changed.
function modifiedCopy(): string {
  const dir = path.join(tmp, "modified");
  mkdirSync(dir);
  for (const role of ["train-images", "test-images", "test-labels"] as const) {
    const name = datasets.mnist.files[role].name + ".gz";
    symlinkSync(path.join(shipped, name), path.join(dir, name));
  }
  const labels = raw("train-labels-idx1-ubyte.gz");
  labels[8 + 3] = (labels[8 + 3]! + 1) % 10;
  writeFileSync(path.join(dir, "train-labels-idx1-ubyte.gz"), gzipSync(labels));
  return dir;
}

test("a modified file: checksum error naming the file and the fix; accepted with verifyChecksums false", () => {
  const dir = modifiedCopy();
  expectLipvaeError(
    () => loadDataset("mnist", { dataDir: dir }),
    path.join(dir, "train-labels-idx1-ubyte.gz"), "not the official MNIST train-labels file", "SHA-256", `lipvae data fetch mnist --data-dir ${dir}`,
  );
  const d = loadDataset("mnist", { dataDir: dir, verifyChecksums: false, limit: 100 });
  assert.not.ok(d.official);
  assert.is.not(d.fingerprint, mnist.fingerprint);
  assert.equal([d.train.count, d.trainLimit, d.validation.count, d.test.count], [100, 100, 6000, 10000]);
  assert.equal(Array.from(d.train.images.subarray(0, 100 * 784)), Array.from(mnist.train.images.subarray(0, 100 * 784)));
  assert.is(d.train.labels[3], (mnist.train.labels[3]! + 1) % 10);
});

test("train limit must be 1..54000", () => {
  for (const bad of [0, -1, 54001, 2.5]) expectLipvaeError(() => loadDataset("mnist", { limit: bad }), "train limit must be a whole number from 1 to 54000", `got ${bad}`);
});

test("missing files and folders say what is missing and how to fix it", () => {
  const partial = path.join(tmp, "partial");
  mkdirSync(partial);
  symlinkSync(path.join(shipped, "train-images-idx3-ubyte.gz"), path.join(partial, "train-images-idx3-ubyte.gz"));
  expectLipvaeError(
    () => loadDataset("mnist", { dataDir: partial }),
    `MNIST files missing from ${partial}: train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz`,
    `lipvae data fetch mnist --data-dir ${partial}`,
  );
  const empty = path.join(tmp, "empty");
  mkdirSync(empty);
  expectLipvaeError(() => loadDataset("mnist", { dataDir: empty }), `no MNIST files in ${empty}`, "train-images-idx3-ubyte.gz", "pass --data-dir DIR");
  expectLipvaeError(() => loadDataset("mnist", { dataDir: path.join(tmp, "nowhere") }), "does not exist", "lipvae data fetch mnist");
});

test("--data-dir may name the dataset folder, its parent, or a torchvision root; plain files count as official", () => {
  assert.is(resolveDataDir("mnist", path.join(projectRoot, "data")), shipped);
  const torch = path.join(tmp, "torch", "MNIST", "raw");
  mkdirSync(torch, { recursive: true });
  symlinkSync(path.join(shipped, "train-images-idx3-ubyte.gz"), path.join(torch, "train-images-idx3-ubyte.gz"));
  writeFileSync(path.join(torch, "t10k-labels-idx1-ubyte"), raw("t10k-labels-idx1-ubyte.gz")); // uncompressed
  assert.is(resolveDataDir("mnist", path.join(tmp, "torch")), torch);
  const plain = readDataFile("mnist", torch, "test-labels");
  assert.is(plain.path, path.join(torch, "t10k-labels-idx1-ubyte"));
  assert.ok(plain.official);
});

test.run();
