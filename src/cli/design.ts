// `lipvae design`: Theorem 3 turned around. Which Lipschitz constant M and
// fixed σ guarantee a global (r, ε)-robustness margin ≥ m before training?
import type { Command } from "./command.js";
import { UsageError } from "./command.js";
import { formatNumber, formatTable, parseFlags } from "./bounds.js";
import type { DesignInput } from "../bounds/design.js";

const USAGE = `lipvae design: Lipschitz constants and fixed σ that guarantee a global margin (Theorem 3 turned around)

usage: lipvae design --r R --eps E --dz D --margin m [--M M1,M2,...] [--decoder-sigmoid] [--json]

For each M (encoder mean M-Lipschitz, decoder a = M, or M/4 with --decoder-sigmoid) prints the
largest fixed σ for which Theorem 3 certifies a global (r, ε)-robustness margin ≥ m:
  paper ‖σ‖, γ   the paper's Theorem 3 (any shape of σ; γ = ‖σ‖/sqrt(dz) for σ = γ·1)
  tight γ, ‖σ‖   lipvae's tight Theorem 3 for an isotropic σ = γ·1 (exact noncentral χ²)
Every M below the printed maximum admits some σ > 0; "none" means no σ works at that M.

options:
  --r R               reconstruction radius, > 0
  --eps E             robustness threshold, in (0, 1)
  --dz D              latent dimension, a positive integer
  --margin m          the global margin to guarantee, > 0
  --M list            the M values to tabulate (default: a grid below the maximum)
  --decoder-sigmoid   the decoder ends in a sigmoid, so a = M/4
  --json              print the design as JSON instead of a table`;

const FLAGS = {
  r: { type: "string" },
  eps: { type: "string" },
  dz: { type: "string" },
  margin: { type: "string" },
  M: { type: "string" },
  "decoder-sigmoid": { type: "boolean" },
  json: { type: "boolean" },
} as const;

function number(flag: string, text: string | undefined, valid: (x: number) => boolean, says: string): number {
  if (text === undefined) throw new UsageError(`missing --${flag}`);
  const x = Number(text);
  if (text.trim() === "" || !Number.isFinite(x) || !valid(x)) {
    throw new UsageError(`--${flag} ${says} (got '${text}')`);
  }
  return x;
}

export const designCommand: Command = {
  name: "design",
  usage: USAGE,
  options: FLAGS,
  async run(argv) {
    const values = parseFlags(argv, FLAGS);
    const input: DesignInput = {
      r: number("r", values.r, (x) => x > 0, "must be > 0"),
      eps: number("eps", values.eps, (x) => x > 0 && x < 1, "must be in (0, 1)"),
      dz: number("dz", values.dz, (x) => Number.isSafeInteger(x) && x >= 1, "must be a positive integer"),
      margin: number("margin", values.margin, (x) => x > 0, "must be > 0"),
      decoderFactor: values["decoder-sigmoid"] ? 0.25 : 1,
    };
    const Ms = values.M?.split(",").map((part) => number("M", part, (x) => x > 0, "must be a list of numbers > 0"));
    const { designTable } = await import("../bounds/design.js"); // loaded only when design runs
    const design = designTable(input, Ms);
    if (values.json) {
      console.log(JSON.stringify({ ...input, ...design }, null, 2));
      return 0;
    }
    const show = (x: number) => (x > 0 ? formatNumber(x) : "none");
    const rows = design.rows.map((row) => [
      formatNumber(row.M),
      formatNumber(row.a),
      show(row.paperSigmaNorm),
      show(row.paperGamma),
      show(row.tightGamma),
      show(row.tightSigmaNorm),
    ]);
    console.log(
      `Global margin ≥ ${input.margin} at r = ${input.r}, ε = ${input.eps}, dz = ${input.dz}` +
        ` (b = M, a = ${input.decoderFactor === 1 ? "M" : "M/4"}).\n` +
        `Some σ > 0 works for every M < ${formatNumber(design.maxM)}; the largest fixed σ per M:\n`,
    );
    console.log(formatTable(["M", "a", "paper ‖σ‖", "paper γ", "tight γ", "tight ‖σ‖"], rows));
    return 0;
  },
};
