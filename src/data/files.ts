// Finding a dataset's four IDX files on disk, reading them (gzipped or plain)
// and checking them against the official checksums, with errors that say which
// file is wrong and how to get a good one.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { LipvaeError } from "../errors.js";
import { gunzipIfNeeded, readBytes } from "../io/idx.js";
import { datasets, defaultDataDir, fileRoles, type DatasetName, type FileRole } from "./catalog.js";

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The folders --data-dir may mean: the dataset folder itself, its parent, or a torchvision root. */
function candidateDirs(name: DatasetName, dataDir: string): string[] {
  const info = datasets[name];
  return [dataDir, path.join(dataDir, name), path.join(dataDir, info.torchvisionFolder, "raw")];
}

/** The .gz file if present, else the uncompressed one, else null. */
export function locateFile(dir: string, name: DatasetName, role: FileRole): string | null {
  const base = path.join(dir, datasets[name].files[role].name);
  for (const file of [base + ".gz", base]) {
    if (existsSync(file) && statSync(file).isFile()) return file;
  }
  return null;
}

/** How to get good files: named in every missing- or wrong-file error. */
export function fetchHint(name: DatasetName, dataDir?: string): string {
  const fetch = `\`lipvae data fetch ${name}${dataDir ? ` --data-dir ${dataDir}` : ""}\``;
  if (name === "mnist" && !dataDir) {
    return `MNIST ships in data/mnist/ of the lipvae checkout: restore it with \`git checkout -- data/mnist\`, run ${fetch}, or pass --data-dir DIR`;
  }
  return `run ${fetch}, or pass --data-dir DIR naming a folder with the four official files`;
}

/**
 * The folder that holds the dataset's files: dataDir (or one of the layouts
 * under it), or data/<name>/ of the checkout when dataDir is not given.
 */
export function resolveDataDir(name: DatasetName, dataDir?: string): string {
  const title = datasets[name].title;
  if (dataDir === undefined) {
    const dir = defaultDataDir(name);
    if (locateFile(dir, name, "train-images")) return dir;
    const notShipped = datasets[name].shipped ? "" : `${title} is not shipped with lipvae; `;
    throw new LipvaeError(`${notShipped}no ${title} files in ${dir}: ${fetchHint(name)}`);
  }
  const root = path.resolve(dataDir);
  if (!existsSync(root)) throw new LipvaeError(`data directory ${root} does not exist: ${fetchHint(name, dataDir)}`);
  for (const dir of candidateDirs(name, root)) {
    if (locateFile(dir, name, "train-images")) return dir;
  }
  const file = datasets[name].files["train-images"].name;
  throw new LipvaeError(`no ${title} files in ${root} (looked for ${file}.gz or ${file}): ${fetchHint(name, dataDir)}`);
}

/** Fails, naming every missing file at once, unless all four files are in dir. */
export function assertAllPresent(name: DatasetName, dir: string, dataDir?: string): void {
  const missing = fileRoles.filter((role) => !locateFile(dir, name, role)).map((role) => datasets[name].files[role].name + ".gz");
  if (missing.length > 0) {
    throw new LipvaeError(`${datasets[name].title} file${missing.length > 1 ? "s" : ""} missing from ${dir}: ${missing.join(", ")}: ${fetchHint(name, dataDir)}`);
  }
}

export interface DataFile {
  role: FileRole;
  path: string;
  /** Decompressed IDX bytes. */
  content: Uint8Array;
  /** SHA-256 of the decompressed content. */
  sha256: string;
  official: boolean;
}

/** Reads one of the dataset's files from dir and hashes its decompressed content. */
export function readDataFile(name: DatasetName, dir: string, role: FileRole, dataDir?: string): DataFile {
  const file = locateFile(dir, name, role);
  if (!file) {
    const want = datasets[name].files[role].name;
    throw new LipvaeError(`${datasets[name].title} file ${want}.gz (or ${want}) is missing from ${dir}: ${fetchHint(name, dataDir)}`);
  }
  const content = gunzipIfNeeded(readBytes(file), file);
  const sha256 = sha256Hex(content);
  return { role, path: file, content, sha256, official: sha256 === datasets[name].files[role].sha256 };
}

/** Throws unless the file is the official one. */
export function assertOfficial(name: DatasetName, file: DataFile, dataDir?: string): void {
  if (file.official) return;
  const want = datasets[name].files[file.role].sha256;
  throw new LipvaeError(
    `${file.path}: not the official ${datasets[name].title} ${file.role} file (SHA-256 of its content is ${file.sha256.slice(0, 16)}…, ` +
      `expected ${want.slice(0, 16)}…): the file is corrupt or modified; ${fetchHint(name, dataDir)}`,
  );
}

/**
 * Fingerprint of a dataset's content: SHA-256 over the four files' content
 * hashes, so it does not depend on gzip or on where the files live.
 */
export function fingerprintOf(contentHashes: Record<FileRole, string>): string {
  return "sha256:" + sha256Hex(fileRoles.map((role) => `${role} ${contentHashes[role]}\n`).join(""));
}

/** The fingerprint of the official files of a dataset. */
export function officialFingerprint(name: DatasetName): string {
  const files = datasets[name].files;
  return fingerprintOf({
    "train-images": files["train-images"].sha256,
    "train-labels": files["train-labels"].sha256,
    "test-images": files["test-images"].sha256,
    "test-labels": files["test-labels"].sha256,
  });
}
