// Helpers shared by the io-* and data-* tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as assert from "uvu/assert";
import { LipvaeError } from "../src/errors.js";

/** Runs fn, asserts it throws a one-line LipvaeError containing every fragment, returns the message. */
export function expectLipvaeError(fn: () => unknown, ...fragments: string[]): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) assert.unreachable(`expected a LipvaeError containing ${JSON.stringify(fragments)}`);
  if (!(caught instanceof LipvaeError)) throw caught;
  assert.is(caught.name, "LipvaeError");
  assert.not.match(caught.message, "\n", "the CLI prints the message as one line");
  for (const f of fragments) assert.ok(caught.message.includes(f), `message ${JSON.stringify(caught.message)} should contain ${JSON.stringify(f)}`);
  return caught.message;
}

/** Same for a promise. */
export async function expectLipvaeErrorAsync(promise: Promise<unknown>, ...fragments: string[]): Promise<string> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  return expectLipvaeError(() => {
    if (caught !== undefined) throw caught;
  }, ...fragments);
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "lipvae-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
