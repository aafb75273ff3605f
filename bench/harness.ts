// Timing harness for `npm run bench`: medians over repeated runs after a
// warm-up, reported as a table and as JSON rows.

export interface BenchRow {
  name: string;
  /** The WASM build the row ran on ("simd" or "relaxed"), with "×N" when N threads took part. */
  build: string;
  unit: "ms";
  median: number;
  min: number;
  max: number;
  n: number;
  /** Achieved GFLOP/s at the median (null where FLOPs are not counted). */
  gflops: number | null;
  /** FLOPs of one call as the kernels counted them (rows measured with a counter). */
  flopsPerCall?: number;
  /** Fraction of the same build's measured simd.peak (null where not applicable). */
  ofPeak?: number | null;
  note?: string;
}

/** The label of rows that run on the engine: its build, and "×N" when N kernel threads take part. */
export function engineLabel(e: { build: string; activeThreads(): number }): string {
  const t = e.activeThreads();
  return t > 1 ? `${e.build}×${t}` : e.build;
}

export interface BenchOptions {
  /** Minimum number of timed runs. */
  minRuns?: number;
  /** Keep running until this much time is spent (ms), up to maxRuns. */
  minTimeMs?: number;
  maxRuns?: number;
  warmup?: number;
}

/** What a row times, built once: the call, its FLOP counter, its timing policy and its note. */
export interface Timed {
  run: () => void;
  flops: number | (() => number);
  opts: BenchOptions;
  /** The row's note, given its measurement (e.g. GFLOP/s on another accounting). */
  note?: (row: BenchRow) => string;
}

/**
 * A bench row that can be timed more than once in a process: `make` builds its
 * state (model, optimiser, inputs) on first use. The comparison with PyTorch
 * times the same rows again, interleaved with PyTorch's (bench/compare.ts).
 */
export interface RowSpec { name: string; make: () => Timed }

/** Builds (once) and caches the Timed of each spec. */
export function specCache(): (spec: RowSpec) => Timed {
  const made = new Map<RowSpec, Timed>();
  return (spec) => {
    let t = made.get(spec);
    if (!t) made.set(spec, (t = spec.make()));
    return t;
  };
}

/** One measurement of a made row, with its note. */
export function measureTimed(name: string, build: string, t: Timed): BenchRow {
  const row = measure(name, build, t.flops, t.run, t.opts);
  if (t.note) row.note = t.note(row);
  return row;
}

/** Times the specs whose names match `only`, each made (once) through `made`. */
export function measureSpecs(specs: RowSpec[], only: RegExp | null, build: string, made: (spec: RowSpec) => Timed): BenchRow[] {
  return specs.filter((s) => !only || only.test(s.name)).map((s) => measureTimed(s.name, build, made(s)));
}

/**
 * Times fn repeatedly. flops is the work of one call: a number (0 when not
 * counted), or a cumulative counter (a kernel instance's flopsF32, the FLOPs
 * its GEMMs were asked for), read before and after the timed runs so that the
 * row reports what the kernels actually executed.
 */
export function measure(name: string, build: string, flops: number | (() => number), fn: () => void, opts: BenchOptions = {}): BenchRow {
  const warmup = opts.warmup ?? 2, minRuns = opts.minRuns ?? 10, maxRuns = opts.maxRuns ?? 200;
  const minTime = opts.minTimeMs ?? 300;
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const counted = typeof flops === "function" ? flops() : 0;
  const start = performance.now();
  while (times.length < minRuns || (performance.now() - start < minTime && times.length < maxRuns)) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  const perCall = typeof flops === "function" ? (flops() - counted) / times.length : flops;
  times.sort((a, b) => a - b);
  const mid = median(times);
  return {
    name, build, unit: "ms", median: mid, min: times[0], max: times[times.length - 1], n: times.length,
    gflops: perCall > 0 ? perCall / (mid * 1e6) : null,
    ...(typeof flops === "function" ? { flopsPerCall: perCall } : {}),
  };
}

/** The median of `values` (the mean of the middle two for an even count); `values` is not reordered. */
export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b), h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

export function formatTable(rows: BenchRow[]): string {
  const header = ["name", "build", "median ms", "min", "max", "n", "GFLOP/s", "of peak", "note"];
  const body = rows.map((r) => [
    r.name, r.build, fmt(r.median), fmt(r.min), fmt(r.max), String(r.n),
    r.gflops === null ? "" : r.gflops.toFixed(1),
    r.ofPeak == null ? "" : `${(100 * r.ofPeak).toFixed(0)}%`,
    r.note ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 8 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}
