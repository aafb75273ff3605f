// Atomic file writes: write a temporary file in the same directory, fsync it,
// then rename it over the target. rename() within one file system is atomic, so
// a reader (or the next run after a crash or Ctrl-C) sees either the old file
// or the complete new one, never a torn one. Synchronous on purpose: a SIGINT
// handler cannot run in the middle of it.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { LipvaeError } from "../errors.js";

/** The temporary files this module creates: `.<name>.<pid>.<8 hex>.tmp` (hidden; git ignores *.tmp). */
export const ATOMIC_TEMP = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

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
 * Tests only: LIPVAE_TEST_WRITE_PAUSE_MS=n sleeps n ms between the steps of a
 * write, so that a test's kill -9 lands inside saves, not only between them.
 */
function testPause(): void {
  const ms = Number(process.env.LIPVAE_TEST_WRITE_PAUSE_MS ?? 0);
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A file-system error as the user should see it: their path, not the hidden
 * temporary file's, and what to do. Other errors (a writer's own) pass unchanged.
 */
function userError(err: unknown, target: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== "string" || !(err as NodeJS.ErrnoException).syscall) return err;
  const why: Record<string, string> = {
    ENOSPC: "the disk is full; free some space and run again (any previous version of the file is intact)",
    EDQUOT: "the disk quota is exhausted; free some space and run again (any previous version of the file is intact)",
    EACCES: "permission denied; choose a folder you can write to",
    EPERM: "permission denied; choose a folder you can write to",
    EROFS: "the file system is read-only; choose another folder",
    ENOENT: "its folder does not exist; create it or choose another path",
  };
  return new FileWriteError(`cannot write ${target}: ${why[code] ?? (err as Error).message.replace(/\s+/g, " ")} (${code})`, code);
}

/** A failed write, told as one line naming the user's file; `code` keeps the system's (EROFS, ENOSPC, ...). */
export class FileWriteError extends LipvaeError {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

/**
 * Atomically replaces file with whatever `write` writes to the given file
 * descriptor. If `write` or the file system fails, the temporary file is
 * removed, the old file is left untouched and the error is rethrown (a file-system
 * error as a LipvaeError naming `file`).
 */
export function writeAtomicWith(file: string, write: (fd: number) => void): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, "wx", 0o644);
  } catch (err) {
    throw userError(err, file);
  }
  try {
    write(fd);
    testPause();
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    removeQuietly(tmp);
    throw userError(err, file);
  }
  closeSync(fd);
  testPause();
  try {
    renameSync(tmp, target);
  } catch (err) {
    removeQuietly(tmp);
    throw userError(err, file);
  }
  testPause();
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

/** Whether process pid is running (a process we may not signal still exists). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temporary files that killed writers left in dir: those of our
 * pattern whose process is gone, or is this one (our writes are synchronous, so
 * none of ours is in progress now). A live process's file may be a write in
 * progress and stays. Returns the removed names and their total size.
 */
export function removeStaleTemps(dir: string): { removed: string[]; bytes: number } {
  const removed: string[] = [];
  let bytes = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { removed, bytes };
  }
  for (const name of names.sort()) {
    const match = ATOMIC_TEMP.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && isAlive(pid)) continue;
    const full = path.join(dir, name);
    try {
      const st = statSync(full);
      if (!st.isFile()) continue;
      unlinkSync(full);
      removed.push(name);
      bytes += st.size;
    } catch {
      // raced with another cleaner: already gone
    }
  }
  return { removed, bytes };
}
