// Model-level benchmarks (training step, attack step, margin estimation) on
// the build the library selects. Filled in as the model code lands.
import type { BenchRow } from "./harness.js";

export async function modelBenchmarks(_quick: boolean, _only: RegExp | null): Promise<BenchRow[]> {
  return [];
}
