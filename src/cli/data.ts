// `lipvae data fetch|info`: get the datasets and check what is on disk.
import { UsageError, type Command } from "./command.js";
import { parseFlags } from "./args.js";
import { checkOutputDir } from "./out-path.js";
import { datasetNames, datasets, defaultDataDir, isDatasetName, TRAIN_SIZE, VALIDATION_SIZE, type DatasetName } from "../data/catalog.js";
import { fetchDataset } from "../data/fetch.js";
import { inspectDataset, type DatasetStatus } from "../data/inspect.js";

const usage = `lipvae data fetch <mnist|fashion-mnist> [--data-dir DIR]
lipvae data info [--dataset mnist|fashion-mnist] [--data-dir DIR]

fetch   Downloads the four official .gz files of a dataset, checks their
        SHA-256 and saves them in DIR (default data/<dataset>/ of the checkout).
        Needs the internet. MNIST is already shipped in data/mnist/. If a
        download fails, the directories fetch created are removed again.
info    Prints, for each dataset (or the one given), the data directory, each
        file's item count and whether it matches the official checksum, the
        split sizes and the dataset fingerprint that models record.

Options:
  --dataset D     mnist or fashion-mnist (info only; default both)
  --data-dir DIR  folder with the dataset's files (also accepts its parent,
                  or a torchvision root with <Name>/raw/)`;

const OPTIONS = { "data-dir": { type: "string" }, dataset: { type: "string" } } as const;

function datasetArg(value: string | undefined, where: string): DatasetName {
  if (value === undefined) throw new UsageError(`${where}: name a dataset (${datasetNames.join(" or ")}), e.g. lipvae data ${where} mnist`);
  if (!isDatasetName(value)) throw new UsageError(`${where}: unknown dataset '${value}': choose ${datasetNames.join(" or ")}`);
  return value;
}

function formatStatus(s: DatasetStatus): string {
  const lines = [`${datasets[s.name].title} (${s.name})`, `  data dir:    ${s.dir}`];
  for (const f of s.files) {
    const what = f.state === "missing" ? `missing (${datasets[s.name].files[f.role].name}.gz)`
      : f.state === "invalid" ? `INVALID: ${f.detail}`
      : `${f.items} items, ${f.state === "official" ? "checksum OK (official)" : "checksum MISMATCH (not the official file)"}`;
    lines.push(`  ${f.role.padEnd(12)} ${what}${f.path && f.state !== "invalid" ? `  [${f.path}]` : ""}`);
  }
  if (s.files.every((f) => f.state === "official")) {
    lines.push(`  splits:      train ${TRAIN_SIZE}, validation ${VALIDATION_SIZE}, test ${s.files[2]!.items}`);
  }
  if (s.fingerprint) lines.push(`  fingerprint: ${s.fingerprint}`);
  if (s.hint) lines.push(`  to fix: ${s.hint}`);
  return lines.join("\n");
}

export const dataCommand: Command = {
  name: "data",
  usage,
  options: OPTIONS,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, OPTIONS, { positionals: true });
    const [sub, ...rest] = positionals;
    const dataDir = values["data-dir"];
    if (sub === "fetch") {
      if (rest.length > 1) throw new UsageError(`fetch: one dataset at a time, got ${rest.join(" ")}`);
      if (values.dataset !== undefined) throw new UsageError("fetch: name the dataset as `lipvae data fetch <dataset>`, not with --dataset");
      const name = datasetArg(rest[0], "fetch");
      checkOutputDir(dataDir === undefined ? "--data-dir (default)" : "--data-dir", dataDir ?? defaultDataDir(name));
      const dir = await fetchDataset(name, { dataDir, log: (line) => console.log(line) });
      console.log(`${datasets[name].title} is ready in ${dir}`);
      return 0;
    }
    if (sub === "info") {
      if (rest.length > 0) throw new UsageError(`info: unexpected argument '${rest[0]}' (use --dataset)`);
      const names = values.dataset === undefined ? [...datasetNames] : [datasetArg(values.dataset, "info")];
      if (dataDir !== undefined && names.length > 1) throw new UsageError("info: --data-dir needs --dataset (a folder holds one dataset)");
      const reports = names.map((name) => inspectDataset(name, dataDir));
      console.log(reports.map(formatStatus).join("\n\n"));
      // A missing optional dataset is news, not failure; a named one that is not official is.
      const allOfficial = reports.every((r) => r.files.every((f) => f.state === "official"));
      return values.dataset === undefined || allOfficial ? 0 : 1;
    }
    throw new UsageError(sub === undefined ? "missing subcommand: use lipvae data fetch <dataset> or lipvae data info" : `unknown subcommand '${sub}': use fetch or info`);
  },
};
