// The command line's flag handling, for every command: a missing value, a
// stray word, a repeated flag, an unknown flag and every bad number is one
// usage line (exit 2) naming the flag; every option appears in its command's
// help; `lipvae --version` and `lipvae help X` work.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseFlags, integer, number } from "../src/cli/args.js";
import { UsageError } from "../src/cli/command.js";
import { commands } from "../src/cli/registry.js";
import { userErrorLine } from "../src/cli/main.js";
import { LipvaeError } from "../src/errors.js";
import { assertUsageLine, runMain } from "./cli-run.js";

const usageMessage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.instance(err, UsageError, `not a UsageError: ${String(err)}`);
    return (err as Error).message;
  }
  assert.unreachable("no error thrown");
  return "";
};

const OPTIONS = { epochs: { type: "string" }, resume: { type: "boolean" }, model: { type: "string", multiple: true }, seed: { type: "string", default: "0" } } as const;

test("parseFlags: values, defaults and the flags typed", () => {
  const { values, given, positionals } = parseFlags(["--epochs", "3", "--resume", "--model", "a", "--model", "b"], OPTIONS);
  assert.equal({ ...values }, { epochs: "3", resume: true, model: ["a", "b"], seed: "0" });
  assert.equal([...given].sort(), ["epochs", "model", "resume"]);
  assert.equal(positionals, []);
});

test("parseFlags: each parse error is one line naming the flag and the fix", () => {
  assert.match(usageMessage(() => parseFlags(["--epochs"], OPTIONS)), /^--epochs needs a value/);
  assert.match(usageMessage(() => parseFlags(["--epochs", "--resume"], OPTIONS)), /^--epochs needs a value.*--epochs=VALUE/);
  assert.match(usageMessage(() => parseFlags(["extra"], OPTIONS)), /^unexpected argument 'extra'/);
  assert.match(usageMessage(() => parseFlags(["--resume=yes"], OPTIONS)), /^--resume is a switch and takes no value/);
  assert.match(usageMessage(() => parseFlags(["--epoch", "3"], OPTIONS)), /^unknown option '--epoch' \(did you mean --epochs\?\)/);
  assert.match(usageMessage(() => parseFlags(["--colour"], OPTIONS)), /^unknown option '--colour'; --help/);
  for (const message of [
    usageMessage(() => parseFlags(["--epochs"], OPTIONS)),
    usageMessage(() => parseFlags(["x"], OPTIONS)),
  ]) assert.not.ok(message.includes("\n"), message);
});

test("parseFlags: a repeated flag is refused unless it is repeatable", () => {
  assert.is(usageMessage(() => parseFlags(["--epochs", "1", "--epochs", "2"], OPTIONS)), "--epochs given twice: give it once");
  assert.is(usageMessage(() => parseFlags(["--resume", "--resume", "--resume"], OPTIONS)), "--resume given 3 times: give it once");
  assert.is(usageMessage(() => parseFlags(["--epochs=1", "--epochs", "1"], OPTIONS)), "--epochs given twice: give it once");
  assert.equal(parseFlags(["--model", "a", "--model", "a"], OPTIONS).values.model, ["a", "a"]);
});

test("parseFlags: a negative number after a flag is its value; positionals only when allowed", () => {
  assert.is(parseFlags(["--epochs", "-1"], OPTIONS).values.epochs, "-1");
  assert.is(parseFlags(["--epochs", "-.5e-3"], OPTIONS).values.epochs, "-.5e-3");
  assert.is(parseFlags(["--epochs", "-Infinity"], OPTIONS).values.epochs, "-Infinity");
  assert.equal(parseFlags(["fetch", "mnist"], OPTIONS, { positionals: true }).positionals, ["fetch", "mnist"]);
});

test("integer and number: empty, NaN, infinite and out-of-range values name the flag", () => {
  for (const raw of ["", " ", "NaN", "Infinity", "1.5", "abc", "1e400", "9007199254740993"]) {
    assert.match(usageMessage(() => integer("--seed", raw)), /^--seed must be a whole number/, raw);
  }
  for (const raw of ["", "NaN", "Infinity", "-Infinity", "abc"]) {
    assert.match(usageMessage(() => number("--lr", raw, { positive: true })), /^--lr must be a number/, raw);
  }
  assert.match(usageMessage(() => number("--lr", "0", { positive: true })), /^--lr must be positive \(got 0\)/);
  assert.match(usageMessage(() => integer("--k", "0", 1)), /^--k must be at least 1 \(got 0\)/);
});

