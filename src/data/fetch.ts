// `lipvae data fetch`: downloads a dataset's four official .gz files, checks
// each against its known SHA-256 and saves it atomically. Kept apart from the
// loaders because it is the only code that needs the network.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { LipvaeError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { readBytes } from "../io/idx.js";
import { datasets, defaultDataDir, fileRoles, type DatasetName } from "./catalog.js";
import { sha256Hex } from "./files.js";

export interface FetchOptions {
  /** Where to put the files (default data/<name>/ of the checkout). */
  dataDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Replaceable for tests (there is no network here). */
  fetchImpl?: typeof fetch;
  /** Per-file download time limit in ms (default 5 minutes). */
  timeoutMs?: number;
}

/** The reason a download failed, in a few words (fetch hides it in `cause`). */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === "TimeoutError" || err.name === "AbortError") return "timed out";
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${err.message}: ${cause.code}`;
  return cause?.message ? `${err.message}: ${cause.message}` : err.message;
}

/**
 * Downloads whatever official files are missing or wrong; returns the folder.
 * A failed fetch that saved nothing removes the folders it created, so that an
 * offline attempt leaves no empty data/<name>/ behind (which would look like a
 * dataset that is there).
 */
export async function fetchDataset(name: DatasetName, opts: FetchOptions = {}): Promise<string> {
  const dir = path.resolve(opts.dataDir ?? defaultDataDir(name));
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new LipvaeError(`cannot create ${dir}: ${reason(err)}`);
  }
  const saved: string[] = [];
  try {
    await fetchInto(name, dir, opts, saved);
  } catch (err) {
    if (created !== undefined && saved.length === 0) rmSync(created, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** The downloads of fetchDataset into an existing dir; `saved` collects the files written. */
async function fetchInto(name: DatasetName, dir: string, opts: FetchOptions, saved: string[]): Promise<void> {
  const info = datasets[name];
  const log = opts.log ?? (() => {});
  const get = opts.fetchImpl ?? fetch;
  for (const role of fileRoles) {
    const file = info.files[role];
    const target = path.join(dir, file.name + ".gz");
    if (existsSync(target) && sha256Hex(readBytes(target)) === file.gzSha256) {
      log(`${target}: already present and official`);
      continue;
    }
    const failures: string[] = [];
    let done = false;
    for (const mirror of info.mirrors) {
      const url = mirror + file.name + ".gz";
      log(`downloading ${url} (${(file.gzBytes / 1e6).toFixed(1)} MB)`);
      try {
        const res = await get(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 300_000) });
        if (!res.ok) {
          failures.push(`${url}: HTTP ${res.status}`);
          continue;
        }
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (sha256Hex(bytes) !== file.gzSha256) {
          failures.push(`${url}: the download is not the official file (${bytes.length} bytes, wrong SHA-256)`);
          continue;
        }
        writeFileAtomic(target, bytes);
        saved.push(target);
        log(`saved ${target}`);
        done = true;
        break;
      } catch (err) {
        failures.push(`${url}: ${reason(err)}`);
      }
    }
    if (!done) {
      throw new LipvaeError(
        `could not download ${info.title} ${file.name}.gz (${failures.join("; ")}): check the internet connection, ` +
          `or copy the four official files into ${dir} by hand`,
      );
    }
  }
}
