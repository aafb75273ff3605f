// A report on a dataset's files for `lipvae data info`: where they are, whether
// each is present, readable and official. Never throws for a bad file; it says so.
import path from "node:path";
import { LipvaeError } from "../errors.js";
import { parseIdxImages, parseIdxLabels } from "../io/idx.js";
import { defaultDataDir, fileRoles, IMAGE_COLS, IMAGE_ROWS, type DatasetName, type FileRole } from "./catalog.js";
import { fetchHint, fingerprintOf, locateFile, readDataFile, resolveDataDir } from "./files.js";

export type FileState = "official" | "modified" | "invalid" | "missing";

export interface FileStatus {
  role: FileRole;
  /** The file found, or null when missing. */
  path: string | null;
  state: FileState;
  /** Items in the file, when it parses. */
  items?: number;
  /** Why it is invalid. */
  detail?: string;
  sha256?: string;
}

export interface DatasetStatus {
  name: DatasetName;
  dir: string;
  files: FileStatus[];
  /** Set when all four files parse. */
  fingerprint?: string;
  /** How to get good files, when some are missing, invalid or modified. */
  hint?: string;
}

function inspectFile(name: DatasetName, dir: string, role: FileRole): FileStatus {
  const file = locateFile(dir, name, role);
  if (!file) return { role, path: null, state: "missing" };
  try {
    const data = readDataFile(name, dir, role);
    const items = role.endsWith("images")
      ? parseIdxImages(data.content, file, { rows: IMAGE_ROWS, cols: IMAGE_COLS }).count
      : parseIdxLabels(data.content, file).count;
    return { role, path: file, state: data.official ? "official" : "modified", items, sha256: data.sha256 };
  } catch (err) {
    if (!(err instanceof LipvaeError)) throw err;
    return { role, path: file, state: "invalid", detail: err.message };
  }
}

export function inspectDataset(name: DatasetName, dataDir?: string): DatasetStatus {
  let dir: string;
  try {
    dir = resolveDataDir(name, dataDir);
  } catch (err) {
    if (!(err instanceof LipvaeError)) throw err;
    dir = dataDir === undefined ? defaultDataDir(name) : path.resolve(dataDir);
  }
  const files = fileRoles.map((role) => inspectFile(name, dir, role));
  const status: DatasetStatus = { name, dir, files };
  if (files.every((f) => f.sha256 !== undefined)) {
    const hashes = Object.fromEntries(files.map((f) => [f.role, f.sha256!])) as Record<FileRole, string>;
    status.fingerprint = fingerprintOf(hashes);
  }
  if (files.some((f) => f.state !== "official")) status.hint = fetchHint(name, dataDir);
  return status;
}