// Every numeric flag of every command that computes, with values it must refuse.
// Runs go through main() in this process: each fails before a model or data loads
// (train gets an --out under /proc, so that a value wrongly accepted ends there, not in training).
const POSITIVE = ["-1", "0", "NaN", "abc"];
const COUNT = ["-1", "0", "NaN", "1.5"];
const NON_NEGATIVE = ["-1", "NaN", "Infinity"];
const NON_NEGATIVE_INT = ["-1", "NaN", "0.5"];
const PROBABILITY = ["-1", "0", "1", "NaN"];
const NUMERIC_FLAGS: { command: string; base: string[]; flags: Record<string, string[]> }[] = [
  {
    command: "train", base: ["--out", "/proc/lipvae-never"],
    flags: {
      lipschitz: POSITIVE, "lipschitz-decoder": POSITIVE, "lipschitz-mean": POSITIVE, "lipschitz-std": POSITIVE,
      lr: POSITIVE, "finetune-lr": POSITIVE, "latent-dim": COUNT, hidden: COUNT, k: COUNT, "k-finetune": COUNT,
      "batch-size": COUNT, epochs: COUNT, "max-epochs": COUNT, "finetune-epochs": COUNT, "train-limit": COUNT,
      "validation-limit": COUNT, beta: NON_NEGATIVE, tolerance: NON_NEGATIVE, "bjorck-tol": NON_NEGATIVE, seed: NON_NEGATIVE_INT,
    },
  },
  { command: "train", base: ["--out", "/proc/lipvae-never", "--sigma", "fixed"], flags: { gamma: POSITIVE } },
  { command: "train", base: ["--out", "/proc/lipvae-never", "--sigma", "constrained"], flags: { "desired-radius": POSITIVE, "clip-norm": POSITIVE } },
  { command: "eval", base: ["--model", "/nonexistent/model"], flags: { images: COUNT, "batch-size": COUNT, seed: NON_NEGATIVE_INT } },
  { command: "certify", base: ["--model", "/nonexistent/model"], flags: { images: COUNT, r: POSITIVE, eps: PROBABILITY } },
  {
    command: "attack", base: ["--model", "/nonexistent/model", "--kind", "latent"],
    flags: {
      images: COUNT, first: NON_NEGATIVE_INT, radius: POSITIVE, lambda: NON_NEGATIVE, samples: COUNT, steps: COUNT,
      "step-size": POSITIVE, restarts: COUNT, seed: NON_NEGATIVE_INT,
    },
  },
  {
    command: "margin", base: ["--model", "/nonexistent/model"],
    flags: {
      images: COUNT, first: NON_NEGATIVE_INT, r: POSITIVE, eps: ["-1", "1", "NaN"], "max-radius": POSITIVE, step: POSITIVE,
      samples: COUNT, confidence: PROBABILITY, refine: NON_NEGATIVE_INT, "attack-samples": COUNT, steps: COUNT,
      "step-size": POSITIVE, restarts: COUNT, seed: NON_NEGATIVE_INT,
    },
  },
  {
    command: "plot", base: ["bounds", "--out", "/proc/lipvae-never"],
    flags: { a: POSITIVE, b: POSITIVE, c: NON_NEGATIVE, r: POSITIVE, dz: COUNT, "max-delta": POSITIVE, points: COUNT, scale: POSITIVE },
  },
  // design needs all four numbers: each case gives the other three valid ones.
  ...Object.entries({ r: POSITIVE, eps: PROBABILITY, dz: COUNT, margin: POSITIVE }).map(([flag, bad]) => ({
    command: "design",
    base: Object.entries({ r: "1", eps: "0.5", dz: "2", margin: "1" }).filter(([other]) => other !== flag).flatMap(([other, v]) => [`--${other}`, v]),
    flags: { [flag]: bad },
  })),
];

test("every numeric flag of every command refuses negative, zero (where meaningless), NaN and non-numbers", async () => {
  for (const { command, base, flags } of NUMERIC_FLAGS) {
    for (const [flag, bad] of Object.entries(flags)) {
      for (const value of bad) {
        const r = await runMain([command, ...base, `--${flag}`, value]);
        assertUsageLine(r, command, `--${flag}`);
      }
    }
  }
});

