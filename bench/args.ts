// Command-line parsing shared by the bench scripts: a wrong flag is reported as
// one line and the usage (exit status 2), not as node:util's stack trace.

/** parse() (node:util parseArgs), or null after printing its error and `usage` to stderr. */
export function parsedOrUsage<T>(parse: () => T, usage: string): T | null {
  try {
    return parse();
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage}`);
    return null;
  }
}

/** parsedOrUsage, exiting with status 2 when the flags are wrong. */
export function parsedOrExit<T>(parse: () => T, usage: string): T {
  const values = parsedOrUsage(parse, usage);
  if (values === null) process.exit(2);
  return values;
}
