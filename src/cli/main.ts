// `lipvae` entry point: dispatches to one command module, turns user errors
// into one clear line (never a stack trace) and exit status 2.
import { commands } from "./registry.js";
import { UsageError } from "./command.js";
import { integer } from "./args.js";
import { setThreads } from "../engine/engine.js";

/** Removes the global --threads N (or --threads=N) from argv and applies it. */
function takeThreadsFlag(argv: string[]): string[] {
  const out: string[] = [];
  const given: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--threads" || arg.startsWith("--threads=")) {
      const raw = arg === "--threads" ? argv[++i] : arg.slice("--threads=".length);
      if (raw === undefined) throw new UsageError("--threads needs a value (a whole number ≥ 1)");
      given.push(raw);
    } else {
      out.push(arg);
    }
  }
  // Checked before applying: the thread count can be set only once per process.
  if (given.length > 1) throw new UsageError("--threads given twice: give it once");
  if (given.length === 1) setThreads(integer("--threads", given[0], 1));
  return out;
}

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "lipvae: certifiably robust variational autoencoders",
    "",
    "usage: lipvae <command> [options]    (lipvae <command> --help or lipvae help <command> for details)",
    "       lipvae --version",
    "",
    "  --threads N   threads for the kernels (default: every core, or LIPVAE_THREADS);",
    "                results are bit-identical for any N",
    "",
    "commands:",
    ...lines,
  ].join("\n");
}

/** Prints one line for an error meant for the user; null for a bug (which keeps its stack trace). */
export function userErrorLine(err: unknown): { line: string; status: number } | null {
  if (err instanceof UsageError || (err instanceof Error && err.name === "LipvaeError")) return { line: err.message, status: 2 };
  // A file-system failure the up-front checks could not foresee (disk full, a
  // folder removed meanwhile): the system's own message says what and where.
  const errno = err as NodeJS.ErrnoException;
  if (err instanceof Error && typeof errno.code === "string" && typeof errno.syscall === "string") return { line: err.message, status: 1 };
  return null;
}

export async function main(argv: string[]): Promise<number> {
  let [name, ...rest] = argv;
  if (name === "--version" || name === "-V") [name, rest] = ["version", rest];
  if (name === "help" && rest.length > 0) {
    // `lipvae help train` is `lipvae train --help`.
    if (rest.length > 1) {
      console.error(`lipvae help: name one command (got ${rest.join(" ")})`);
      return 2;
    }
    [name, rest] = [rest[0], ["--help"]];
  }
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(overview());
    return name ? 0 : 1;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    const hint = name.startsWith("-") ? "options go after the command" : `the commands are ${commands.map((c) => c.name).join(", ")}`;
    console.error(`lipvae: unknown command '${name}' (${hint}; lipvae --help lists them)`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(takeThreadsFlag(rest));
  } catch (err) {
    const user = userErrorLine(err);
    if (user === null || process.env.LIPVAE_DEBUG) throw err;
    console.error(`lipvae ${name}: ${user.line}`);
    return user.status;
  }
}
