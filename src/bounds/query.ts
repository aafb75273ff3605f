// The `lipvae bounds` query contract (docs/certificates.md §5): validate one JSON query
// object, dispatch it to the paper or tight bound, and shape the answer.
//   query:  {"id", "bound": "theorem1"|"lemma2"|"theorem3", "form": "paper"|"tight",
//            "a", "b", "c" (not theorem3), "r", "dz", "eps" (lemma2, theorem3),
//            "sigmaNorm" | "sigma" (theorem3 only: dz entries), "delta" (theorem1),
//            "sigmaCap" (theorem1, lemma2: a bound on every σ_j, default 1, null = none)}
//   answer: theorem1 → {"id", "p1", "p2", "probability"};
//           lemma2, theorem3 → {"id", "m1", "m2", "margin"}; invalid → {"id", "error"}.
// Fields that a bound does not use are rejected rather than ignored, so a
// query never silently certifies something other than what was asked.
import { parseJsonWithin, showJson, type JsonLimits } from "../io/json-guard.js";
import { paperLemma2, paperTheorem1, paperTheorem3 } from "./paper.js";
import { summariseFixedSigma, tightLemma2, tightTheorem1, tightTheorem3 } from "./tight.js";
import {
  SIGMOID_SIGMA_CAP,
  type LearnedSigmaFacts,
  type Lemma2Input,
  type MarginBound,
  type ProbabilityBound,
  type Theorem1Input,
  type Theorem3Input,
} from "./types.js";

export const BOUNDS = ["theorem1", "lemma2", "theorem3"] as const;
export const FORMS = ["paper", "tight"] as const;
export type BoundName = (typeof BOUNDS)[number];
export type Form = (typeof FORMS)[number];
export type QueryId = string | number | null;

export type Query =
  | { id: QueryId; bound: "theorem1"; form: Form; input: Theorem1Input & LearnedSigmaFacts }
  | { id: QueryId; bound: "lemma2"; form: Form; input: Lemma2Input & LearnedSigmaFacts }
  | { id: QueryId; bound: "theorem3"; form: Form; input: Theorem3Input };

export type Answer =
  | ({ id: QueryId } & ProbabilityBound)
  | ({ id: QueryId } & MarginBound)
  /** line: the input line's number, when the query came from a line of `bounds --jsonl`. */
  | { id: QueryId; line?: number; error: string };

/**
 * Limits on one `bounds --jsonl` line: a query nests 2 deep (an object holding
 * the sigma array) and a theorem3 sigma of 10^5 entries fits in 4 MB.
 */
export const QUERY_LINE_LIMITS: JsonLimits = { maxDepth: 16, maxLength: 4 * 1024 * 1024 };

export type Parsed = { ok: true; query: Query } | { ok: false; id: QueryId; error: string };

/** The numeric fields each bound takes (sigmaNorm/sigma handled apart). */
const NUMERIC_FIELDS: Record<BoundName, readonly string[]> = {
  theorem1: ["a", "b", "c", "r", "dz", "delta"],
  lemma2: ["a", "b", "c", "r", "dz", "eps"],
  theorem3: ["a", "b", "r", "dz", "eps"],
};
const COMMON_FIELDS = ["id", "bound", "form", "sigmaNorm", "sigma", "sigmaCap"];

type Rule = { test: (v: number) => boolean; says: string };
const RULES: Record<string, Rule> = {
  a: { test: (v) => v > 0, says: "must be > 0" },
  b: { test: (v) => v > 0, says: "must be > 0" },
  r: { test: (v) => v > 0, says: "must be > 0" },
  c: { test: (v) => v >= 0, says: "must be ≥ 0" },
  delta: { test: (v) => v >= 0, says: "must be ≥ 0" },
  sigmaNorm: { test: (v) => v >= 0, says: "must be ≥ 0" },
  eps: { test: (v) => v > 0 && v < 1, says: "must be in (0, 1) (at ε = 0 every radius qualifies)" },
  dz: { test: (v) => Number.isSafeInteger(v) && v >= 1, says: "must be a positive integer" },
};

// Never throws (a deeply nested value cannot be stringified) and stays short.
const show = (value: unknown): string => showJson(value);

function checkNumber(name: string, value: unknown, problems: string[]): number {
  if (typeof value !== "number") {
    problems.push(`${name} must be a number (got ${show(value)})`);
    return NaN;
  }
  if (!Number.isFinite(value)) {
    problems.push(`${name} must be a finite number (got ${show(value)})`);
    return NaN;
  }
  const rule = RULES[name];
  if (rule && !rule.test(value)) problems.push(`${name} ${rule.says} (got ${show(value)})`);
  return value;
}

