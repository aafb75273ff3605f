// loadDataset: MNIST or Fashion-MNIST as the reference code sees them
// (docs/reference-code.md, 'Data'): pixels byte/255 in [0,1] with no other transform,
// train = the first 54,000 official training images, validation = the last
// 6,000, test = the official 10,000.
import { LipvaeError } from "../errors.js";
import { parseIdxImages, parseIdxLabels } from "../io/idx.js";
import {
  datasets, IMAGE_COLS, IMAGE_ROWS, IMAGE_SIZE, NUM_CLASSES, TRAIN_SIZE, VALIDATION_SIZE,
  type DatasetName, type FileRole,
} from "./catalog.js";
import { assertAllPresent, assertOfficial, fingerprintOf, readDataFile, resolveDataDir, type DataFile } from "./files.js";

export interface Split {
  count: number;
  /** count × 784 row-major, byte/255 in [0,1]. */
  images: Float32Array;
  /** count class labels in 0..9. */
  labels: Uint8Array;
}

export interface Dataset {
  name: DatasetName;
  /** The folder the files were read from. */
  dataDir: string;
  rows: number;
  cols: number;
  train: Split;
  validation: Split;
  test: Split;
  /** Content hash of the four source files (see fingerprintOf); store it with models. */
  fingerprint: string;
  /** True when all four files matched the official checksums. */
  official: boolean;
  /** The --train-limit in force, if any. */
  trainLimit?: number;
}

export interface LoadOptions {
  /** Folder with the four files; default data/<name>/ of the checkout (MNIST is shipped there). */
  dataDir?: string;
  /** Fail unless every file is the official one (default true; costs ~0.1 s of hashing per load). */
  verifyChecksums?: boolean;
  /** Keep only the first N training images (--train-limit); validation and test stay whole. */
  limit?: number;
}

// byte/255 rounded once to float32, exactly as torchvision's ToTensor (float32 division).
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, b) => b / 255);

function toUnit(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = BYTE_TO_UNIT[bytes[i]!]!;
  return out;
}

function split(pixels: Uint8Array, labels: Uint8Array, start: number, count: number): Split {
  return {
    count,
    images: toUnit(pixels.subarray(start * IMAGE_SIZE, (start + count) * IMAGE_SIZE)),
    labels: labels.slice(start, start + count),
  };
}

function checkLimit(limit: number | undefined): void {
  if (limit === undefined) return;
  if (!Number.isInteger(limit) || limit < 1 || limit > TRAIN_SIZE) {
    throw new LipvaeError(`train limit must be a whole number from 1 to ${TRAIN_SIZE} (the training split's size), got ${limit}`);
  }
}

export function loadDataset(name: DatasetName, opts: LoadOptions = {}): Dataset {
  const info = datasets[name];
  if (!info) throw new LipvaeError(`unknown dataset '${name}': choose mnist or fashion-mnist`);
  checkLimit(opts.limit);
  const verify = opts.verifyChecksums ?? true;
  const dir = resolveDataDir(name, opts.dataDir);
  assertAllPresent(name, dir, opts.dataDir);

  // Each file: structure first (a truncated file says "truncated", not just "wrong checksum"),
  // then its checksum; small files first, so a bad label file fails before the big gunzip.
  const f = info.files;
  const hashes = {} as Record<FileRole, string>;
  let official = true;
  const read = (role: FileRole) => {
    const file = readDataFile(name, dir, role, opts.dataDir);
    hashes[role] = file.sha256;
    official &&= file.official;
    return file;
  };
  const check = (file: DataFile) => {
    if (verify) assertOfficial(name, file, opts.dataDir);
  };
  const labels = (role: "train-labels" | "test-labels") => {
    const file = read(role);
    const parsed = parseIdxLabels(file.content, file.path, { count: f[role].items, classes: NUM_CLASSES });
    check(file);
    return parsed.labels;
  };
  const images = (role: "train-images" | "test-images") => {
    const file = read(role);
    const parsed = parseIdxImages(file.content, file.path, { rows: IMAGE_ROWS, cols: IMAGE_COLS, count: f[role].items });
    check(file);
    return parsed.pixels;
  };
  const trainLabels = labels("train-labels");
  const testLabels = labels("test-labels");
  const testPixels = images("test-images");
  const trainPixels = images("train-images");

  const trainCount = opts.limit ?? TRAIN_SIZE;
  return {
    name,
    dataDir: dir,
    rows: IMAGE_ROWS,
    cols: IMAGE_COLS,
    train: split(trainPixels, trainLabels, 0, trainCount),
    validation: split(trainPixels, trainLabels, TRAIN_SIZE, VALIDATION_SIZE),
    test: split(testPixels, testLabels, 0, f["test-images"].items),
    fingerprint: fingerprintOf(hashes),
    official,
    ...(opts.limit !== undefined ? { trainLimit: opts.limit } : {}),
  };
}

/** The first n items of a split (views, no copy), e.g. a smaller validation set for quick runs. */
export function takeFirst(s: Split, n: number): Split {
  const count = Math.min(n, s.count);
  return { count, images: s.images.subarray(0, count * IMAGE_SIZE), labels: s.labels.subarray(0, count) };
}
