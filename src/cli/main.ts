// `lipvae` entry point: dispatches to one command module, turns user errors
// into one clear line (never a stack trace) and exit status 2.
import { commands } from "./registry.js";
import { UsageError } from "./command.js";
import { integer } from "./args.js";
import { setThreads } from "../engine/engine.js";

/** Removes the global --threads N (or --threads=N) from argv and applies it. */
function takeThreadsFlag(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--threads" || arg.startsWith("--threads=")) {
      const raw = arg === "--threads" ? argv[++i] : arg.slice("--threads=".length);
      if (raw === undefined) throw new UsageError("--threads needs a value (a whole number ≥ 1)");
      setThreads(integer("--threads", raw, 1));
    } else {
      out.push(arg);
    }
  }
  return out;
}

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "lipvae: certifiably robust variational autoencoders",
    "",
    "usage: lipvae <command> [options]    (lipvae <command> --help for details)",
    "",
    "  --threads N   threads for the kernels (default: every core, or LIPVAE_THREADS);",
    "                results are bit-identical for any N",
    "",
    "commands:",
    ...lines,
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(overview());
    return name ? 0 : 1;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    console.error(`lipvae: unknown command '${name}'.\n\n${overview()}`);
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
    if (err instanceof UsageError || (err instanceof Error && err.name === "LipvaeError")) {
      console.error(`lipvae ${name}: ${err.message}`);
      return 2;
    }
    if (err instanceof Error && (err as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      console.error(`lipvae ${name}: ${err.message}\n\n${command.usage}`);
      return 2;
    }
    throw err;
  }
}
