// `npm run bench [-- --json FILE] [--quick] [--only REGEX]`
//
// Kernel rows run on both WASM builds in this one process; model rows run on
// the build the library selects. Every ratio in the table (of peak, between
// builds) comes from this single run.

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import os from "node:os";
import { instantiate, relaxedUsable } from "../src/engine/wasm.js";
import { type BenchRow, formatTable } from "./harness.js";
import { kernelBenchmarks } from "./kernels.js";
import { modelBenchmarks } from "./model.js";
import { trainBenchmarks } from "./train.js";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: "string" },
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("usage: npm run bench -- [--json FILE] [--quick] [--only REGEX]\n\n" +
      "  --json FILE   also write the rows as JSON\n  --quick       fewer repetitions (smoke test)\n" +
      "  --only REGEX  run only rows whose name matches");
    return 0;
  }
  const only = values.only ? new RegExp(values.only) : null;
  const rows: BenchRow[] = [];
  const builds = relaxedUsable() ? (["simd", "relaxed"] as const) : (["simd"] as const);
  for (const build of builds) {
    process.stderr.write(`kernels on the ${build} build...\n`);
    rows.push(...kernelBenchmarks(instantiate(build), values.quick, only));
  }
  process.stderr.write("training steps...\n");
  rows.push(...trainBenchmarks(values.quick, only));
  process.stderr.write("attacks and margins...\n");
  rows.push(...(await modelBenchmarks(values.quick, only)));

  console.log(`lipvae bench: node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"} x${os.cpus().length}, ` +
    `builds: ${builds.join(", ")}`);
  console.log(formatTable(rows));
  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ node: process.version, cpu: os.cpus()[0]?.model, rows }, null, 2) + "\n");
    console.log(`\nwrote ${values.json}`);
  }
  return 0;
}

main().then((code) => { process.exitCode = code; });
