#!/usr/bin/env node
// Runs the uvu suite once per WASM build (baseline SIMD, and relaxed SIMD when
// this Node can validate it), then prints the one summary line CI reads:
//   N passed, N failed
// Usage: node scripts/run-tests.js [pattern]   (pattern filters test files)
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const uvu = path.join(root, "node_modules", "uvu", "bin.js");
const testDir = path.join("dist", "test");
if (!existsSync(path.join(root, testDir))) {
  console.error("dist/test is missing: run `npm run build` first (npm ci does it for you).");
  process.exit(2);
}
// A user pattern such as "certify" must not also pick up source maps or
// helper modules: only files ending in .test.js are test files.
const userPattern = process.argv[2];
const pattern = userPattern === undefined ? "\\.test\\.js$"
  : `^(?=.*(?:${userPattern}))[^/]*\\.test\\.js$`;
const RELAXED_FLAG = "--experimental-wasm-relaxed-simd";

function relaxedAvailable() {
  const probe = spawnSync(process.execPath, [RELAXED_FLAG, "-e",
    "const fs=require('fs');process.exit(WebAssembly.validate(fs.readFileSync('build/lipvae-relaxed.wasm'))?0:1)"],
    { cwd: root });
  return probe.status === 0;
}

const builds = [{ name: "simd", nodeArgs: [] }];
if (relaxedAvailable()) builds.push({ name: "relaxed", nodeArgs: [RELAXED_FLAG] });
else console.log("relaxed SIMD does not validate on this Node: testing the baseline build only");

let passed = 0, failed = 0, skipped = 0;
for (const build of builds) {
  console.log(`\n=== test suite on the ${build.name} WASM build ===`);
  const run = spawnSync(process.execPath, [...build.nodeArgs, uvu, testDir, pattern], {
    cwd: root,
    env: { ...process.env, LIPVAE_WASM: build.name },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 256 * 1024 * 1024,
  });
  process.stdout.write(run.stdout ?? "");
  const total = Number(/Total:\s+(\d+)/.exec(run.stdout ?? "")?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(run.stdout ?? "")?.[1] ?? NaN);
  const skip = Number(/Skipped:\s+(\d+)/.exec(run.stdout ?? "")?.[1] ?? 0);
  if (!Number.isFinite(total) || !Number.isFinite(ok)) {
    // The runner died before its summary (a crash in a test file's top level).
    console.error(`uvu exited with status ${run.status} and no summary on the ${build.name} build`);
    failed += 1;
    continue;
  }
  passed += ok;
  skipped += skip;
  failed += total - ok - skip;
  if (run.status !== 0 && total - ok - skip === 0) failed += 1;
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed === 0 ? 0 : 1);
