// Atomic file writes: write a temporary file in the same directory, fsync it,
// then rename it over the target. rename() within one file system is atomic, so
// a reader (or the next run after a crash or Ctrl-C) sees either the old file
// or the complete new one, never a torn one. Synchronous on purpose: a SIGINT
// handler cannot run in the middle of it.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";

/** Writes all of data to fd (writeSync may write less than asked). */
export function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone: nothing to clean up
  }
}

/** fsync the directory so the rename itself survives a power cut (not possible on every platform). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Windows cannot open directories; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Atomically replaces file with whatever `write` writes to the given file
 * descriptor. If `write` throws, the temporary file is removed, the old file is
 * left untouched and the error is rethrown.
 */
export function writeAtomicWith(file: string, write: (fd: number) => void): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  // Hidden, unique, and ending in .tmp (ignored by git) in case a crash leaves it behind.
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", 0o644);
  try {
    write(fd);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    removeQuietly(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, target);
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
  syncDir(dir);
}

/** Atomically replaces file with data (strings are written as UTF-8). */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  writeAtomicWith(file, (fd) => writeAll(fd, bytes));
}

/** Atomically writes value as pretty-printed JSON with a final newline. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}
