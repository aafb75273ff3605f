// `node dist/bench/step-memory.js ROW`: peak resident memory of a process that
// builds one training-step row of bench/train.ts and runs two steps of it, and
// nothing else. bench/run.ts starts it as a child for the K = 50 rows, so the
// figure is the step's own, not the benchmark process's high-water mark.
import { trainRowSpecs } from "./train.js";

const name = process.argv[2];
const spec = trainRowSpecs(true).find((s) => s.name === name);
if (!spec) {
  console.error(`no training row named ${name ?? "(none)"}: ${trainRowSpecs(true).map((s) => s.name).join(", ")}`);
  process.exit(2);
}
const before = process.resourceUsage().maxRSS;
const { run } = spec.make();
run();
run();
// maxRSS is in KiB.
console.log(JSON.stringify({ name, peakRssMiB: process.resourceUsage().maxRSS / 1024, beforeStepsMiB: before / 1024 }));
process.exit(0);
