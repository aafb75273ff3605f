// Atomic writes: the old file survives a writer that fails or a process that
// dies midway, and no temporary file is left behind after a clean failure.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { writeAll, writeAtomicWith, writeFileAtomic, writeJsonAtomic } from "../src/io/atomic.js";
import { tempDir } from "./io-util.js";
import { projectRoot } from "../src/paths.js";

const { dir, cleanup } = tempDir();
test.after(cleanup);

const OLD = "old contents\n";

function fresh(name: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, OLD);
  return file;
}

const leftovers = (prefix: string) => readdirSync(dir).filter((f) => f.startsWith(`.${prefix}`));

test("creates, then replaces, leaving no temporary file", () => {
  const file = path.join(dir, "a.json");
  writeJsonAtomic(file, { epochs: 3 });
  assert.equal(JSON.parse(readFileSync(file, "utf8")), { epochs: 3 });
  writeFileAtomic(file, new Uint8Array([1, 2, 3]));
  assert.equal(Array.from(readFileSync(file)), [1, 2, 3]);
  assert.equal(leftovers("a.json"), []);
});

test("a writer that fails midway leaves the old file intact and cleans up", () => {
  const file = fresh("b.bin");
  const boom = new Error("disk on fire");
  try {
    writeAtomicWith(file, (fd) => {
      writeAll(fd, new Uint8Array(100_000).fill(7)); // half of the new file is written…
      throw boom; // …then the writer dies
    });
    assert.unreachable("should have thrown");
  } catch (err) {
    assert.is(err, boom);
  }
  assert.is(readFileSync(file, "utf8"), OLD);
  assert.equal(leftovers("b.bin"), []);
});

test("a process killed midway leaves the old file intact", () => {
  const file = fresh("c.bin");
  const atomicUrl = new URL("../src/io/atomic.js", import.meta.url).href; // the compiled module beside this test
  const script = `
    import { writeAtomicWith, writeAll } from ${JSON.stringify(atomicUrl)};
    writeAtomicWith(${JSON.stringify(file)}, (fd) => {
      writeAll(fd, new Uint8Array(1 << 20).fill(1));
      process.kill(process.pid, "SIGKILL"); // a crash: no cleanup code runs
    });`;
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.is(run.signal, "SIGKILL", run.stderr);
  assert.is(readFileSync(file, "utf8"), OLD);
  // The half-written temporary file may stay behind: hidden and ending in .tmp (git ignores *.tmp).
  for (const f of leftovers("c.bin")) assert.match(f, /^\.c\.bin\.\d+\.[0-9a-f]{8}\.tmp$/);
});

test("a missing directory is an error and creates nothing", () => {
  const file = path.join(dir, "no-such-dir", "d.bin");
  assert.throws(() => writeFileAtomic(file, "x"), /ENOENT/);
});

test("every file lipvae writes goes through src/io/atomic.ts (no plain write calls elsewhere in src/)", () => {
  const srcDir = path.join(projectRoot, "src");
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(".ts") && file !== path.join(srcDir, "io", "atomic.ts")) {
        const text = readFileSync(file, "utf8");
        if (/\b(writeFileSync|appendFileSync|createWriteStream|writeFile)\s*\(/.test(text)) offenders.push(path.relative(projectRoot, file));
      }
    }
  };
  walk(srcDir);
  assert.equal(offenders, [], "these modules write files without the atomic helpers");
});

test.run();
