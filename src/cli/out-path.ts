// Up-front checks of the paths a command will write, run before it loads data
// or trains: a bad --out must fail in a second with one line, not after an
// epoch of training with an EEXIST trace. Under /proc a recursive mkdir never
// returns, so such paths are refused before anything touches them.
import { randomBytes } from "node:crypto";
import { type Stats, closeSync, lstatSync, openSync, readlinkSync, realpathSync, statSync, unlinkSync } from "node:fs";
import path from "node:path";
import { UsageError } from "./command.js";

/** Kernel file systems: nothing can be saved there, and mkdir -p loops on /proc. */
const KERNEL_FILE_SYSTEMS = ["/proc", "/sys"];

const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

/** The deepest existing path on the way to target (lstat: links are not followed). */
function nearestExisting(target: string): { existing: string; stats: Stats; exists: boolean } {
  for (let p = target; ; p = path.dirname(p)) {
    try {
      return { existing: p, stats: lstatSync(p), exists: p === target };
    } catch (err) {
      // ENOTDIR: a component on the way is a file; the walk up finds and names it.
      if (code(err) !== "ENOENT" && code(err) !== "ENOTDIR") throw new UsageError(`cannot check ${p} (${code(err)}); choose another path`);
      if (path.dirname(p) === p) throw new UsageError(`no part of ${target} exists`);
    }
  }
}

/** What an existing path is once symbolic links are followed; a link to nowhere is an error. */
function follow(what: string, p: string, stats: Stats): Stats {
  if (!stats.isSymbolicLink()) return stats;
  try {
    return statSync(p);
  } catch (err) {
    const to = (() => { try { return readlinkSync(p); } catch { return "?"; } })();
    if (code(err) === "ELOOP") throw new UsageError(`${what}: ${p} is a loop of symbolic links; remove it or choose another path`);
    throw new UsageError(`${what}: ${p} is a dangling symbolic link (to ${to}, which does not exist); remove the link, create its target, or choose another path`);
  }
}

function refuseKernelFileSystem(what: string, existing: string): void {
  let real = existing;
  try {
    real = realpathSync(existing);
  } catch {
    // an unreadable path: the write probe reports it
  }
  for (const root of KERNEL_FILE_SYSTEMS) {
    if (real === root || real.startsWith(root + "/")) {
      throw new UsageError(`${what} is inside ${root}, a kernel file system where nothing can be saved; choose a directory on disk`);
    }
  }
}

/** `--out=` would resolve to the current directory: surely not what was meant. */
function refuseEmpty(flag: string, p: string): void {
  if (p.trim() === "") throw new UsageError(`${flag} is empty; give a path`);
}

/** Creates and removes an empty file in dir: the one sure test that dir takes new files. */
function probeWritable(what: string, dir: string): void {
  const probe = path.join(dir, `.lipvae-probe-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
  try {
    closeSync(openSync(probe, "wx"));
  } catch (err) {
    throw new UsageError(`${what}: cannot create files in ${dir} (${code(err)}); choose a directory you can write to`);
  }
  try {
    unlinkSync(probe);
  } catch {
    // the probe is empty and hidden; failing to remove it must not stop the command
  }
}

/** The checks common to directories and files: not empty, not in a kernel file system; where it stands. */
function locate(flag: string, p: string) {
  refuseEmpty(flag, p);
  const what = `${flag} ${p}`;
  const target = path.resolve(p);
  const found = nearestExisting(target);
  refuseKernelFileSystem(what, target);
  refuseKernelFileSystem(what, found.existing);
  return { what, target, ...found };
}

/**
 * A directory the command will create if needed and fill: an existing
 * writable directory, or a new path whose deepest existing ancestor is a
 * writable directory. `flag` names the option in messages ("--out").
 */
export function checkOutputDir(flag: string, dir: string): void {
  const { what, existing, stats, exists } = locate(flag, dir);
  const resolved = follow(what, existing, stats);
  if (!resolved.isDirectory()) {
    throw new UsageError(exists
      ? `${what} is a file, not a directory; choose a directory (new or existing)`
      : `${what}: ${existing} is a file, so no directory can be made inside it; choose another path`);
  }
  probeWritable(what, existing);
}

/**
 * A file the command will write (atomically, so its directory must take new
 * files): not an existing directory, in a directory that already exists.
 * `example` is a file name to suggest when the path is a directory.
 */
export function checkOutputFile(flag: string, file: string, example: string): void {
  const { what, target, existing, stats, exists } = locate(flag, file);
  if (exists) {
    const resolved = follow(what, existing, stats);
    if (resolved.isDirectory()) throw new UsageError(`${what} is a directory; give a file name such as ${path.join(file, example)}`);
    if (!resolved.isFile()) throw new UsageError(`${what} exists and is not a regular file; choose another file name`);
  }
  const parent = path.dirname(target);
  const ancestor = exists ? parent : existing;
  if (!follow(what, ancestor, lstatSync(ancestor)).isDirectory()) {
    throw new UsageError(`${what}: ${ancestor} is a file, not a directory; choose another path`);
  }
  if (ancestor !== parent) throw new UsageError(`${what}: the directory ${parent} does not exist; create it first (mkdir -p ${parent})`);
  probeWritable(what, parent);
}
