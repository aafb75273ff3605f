// `lipvae export`: write a model's effective network as plain affine layers.
import path from "node:path";
import { type Command, UsageError } from "./command.js";
import { parseFlags } from "./args.js";
import { checkOutputFile } from "./out-path.js";
import { loadModel, MODEL_WEIGHTS } from "../model/store.js";
import { exportModel } from "../model/export.js";

const DEFAULT_NAME = "export.safetensors";
const OPTIONS = { model: { type: "string" }, out: { type: "string" } } as const;

const usage = `lipvae export --model DIR [--out FILE.safetensors]

Writes the model's effective network as plain affine layers
(encoder_mean.{i}.weight [out,in] / .bias, the same for encoder_std and
decoder) with Björck applied (the model's own iteration count) and the
per-layer scale M^(1/L) folded in, plus metadata describing the activations,
output sigmoids and sigma mode. Any safetensors reader (e.g. PyTorch with
nn.Linear) can rebuild the model from it: see docs/model-format.md.

Options:
  --model DIR   model directory (model.json + model.safetensors)
  --out FILE    output file (default DIR/${DEFAULT_NAME})`;

export const exportCommand: Command = {
  name: "export",
  usage,
  options: OPTIONS,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, OPTIONS, { positionals: true });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (name the model with --model DIR)`);
    const dir = values.model;
    if (dir === undefined) throw new UsageError("--model DIR is required (lipvae export --help shows the options)");
    const out = values.out ?? path.join(dir, DEFAULT_NAME);
    if (path.resolve(out) === path.resolve(dir, MODEL_WEIGHTS)) {
      throw new UsageError(`--out ${out} would overwrite the model's own parameters; choose another file name`);
    }
    const model = loadModel(dir);
    checkOutputFile(values.out === undefined ? "--out (default)" : "--out", out, DEFAULT_NAME);
    const summary = exportModel(model, out);
    const nets = summary.nets.map((n) => `${n.name} (${n.layers} layers, scale ${n.scale.toPrecision(6)})`).join(", ");
    const bjorck = model.meta.config.kind === "lipschitz" ? `Björck K=${summary.bjorckIters} applied` : "standard layers (no Björck)";
    console.log(`exported ${nets}; ${bjorck}, scale folded in`);
    console.log(`wrote ${out} (${(summary.bytes / 1e6).toFixed(2)} MB); the format is described in docs/model-format.md`);
    return 0;
  },
};
