// The contract every `lipvae <command>` module fulfils.
import type { FlagOptions } from "./args.js";

export interface Command {
  /** The word after `lipvae`, e.g. "train". */
  name: string;
  /** Full help text for `lipvae <name> --help`. */
  usage: string;
  /** Its flags as given to parseFlags (src/cli/args.ts); a test checks each appears in `usage`. */
  options?: FlagOptions;
  /** Runs the command; resolves to the process exit status. */
  run(argv: string[]): Promise<number>;
}

/** An error whose message is meant for the user as is (no stack trace). */
export class UsageError extends Error {
  override name = "UsageError";
}
