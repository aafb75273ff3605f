// Parsing numeric flag values with errors that name the flag and the value.
import { UsageError } from "./command.js";

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
  if (!Number.isInteger(v)) throw new UsageError(`${flag} must be a whole number (got '${raw}')`);
  if (v < min) throw new UsageError(`${flag} must be at least ${min} (got ${raw})`);
  return v;
}

export function optionalInteger(flag: string, raw: string | undefined, min = 0): number | null {
  return raw === undefined ? null : integer(flag, raw, min);
}
