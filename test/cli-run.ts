// Running `lipvae` from the cli-* tests: spawned through bin/lipvae.js (the
// real exit status and a time limit, for checks that must fail before any
// long work), or through main() in this process (fast, for flag checks that
// fail before anything loads).
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { main } from "../src/cli/main.js";

export interface Run { status: number | null; stdout: string; stderr: string; ms: number; timedOut: boolean }

/** `node bin/lipvae.js ...args`, killed after timeoutMs (a hang or a long computation is a failure). */
export function spawnLipvae(args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), ...args], { cwd: projectRoot });
    let stdout = "", stderr = "", timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: performance.now() - t0, timedOut });
    });
  });
}

/** main(args) in this process with stdout and stderr captured (and passed to onOutput as they come). */
export async function runMain(args: string[], onOutput?: (text: string) => void): Promise<Run> {
  let stdout = "", stderr = "";
  const out = process.stdout.write, err = process.stderr.write;
  const capture = (add: (s: string) => void) => ((chunk: string | Uint8Array) => {
    const text = String(chunk);
    add(text);
    onOutput?.(text);
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture((s) => (stdout += s));
  process.stderr.write = capture((s) => (stderr += s));
  const t0 = performance.now();
  try {
    const status = await main(args);
    return { status, stdout, stderr, ms: performance.now() - t0, timedOut: false };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Exit status 2 and exactly one stderr line "lipvae <command>: ..." holding every fragment, no stack frame. */
export function assertUsageLine(r: Run, command: string, ...fragments: (string | RegExp)[]): void {
  const what = `lipvae ${command} (stderr: ${r.stderr.slice(0, 2000)})`;
  assert.not.ok(r.timedOut, `${what}: still running after the time limit`);
  assert.is(r.status, 2, `${what}: exit status`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.is(lines.length, 1, `${what}: one line`);
  assert.not.match(r.stderr, /^\s+at /m, `${what}: a stack trace`);
  assert.ok(lines[0].startsWith(`lipvae ${command}: `), `${what}: prefix`);
  for (const f of fragments) {
    if (typeof f === "string") assert.ok(lines[0].includes(f), `${what}: should name '${f}'`);
    else assert.match(lines[0], f, what);
  }
}

/**
 * `base` flags with `extra` appended, where a flag in `extra` replaces the same flag's
 * value in `base` (lipvae refuses a flag given twice). Every flag in `base` takes a value.
 */
export function withFlags(base: string[], extra: string[]): string[] {
  const given = new Set(extra.filter((arg) => arg.startsWith("--")));
  const kept: string[] = [];
  for (let i = 0; i < base.length; i += 2) if (!given.has(base[i])) kept.push(base[i], base[i + 1]);
  return [...kept, ...extra];
}
