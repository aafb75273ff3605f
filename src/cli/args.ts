// Reading the command line: one wrapper around util.parseArgs that every
// command uses (so a missing value, a stray word or a repeated flag is one
// clear usage error, never an ERR_PARSE_ARGS trace), and the numeric flag
// parsers, whose errors name the flag and the value.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./command.js";

export type FlagOptions = NonNullable<ParseArgsConfig["options"]>;

/** A value parseArgs would take for another flag ("-1", "-.5", "-1e-3", "-Infinity"). */
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

/**
 * `--lipschitz -1` is "ambiguous" to parseArgs; a negative number right after a
 * flag that takes a value is that value (the range check then names the problem).
 */
function joinNegativeValues(argv: string[], options: FlagOptions): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i], next = argv[i + 1];
    const name = arg.startsWith("--") && !arg.includes("=") ? arg.slice(2) : null;
    if (name !== null && options[name]?.type === "string" && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** The option names closest to an unknown one (a typo or a prefix), for a "did you mean". */
function closest(name: string, options: FlagOptions): string | null {
  const distance = (a: string, b: string) => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length];
  };
  const scored = Object.keys(options).map((o) => ({ o, d: o.startsWith(name) ? 0 : distance(name, o) }));
  scored.sort((x, y) => x.d - y.d);
  return scored.length > 0 && scored[0].d <= 2 ? scored[0].o : null;
}

/** parseArgs' error as one line that says what to do. */
function usageError(err: unknown, options: FlagOptions): UsageError {
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  const flag = quoted.replace(/ <value>$/, "");
  switch ((err as { code?: string }).code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const near = closest(flag.replace(/^-+/, ""), options);
      return new UsageError(`unknown option '${flag}'${near ? ` (did you mean --${near}?)` : ""}; --help lists the options`);
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new UsageError(`unexpected argument '${quoted}': every value belongs to a flag (e.g. --out DIR); --help lists them`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/does not take an argument/.test(message)) return new UsageError(`${flag} is a switch and takes no value: write just ${flag}`);
      if (/ambiguous/.test(message)) return new UsageError(`${flag} needs a value, but the next word starts with '-'; write ${flag}=VALUE if the value starts with '-'`);
      return new UsageError(`${flag} needs a value (e.g. ${flag} VALUE); --help lists the options`);
    default:
      return new UsageError(message);
  }
}

type FlagValue<O> = O extends { multiple: true } ? (O extends { type: "boolean" } ? boolean[] : string[]) : O extends { type: "boolean" } ? boolean : string;

/** A flag with a default always has a value; the others may be missing. */
type FlagValues<T extends FlagOptions> =
  { [K in keyof T as T[K] extends { default: unknown } ? K : never]: FlagValue<T[K]> } &
  { [K in keyof T as T[K] extends { default: unknown } ? never : K]?: FlagValue<T[K]> };

export interface ParsedFlags<T extends FlagOptions> {
  values: FlagValues<T>;
  positionals: string[];
  /** The flags typed on the command line (not those filled in by a default). */
  given: ReadonlySet<string>;
}

/**
 * util.parseArgs (strict) with every error turned into one UsageError line.
 * A flag may appear once unless its option says `multiple: true` (documented
 * as repeatable, like margin's --model): a second value is refused rather than
 * silently replacing the first. Positional words are refused unless allowed.
 */
export function parseFlags<T extends FlagOptions>(argv: string[], options: T, opts: { positionals?: boolean } = {}): ParsedFlags<T> {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, options), options, strict: true, allowPositionals: opts.positionals ?? false, tokens: true });
  } catch (err) {
    throw usageError(err, options);
  }
  const counts = new Map<string, number>();
  for (const token of parsed.tokens) if (token.kind === "option") counts.set(token.name, (counts.get(token.name) ?? 0) + 1);
  for (const [name, n] of counts) {
    if (n > 1 && !options[name].multiple) throw new UsageError(`--${name} given ${n === 2 ? "twice" : `${n} times`}: give it once`);
  }
  return { values: parsed.values as unknown as FlagValues<T>, positionals: parsed.positionals, given: new Set(counts.keys()) };
}

export function number(flag: string, raw: string, opts: { positive?: boolean; min?: number; max?: number } = {}): number {
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v)) throw new UsageError(`${flag} must be a number (got '${raw}')`);
  if (opts.positive && !(v > 0)) throw new UsageError(`${flag} must be positive (got ${raw})`);
  if (opts.min !== undefined && v < opts.min) throw new UsageError(`${flag} must be at least ${opts.min} (got ${raw})`);
  if (opts.max !== undefined && v > opts.max) throw new UsageError(`${flag} must be at most ${opts.max} (got ${raw})`);
  return v;
}

export function integer(flag: string, raw: string, min = 0): number {
  const v = Number(raw);
  // Number("") is 0: an empty value (--seed=) is no number at all.
  if (raw.trim() === "" || !Number.isSafeInteger(v)) throw new UsageError(`${flag} must be a whole number (got '${raw}')`);
  if (v < min) throw new UsageError(`${flag} must be at least ${min} (got ${raw})`);
  return v;
}

export function optionalInteger(flag: string, raw: string | undefined, min = 0): number | null {
  return raw === undefined ? null : integer(flag, raw, min);
}