function readId(raw: Record<string, unknown>, problems: string[]): QueryId {
  if (!("id" in raw)) {
    problems.push("missing field 'id'");
    return null;
  }
  const id = raw.id;
  if (typeof id === "string" || (typeof id === "number" && Number.isFinite(id))) return id;
  problems.push(`id must be a string or a number (got ${show(id)})`);
  return null;
}

/** Validates one query object; every problem found is listed in the error. */
export function parseQuery(raw: unknown): Parsed {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, id: null, error: `a query must be a JSON object (got ${show(raw)})` };
  }
  const fields = raw as Record<string, unknown>;
  const problems: string[] = [];
  const id = readId(fields, problems);

  const bound = fields.bound;
  if (!BOUNDS.includes(bound as BoundName)) {
    problems.push(
      bound === undefined
        ? `missing field 'bound' (one of ${BOUNDS.join(", ")})`
        : `bound must be one of ${BOUNDS.join(", ")} (got ${show(bound)})`,
    );
    return { ok: false, id, error: problems.join("; ") };
  }
  const name = bound as BoundName;
  const form = fields.form ?? "paper";
  if (!FORMS.includes(form as Form)) problems.push(`form must be paper or tight (got ${show(form)})`);

  const numeric = NUMERIC_FIELDS[name];
  for (const key of Object.keys(fields)) {
    if (!numeric.includes(key) && !COMMON_FIELDS.includes(key)) {
      problems.push(`unexpected field '${key}' for ${name}`);
    }
  }
  const values: Record<string, number> = {};
  for (const key of numeric) {
    if (fields[key] === undefined) problems.push(`missing field '${key}'`);
    else values[key] = checkNumber(key, fields[key], problems);
  }

  const sigmaInput = readSigma(name, fields, values.dz, problems);
  const cap = readSigmaCap(name, fields, problems);
  if (form === "tight" && cap !== undefined && sigmaInput !== undefined) checkSigmaFitsCap(sigmaInput.sigmaNorm, values.dz, cap, problems);
  if (problems.length > 0) return { ok: false, id, error: problems.join("; ") };
  return { ok: true, query: buildQuery(id, name, form as Form, values, sigmaInput!, cap!) };
}

type SigmaInput = { sigmaNorm: number; sigmaMax?: number; isotropic?: boolean };

function readSigma(
  bound: BoundName,
  fields: Record<string, unknown>,
  dz: number | undefined,
  problems: string[],
): SigmaInput | undefined {
  const hasNorm = fields.sigmaNorm !== undefined;
  const hasVector = fields.sigma !== undefined;
  if (hasNorm && hasVector) {
    problems.push("give sigmaNorm or sigma, not both");
    return undefined;
  }
  if (hasVector && bound !== "theorem3") {
    problems.push(`sigma (a vector) is only accepted by theorem3; give sigmaNorm for ${bound}`);
    return undefined;
  }
  if (hasNorm) return { sigmaNorm: checkNumber("sigmaNorm", fields.sigmaNorm, problems) };
  if (!hasVector) {
    problems.push(bound === "theorem3" ? "missing field 'sigmaNorm' (or 'sigma')" : "missing field 'sigmaNorm'");
    return undefined;
  }
  const sigma = fields.sigma;
  if (!Array.isArray(sigma)) {
    problems.push(`sigma must be an array of dz numbers (got ${show(sigma)})`);
    return undefined;
  }
  if (typeof dz === "number" && Number.isSafeInteger(dz) && sigma.length !== dz) {
    problems.push(`sigma must have dz = ${dz} entries (got ${sigma.length})`);
  }
  const bad = sigma.findIndex((v) => typeof v !== "number" || !Number.isFinite(v) || v < 0);
  if (bad >= 0) {
    problems.push(`every sigma entry must be a finite number ≥ 0 (sigma[${bad}] is ${show(sigma[bad])})`);
    return undefined;
  }
  return summariseFixedSigma(sigma as number[]);
}

/**
 * sigmaCap: a bound on every σ_j(x') over all inputs, which the tight learned-σ
 * bounds rely on. Default 1 (lipvae's σ ends in a sigmoid); null means no cap
 * (Infinity: JSON has no such number). Fixed σ (theorem3) has no use for it.
 * Returns undefined when invalid.
 */
