// Errors meant for the user as is: the CLI prints the message as one line and
// no stack trace (see src/cli/main.ts), so messages say what is wrong, where,
// and how to fix it.

export class LipvaeError extends Error {
  override name = "LipvaeError";
}
