// JSON from files and pipes, parsed within limits. V8's JSON.parse copes with
// any nesting, but everything after it that walks the value recursively
// (JSON.stringify in an error message, a validator) overflows the stack on a
// few thousand nested brackets, and a huge text is a huge allocation. So the
// size and the nesting depth are checked on the text, before anything parses
// it; every failure is a LipvaeError that names the source.
import { LipvaeError } from "../errors.js";

export interface JsonLimits {
  /** Deepest nesting of arrays and objects accepted (a query is 2 deep, model.json about 6). */
  maxDepth: number;
  /** Longest text accepted, in UTF-16 code units (about bytes for JSON). */
  maxLength: number;
}

/** Nesting depth of a JSON text's arrays and objects, ignoring brackets inside strings; stops counting past `limit`. */
export function jsonNestingDepth(text: string, limit = Infinity): number {
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) {
      inString = true;
    } else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (ch === 0x5d || ch === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/**
 * JSON.parse within limits; `source` (a path, or "line 12") starts every error
 * message and `advice` (e.g. "the file is corrupt") ends the invalid-JSON one.
 */
export function parseJsonWithin(text: string, source: string, limits: JsonLimits, advice?: string): unknown {
  if (text.length > limits.maxLength) {
    throw new LipvaeError(`${source}: ${text.length} characters of JSON, more than the ${limits.maxLength} accepted (not the expected file, or corrupt)`);
  }
  if (jsonNestingDepth(text, limits.maxDepth) > limits.maxDepth) {
    throw new LipvaeError(`${source}: JSON nested more than ${limits.maxDepth} levels deep (not the expected content, or corrupt)`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const why = oneLine(err instanceof Error ? err.message : String(err)); // V8 quotes the text, newlines included
    throw new LipvaeError(`${source} is not valid JSON (${why})${advice ? `; ${advice}` : ""}`);
  }
}

/** A short JSON rendering of a value for an error message: never throws, never longer than `max` characters. */
export function showJson(value: unknown, max = 80): string {
  let text: string;
  try {
    text = typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Array.isArray(value) ? "an array" : typeof value; // a cycle or a stack overflow: say what it is instead
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** text with line breaks and other control characters escaped as in JSON, so that an error quoting input stays one line. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u2028\u2029]/g, (ch) => JSON.stringify(ch).slice(1, -1));
}
