// `lipvae bounds`: the certificate maths of src/bounds from the command line.
//   --jsonl       one JSON query per stdin line → one JSON answer per line
//                 (src/bounds/query.ts has the contract); exit 1 if any was invalid.
//   flags         the same fields as flags → a readable table.
import type { Command } from "./command.js";
import { UsageError } from "./command.js";
import { type FlagOptions, parseFlags as parseCommandLine } from "./args.js";
import type { Answer } from "../bounds/query.js";
import { readLines } from "../io/lines.js";
import { LineWriter } from "./line-writer.js";

// The maths is loaded when a bounds command runs, not when any lipvae command starts.
const loadQuery = () => import("../bounds/query.js");

const USAGE = `lipvae bounds: the paper's certificates (Theorem 1, Lemma 2, Theorem 3) and lipvae's tight ones

usage:
  lipvae bounds --jsonl < queries.jsonl
  lipvae bounds --bound theorem1 --a A --b B --c C --r R --dz D --sigmaNorm S --delta D1[,D2,...] [--sigma-cap K] [--form F]
  lipvae bounds --bound lemma2   --a A --b B --c C --r R --dz D --sigmaNorm S --eps E [--sigma-cap K] [--form F]
  lipvae bounds --bound theorem3 --a A --b B --r R --dz D (--sigmaNorm S | --sigma S1,...,Sdz) --eps E [--form F]

--jsonl reads one JSON object per line from stdin and writes one per line, in order:
  query:  {"id", "bound": "theorem1"|"lemma2"|"theorem3", "form": "paper"|"tight" (default "paper"),
           "a", "b", "c" (not theorem3), "r", "dz", "eps" (lemma2, theorem3),
           "sigmaNorm" (or, theorem3 only, "sigma": dz numbers), "delta" (theorem1),
           "sigmaCap" (theorem1, lemma2; optional: a number > 0, default 1, or null for no cap)}
  answer: theorem1 → {"id", "p1", "p2", "probability"}; lemma2, theorem3 → {"id", "m1", "m2", "margin"};
          an invalid query → {"id", "line", "error"} (line: its input line number, from 1); the
          other lines are still answered and the exit status is 1.
  Answer N is for input line N: a blank line gets an error answer too. Fields a bound does not
  use are an error. Output stops quietly when the reader goes away (| head).

options:
  --form paper|tight|both   paper: exactly the paper (Lemma 2 with 4‖σ‖²); tight: lipvae's valid,
                            tighter bounds (docs/certificates.md); both: side by side (flags only)
  a, b, c                   Lipschitz constants of decoder, encoder mean, encoder σ (pass M/4 for a
                            sigmoid output); r > 0; dz a positive integer; eps in (0, 1)
  --sigma-norm              same as --sigmaNorm
  --sigma-cap K|none        theorem1, lemma2: a bound on every σ_j(x) over all inputs (default 1:
                            lipvae's σ ends in a sigmoid; none = no cap). The tight form uses it and
                            rejects a sigmaNorm above sqrt(dz)·K; the paper form needs no cap.
                            Same as --sigmaCap and the JSON field "sigmaCap" (null = none).`;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(flag: string, text: string): number {
  if (text === "NaN") return NaN; // reaches the validator, which names the problem
  if (/^[+-]?Infinity$/.test(text)) return Number(text);
  if (!NUMBER.test(text.trim())) throw new UsageError(`--${flag} must be a number (got '${text}')`);
  return Number(text);
}

function parseList(flag: string, text: string): number[] {
  return text.split(",").map((part) => parseNumber(flag, part.trim()));
}

/** Formats a number for a table: 6 significant digits, exponent form when tiny or huge. */
export function formatNumber(x: number): string {
  if (x === 0) return "0";
  if (x > 0.9999 && x < 1) return `1 − ${(1 - x).toExponential(3)}`; // a certified probability near 1
  const magnitude = Math.abs(x);
  if (magnitude < 1e-4 || magnitude >= 1e6) return x.toExponential(4);
  return String(Number(x.toPrecision(6)));
}

