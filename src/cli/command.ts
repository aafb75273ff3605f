// The contract every `lipvae <command>` module fulfils.

export interface Command {
  /** The word after `lipvae`, e.g. "train". */
  name: string;
  /** Full help text for `lipvae <name> --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit status. */
  run(argv: string[]): Promise<number>;
}

/** An error whose message is meant for the user as is (no stack trace). */
export class UsageError extends Error {
  override name = "UsageError";
}
