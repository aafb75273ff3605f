#!/usr/bin/env node
// `npm run fuzz`: every parser of outside input under fuzz, at scale (default
// 12: over 10^5 cases), with the compiled properties of test/fuzz-cases.ts.
// Prints the cases per parser (parsed / refused with a clear error); exits 1 at
// the first failing case, which fast-check prints with its seed and input.
// Usage: node scripts/fuzz.js [--scale N] [--seed S]
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { parseArgs } from "node:util";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const compiled = path.join(root, "dist", "test", "fuzz-cases.js");
if (!existsSync(compiled)) {
  console.error("dist/test/fuzz-cases.js is missing: run `npm run build` first.");
  process.exit(2);
}
const { values } = parseArgs({ options: { scale: { type: "string", default: "12" }, seed: { type: "string", default: "20221" } } });
const scale = Number(values.scale), seed = Number(values.seed);
if (!(scale > 0) || !Number.isSafeInteger(seed)) {
  console.error("usage: node scripts/fuzz.js [--scale N > 0] [--seed INTEGER]");
  process.exit(2);
}
const { FUZZ_TARGETS } = await import(compiled);

let total = 0;
const started = Date.now();
console.log(`fuzzing at scale ${scale}, seed ${seed}`);
for (const target of FUZZ_TARGETS) {
  const t0 = Date.now();
  try {
    const c = await target.run(scale, seed);
    total += c.cases;
    console.log(`${target.parser.padEnd(24)} ${String(c.cases).padStart(8)} cases  ${String(c.parsed).padStart(7)} parsed  ${String(c.refused).padStart(7)} refused  ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`${target.parser}: FAILED\n${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
console.log(`${"total".padEnd(24)} ${String(total).padStart(8)} cases, ${((Date.now() - started) / 1000).toFixed(0)} s`);