/** A plain-text table: header row, rule, rows; numbers right-aligned. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i])).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

async function runJsonl(): Promise<number> {
  const { answerLine, isError, QUERY_LINE_LIMITS } = await loadQuery();
  const out = new LineWriter(process.stdout);
  let failed = 0;
  // Streams: one line in memory at a time, and no reading ahead of a blocked stdout.
  for await (const line of readLines(process.stdin, QUERY_LINE_LIMITS.maxLength)) {
    const answer: Answer = "text" in line
      ? answerLine(line.text, line.number)
      : { id: null, line: line.number, error: `line ${line.number}: ${line.problem}` };
    if (isError(answer)) failed++;
    if (!(await out.write(JSON.stringify(answer) + "\n"))) return failed > 0 ? 1 : 0; // the reader went away (| head)
  }
  if (failed > 0) console.error(`lipvae bounds: ${failed} invalid ${failed === 1 ? "query" : "queries"}`);
  return failed > 0 ? 1 : 0;
}

const FLAGS = {
  jsonl: { type: "boolean" },
  bound: { type: "string" },
  form: { type: "string" },
  a: { type: "string" },
  b: { type: "string" },
  c: { type: "string" },
  r: { type: "string" },
  dz: { type: "string" },
  eps: { type: "string" },
  sigmaNorm: { type: "string" },
  "sigma-norm": { type: "string" },
  sigmaCap: { type: "string" },
  "sigma-cap": { type: "string" },
  sigma: { type: "string" },
  delta: { type: "string" },
} as const;

type FlagValues = { [K in keyof typeof FLAGS]?: (typeof FLAGS)[K]["type"] extends "boolean" ? boolean : string };

/** Builds the JSON-contract query (without form) from flags; delta may be a list. */
function queryFromFlags(values: FlagValues): { base: Record<string, unknown>; deltas: number[] | undefined } {
  if (!values.bound) throw new UsageError("--bound is required (theorem1, lemma2 or theorem3), or use --jsonl");
  if (values.sigmaNorm !== undefined && values["sigma-norm"] !== undefined) {
    throw new UsageError("give --sigmaNorm or --sigma-norm, not both");
  }
  const base: Record<string, unknown> = { id: "flags", bound: values.bound };
  for (const key of ["a", "b", "c", "r", "dz", "eps"] as const) {
    const text = values[key];
    if (text !== undefined) base[key] = parseNumber(key, text);
  }
  if (values.sigmaCap !== undefined && values["sigma-cap"] !== undefined) {
    throw new UsageError("give --sigmaCap or --sigma-cap, not both");
  }
  const sigmaCap = values.sigmaCap ?? values["sigma-cap"];
  if (sigmaCap !== undefined) base.sigmaCap = /^(none|null|\+?Infinity)$/.test(sigmaCap.trim()) ? null : parseNumber("sigma-cap", sigmaCap);
  const sigmaNorm = values.sigmaNorm ?? values["sigma-norm"];
  if (sigmaNorm !== undefined) base.sigmaNorm = parseNumber("sigmaNorm", sigmaNorm);
  if (values.sigma !== undefined) base.sigma = parseList("sigma", values.sigma);
  const deltas = values.delta === undefined ? undefined : parseList("delta", values.delta);
  return { base, deltas };
}

/** The numbers of a valid answer (p1, p2, probability or m1, m2, margin); a usage error otherwise. */
async function answerOrThrow(query: Record<string, unknown>): Promise<Record<string, number>> {
  const { answerQuery, isError } = await loadQuery();
  const answer: Answer = answerQuery(query);
  if (isError(answer)) throw new UsageError(answer.error);
  const { id: _id, ...numbers } = answer;
  return numbers as Record<string, number>;
}

async function runFlags(values: FlagValues): Promise<number> {
  const formFlag = values.form ?? "paper";
  if (!["paper", "tight", "both"].includes(formFlag)) {
    throw new UsageError(`--form must be paper, tight or both (got '${formFlag}')`);
  }
  const forms = formFlag === "both" ? ["paper", "tight"] : [formFlag];
  const { base, deltas } = queryFromFlags(values);

  if (base.bound === "theorem1") {
    if (deltas === undefined) throw new UsageError("missing --delta (one value or a comma-separated list)");
    const header = ["‖δ‖", ...forms.flatMap((f) => [`${f} p1`, `${f} p2`, `${f} probability`])];
    const rows: string[][] = [];
    for (const delta of deltas) {
      const row = [formatNumber(delta)];
      for (const form of forms) {
        const answer = await answerOrThrow({ ...base, form, delta });
        row.push(...[answer.p1, answer.p2, answer.probability].map(formatNumber));
      }
      rows.push(row);
    }
    console.log(`Theorem 1: P[‖g(z_δ) − g(z_¬δ)‖ ≤ r] ≥ probability = 1 − min(p1, p2)\n`);
    console.log(formatTable(header, rows));
    return 0;
  }
  if (deltas !== undefined) base.delta = deltas.length === 1 ? deltas[0] : deltas; // rejected by the validator
  const answers: Record<string, number>[] = [];
  for (const form of forms) answers.push(await answerOrThrow({ ...base, form }));
  const rows = ["m1", "m2", "margin"].map((key) => [key, ...answers.map((answer) => formatNumber(answer[key]))]);
  const what = base.bound === "lemma2" ? "Lemma 2: margin at x" : "Theorem 3: global margin";
  console.log(`${what}, R_(r,ε) ≥ margin = max(m1, m2)\n`);
  console.log(formatTable(["", ...forms], rows));
  return 0;
}

/** The shared flag reader of src/cli/args.ts, values only (also used by `design` and `plot`). */
export function parseFlags<T extends FlagOptions>(argv: string[], options: T) {
  return parseCommandLine(argv, options).values;
}

export const boundsCommand: Command = {
  name: "bounds",
  usage: USAGE,
  options: FLAGS,
  async run(argv) {
    const values = parseFlags(argv, FLAGS);
    if (values.jsonl) {
      const others = Object.keys(values).filter((key) => key !== "jsonl");
      if (others.length > 0) throw new UsageError(`--jsonl takes no other flags (got --${others.join(", --")})`);
      return runJsonl();
    }
    return runFlags(values as FlagValues);
  },
};