function readSigmaCap(bound: BoundName, fields: Record<string, unknown>, problems: string[]): number | undefined {
  if (!("sigmaCap" in fields) || fields.sigmaCap === undefined) return SIGMOID_SIGMA_CAP;
  if (bound === "theorem3") {
    problems.push("unexpected field 'sigmaCap' for theorem3 (σ is fixed there; sigmaCap applies to theorem1 and lemma2)");
    return undefined;
  }
  if (fields.sigmaCap === null) return Infinity;
  const cap = checkNumber("sigmaCap", fields.sigmaCap, problems);
  if (Number.isFinite(cap) && !(cap > 0)) {
    problems.push(`sigmaCap must be > 0, or null for no cap (got ${show(cap)})`);
    return undefined;
  }
  return Number.isFinite(cap) ? cap : undefined;
}

/**
 * The tight learned-σ bounds use σ_j ≤ cap, so ‖σ‖ ≤ √dz·cap; a larger
 * sigmaNorm is impossible and would be certified as if σ were smaller. The
 * paper form assumes no cap and answers such queries. The same check (with
 * the slack for f32 measurements) guards src/bounds/tight.ts.
 */
function checkSigmaFitsCap(sigmaNorm: number, dz: number | undefined, cap: number, problems: string[]): void {
  if (!Number.isFinite(sigmaNorm) || typeof dz !== "number" || !Number.isSafeInteger(dz) || dz < 1) return;
  const capNorm = cap * Math.sqrt(dz);
  if (sigmaNorm > capNorm) {
    problems.push(
      `sigmaNorm (${sigmaNorm}) exceeds sqrt(dz)·sigmaCap = ${capNorm}, impossible when every σ_j ≤ sigmaCap ` +
        `(default 1, lipvae's sigmoid σ): give the real sigmaCap (null for none) or use the paper form`,
    );
  }
}

function buildQuery(id: QueryId, bound: BoundName, form: Form, v: Record<string, number>, sigma: SigmaInput, sigmaCap: number): Query {
  const { a, b, c, r, dz, eps, delta } = v;
  switch (bound) {
    case "theorem1":
      return { id, bound, form, input: { a, b, c, r, dz, delta, sigmaNorm: sigma.sigmaNorm, sigmaCap } };
    case "lemma2":
      return { id, bound, form, input: { a, b, c, r, dz, eps, sigmaNorm: sigma.sigmaNorm, sigmaCap } };
    case "theorem3":
      return { id, bound, form, input: { a, b, r, dz, eps, ...sigma } };
  }
}

/** Runs a validated query. */
export function evaluateQuery(query: Query): ProbabilityBound | MarginBound {
  const tight = query.form === "tight";
  switch (query.bound) {
    case "theorem1":
      return tight ? tightTheorem1(query.input) : paperTheorem1(query.input);
    case "lemma2":
      return tight ? tightLemma2(query.input) : paperLemma2(query.input);
    case "theorem3":
      return tight ? tightTheorem3(query.input) : paperTheorem3(query.input);
  }
}

/** Validates, evaluates and shapes one answer; never throws. */
export function answerQuery(raw: unknown): Answer {
  const parsed = parseQuery(raw);
  if (!parsed.ok) return { id: parsed.id, error: parsed.error };
  const { id } = parsed.query;
  let result: ProbabilityBound | MarginBound;
  try {
    result = evaluateQuery(parsed.query);
  } catch (err) {
    return { id, error: err instanceof Error ? err.message : String(err) };
  }
  if (!Object.values(result).every(Number.isFinite)) {
    return { id, error: "the result is not finite: the inputs are out of the range f64 can handle" };
  }
  return { id, ...result };
}

/**
 * One line of `lipvae bounds --jsonl`: parses the JSON (within QUERY_LINE_LIMITS),
 * then answerQuery. An error answer carries the line's number when given.
 */
export function answerLine(line: string, lineNumber?: number): Answer {
  const at = (answer: Answer): Answer =>
    lineNumber === undefined || !isError(answer) ? answer : { id: answer.id, line: lineNumber, error: answer.error };
  if (line.trim() === "") return at({ id: null, error: "blank line: expected one JSON query object per line" });
  let raw: unknown;
  try {
    raw = parseJsonWithin(line, lineNumber === undefined ? "query" : `line ${lineNumber}`, QUERY_LINE_LIMITS);
  } catch (err) {
    return at({ id: null, error: (err as Error).message });
  }
  return at(answerQuery(raw));
}

/** True when an answer is the error object. */
export function isError(answer: Answer): answer is { id: QueryId; error: string } {
  return "error" in answer;
}