test("the flags that may be 0 accept it (the run then stops at the missing model or the /proc --out)", async () => {
  const zeroOk: [string, string[], string[]][] = [
    ["train", ["--out", "/proc/lipvae-never"], ["seed", "beta", "tolerance", "bjorck-tol"]],
    ["eval", ["--model", "/nonexistent/model"], ["seed"]],
    ["attack", ["--model", "/nonexistent/model", "--kind", "latent"], ["first", "lambda", "seed"]],
    ["margin", ["--model", "/nonexistent/model"], ["first", "refine", "seed", "eps"]],
  ];
  for (const [command, base, flags] of zeroOk) {
    for (const flag of flags) {
      const r = await runMain([command, ...base, `--${flag}`, "0"]);
      assertUsageLine(r, command, command === "train" ? "/proc/lipvae-never is inside /proc" : "/nonexistent/model");
    }
  }
});

test("user errors are one line (status 2, file-system failures 1); bugs and LIPVAE_DEBUG keep the stack trace", async () => {
  const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write" });
  assert.equal(userErrorLine(enospc), { line: "ENOSPC: no space left on device, write", status: 1 });
  assert.equal(userErrorLine(new UsageError("--k must be at least 1")), { line: "--k must be at least 1", status: 2 });
  assert.equal(userErrorLine(new LipvaeError("model x does not exist")), { line: "model x does not exist", status: 2 });
  assert.is(userErrorLine(new TypeError("x is undefined")), null);
  process.env.LIPVAE_DEBUG = "1";
  try {
    let thrown: unknown = null;
    await runMain(["train", "--k", "0"]).catch((err) => (thrown = err));
    assert.instance(thrown, UsageError);
  } finally {
    delete process.env.LIPVAE_DEBUG;
  }
});

test("a missing value, a stray word and a repeated flag are one usage line in every command", async () => {
  const cases: [string[], string, string][] = [
    [["train", "--epochs"], "train", "--epochs needs a value"],
    [["train", "--lipschitz", "-1", "--out", "/proc/x"], "train", "--lipschitz must be positive (got -1)"],
    [["train", "extra"], "train", "unexpected argument 'extra'"],
    [["train", "--epochs", "1", "--epochs", "2"], "train", "--epochs given twice"],
    [["certify", "--model"], "certify", "--model needs a value"],
    [["certify", "stray", "--model", "x"], "certify", "unexpected argument 'stray'"],
    [["certify", "--r", "1", "--r", "2"], "certify", "--r given twice"],
    [["eval", "--model"], "eval", "--model needs a value"],
    [["eval", "--model", "a", "--model", "b"], "eval", "--model given twice"],
    [["export", "--out"], "export", "--out needs a value"],
    [["export", "--model", "a", "--model", "b"], "export", "--model given twice"],
    [["attack", "--kind", "latent", "--kind", "max-damage"], "attack", "--kind given twice"],
    [["margin", "--seed", "1", "--seed", "1"], "margin", "--seed given twice"],
    [["data", "info", "--dataset"], "data", "--dataset needs a value"],
    [["version", "--foo"], "version", "unknown option '--foo'"],
    [["version", "--threads", "1", "--threads", "2"], "version", "--threads given twice"],
  ];
  for (const [args, command, fragment] of cases) assertUsageLine(await runMain(args), command, fragment);
});

test("every option of every command appears in its help", async () => {
  for (const entry of commands) {
    const command = await entry.load();
    assert.ok(command.options, `${command.name} exposes no option table`);
    for (const name of Object.keys(command.options!)) {
      assert.match(command.usage, new RegExp(`--${name}(?![\\w-])`), `lipvae ${command.name} --help does not mention --${name}`);
    }
  }
});

test("lipvae --version is lipvae version; lipvae help X is lipvae X --help", async () => {
  const version = await runMain(["version"]);
  const flag = await runMain(["--version"]);
  assert.is(flag.status, 0);
  assert.match(flag.stdout, /^lipvae \d+\.\d+\.\d+ \(wasm build: \w+\)\n$/);
  assert.is(flag.stdout, version.stdout);
  for (const entry of commands) {
    const help = await runMain(["help", entry.name]);
    const direct = await runMain([entry.name, "--help"]);
    assert.is(help.status, 0, entry.name);
    assert.is(help.stdout, direct.stdout, entry.name);
    assert.ok(help.stdout.length > 20, entry.name);
  }
  const unknown = await runMain(["help", "trian"]);
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, /^lipvae: unknown command 'trian' \(the commands are train, /);
  assert.is(unknown.stderr.trimEnd().split("\n").length, 1);
});

test.run();
