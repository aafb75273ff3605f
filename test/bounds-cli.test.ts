// End to end: `lipvae bounds --jsonl` (the batch contract), the flag form,
// `lipvae design` and `lipvae plot bounds`, each run as a child process.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { answerQuery } from "../src/bounds/query.js";
import { formatNumber } from "../src/cli/bounds.js";

function lipvae(args: string[], input?: string) {
  const run = spawnSync(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), ...args], {
    cwd: projectRoot,
    input,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const VALID = [
  { id: 1, bound: "theorem1", a: 5, b: 5, c: 5, r: 5, dz: 5, sigmaNorm: 0.1, delta: 0.02 },
  { id: "two", bound: "lemma2", form: "tight", a: 10, b: 10, c: 10, r: 8, dz: 10, eps: 0.5, sigmaNorm: 0.2 },
  { id: 3, bound: "theorem3", form: "tight", a: 10, b: 10, r: 8, dz: 3, eps: 0.5, sigma: [0.1, 0.1, 0.1] },
];

test("bounds --jsonl answers every line in order, errors in place, exit status 1", () => {
  const lines = [
    JSON.stringify(VALID[0]),
    JSON.stringify({ ...VALID[1], a: -1 }),
    JSON.stringify(VALID[1]),
    "",
    "this is not JSON",
    JSON.stringify({ ...VALID[2], eps: 0 }),
    JSON.stringify(VALID[2]),
    JSON.stringify({ bound: "theorem1" }),
  ];
  const run = lipvae(["bounds", "--jsonl"], lines.join("\n") + "\n");
  assert.is(run.status, 1, run.stderr);
  const answers = run.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.is(answers.length, 8, "one answer per input line, blank ones included");
  assert.equal(answers[0], answerQuery(VALID[0]));
  assert.equal(answers[1].id, "two");
  assert.is(answers[1].line, 2);
  assert.match(answers[1].error, /a must be > 0/);
  assert.equal(answers[2], answerQuery(VALID[1]));
  assert.equal([answers[3].id, answers[3].line], [null, 4]);
  assert.match(answers[3].error, /blank line/);
  assert.equal([answers[4].id, answers[4].line], [null, 5]);
  assert.match(answers[4].error, /line 5 is not valid JSON/);
  assert.is(answers[5].id, 3);
  assert.match(answers[5].error, /eps must be in \(0, 1\)/);
  assert.equal(answers[6], answerQuery(VALID[2]));
  assert.is(answers[7].id, null);
  assert.is(answers[7].line, 8);
  assert.match(answers[7].error, /missing field 'id'/);
  assert.match(run.stderr, /5 invalid queries/);
});

test("bounds --jsonl with only valid queries exits 0; empty input gives no output", () => {
  const run = lipvae(["bounds", "--jsonl"], VALID.map((q) => JSON.stringify(q)).join("\r\n"));
  assert.is(run.status, 0, run.stderr);
  const answers = run.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.equal(answers, VALID.map(answerQuery));
  const empty = lipvae(["bounds", "--jsonl"], "");
  assert.is(empty.status, 0);
  assert.is(empty.stdout, "");
});

test("bounds with flags prints a readable table; bad flags give one line and status 2", () => {
  const run = lipvae([
    "bounds", "--bound", "theorem1", "--a", "5", "--b", "5", "--c", "5", "--r", "5", "--dz", "5",
    "--sigmaNorm", "0.1", "--delta", "0,0.02", "--form", "both",
  ]);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /paper p1/);
  assert.match(run.stdout, /tight probability/);
  assert.match(run.stdout, /0\.123695/, "paper p2 at ‖δ‖ = 0.02");
  const margin = lipvae([
    "bounds", "--bound", "theorem3", "--a", "10", "--b", "10", "--r", "8", "--dz", "10", "--eps", "0.5",
    "--sigma-norm", "0.0632456",
  ]);
  assert.is(margin.status, 0, margin.stderr);
  assert.match(margin.stdout, /margin\s+0\.0551/);
  for (const args of [
    ["bounds", "--bound", "lemma2", "--a", "abc"],
    ["bounds", "--bound", "lemma2", "--a=-1", "--b", "1", "--c", "1", "--r", "1", "--dz", "2", "--eps", "0.5", "--sigmaNorm", "0"],
    ["bounds", "--bound", "lemma2", "--a", "1", "--b", "1", "--c", "1", "--r", "1", "--dz", "2", "--eps", "0", "--sigmaNorm", "0"],
    ["bounds", "--jsonl", "--a", "1"],
    ["bounds", "--nonsense"],
    ["bounds"],
  ]) {
    const bad = lipvae(args);
    assert.is(bad.status, 2, `${args.join(" ")}: ${bad.stderr}`);
    assert.is(bad.stderr.trim().split("\n").length >= 1 && !/\n\s+at /.test(bad.stderr), true, "no stack trace");
    assert.match(bad.stderr, /^lipvae bounds: /);
  }
});

test("bounds --sigma-cap: the tight form refuses an impossible ‖σ‖ in one line; a cap or none answers", () => {
  const lemma = ["bounds", "--bound", "lemma2", "--a", "0.25", "--b", "1", "--c", "0.25", "--r", "8", "--dz", "1", "--sigma-norm", "100", "--eps", "0.5"];
  const query = { id: "flags", bound: "lemma2", a: 0.25, b: 1, c: 0.25, r: 8, dz: 1, sigmaNorm: 100, eps: 0.5 };
  const refused = lipvae([...lemma, "--form", "tight"]);
  assert.is(refused.status, 2);
  assert.is(refused.stderr.trim().split("\n").length, 1, refused.stderr);
  assert.match(refused.stderr, /^lipvae bounds: sigmaNorm \(100\) exceeds sqrt\(dz\)·sigmaCap = 1, .*use the paper form/);
  const paper = lipvae(lemma);
  assert.is(paper.status, 0, paper.stderr);
  for (const [flag, cap] of [["none", null], ["200", 200]] as const) {
    for (const name of ["--sigma-cap", "--sigmaCap"]) {
      const run = lipvae([...lemma, "--form", "tight", name, flag]);
      assert.is(run.status, 0, run.stderr);
      const answer = answerQuery({ ...query, form: "tight", sigmaCap: cap }) as { margin: number };
      assert.ok(Number.isFinite(answer.margin));
      assert.match(run.stdout, new RegExp(`margin\\s+${formatNumber(answer.margin).replace(".", "\\.")}`));
    }
  }
  const both = lipvae([...lemma, "--sigma-cap", "1", "--sigmaCap", "1"]);
  assert.is(both.status, 2);
  assert.match(both.stderr, /give --sigmaCap or --sigma-cap, not both/);
  const bad = lipvae([...lemma, "--sigma-cap=-1"]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /sigmaCap must be > 0, or null for no cap/);
  const jsonl = lipvae(["bounds", "--jsonl"], [
    JSON.stringify({ ...query, form: "tight" }),
    JSON.stringify({ ...query, form: "tight", sigmaCap: null }),
  ].join("\n"));
  assert.is(jsonl.status, 1);
  const answers = jsonl.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.match(answers[0].error, /exceeds sqrt\(dz\)·sigmaCap/);
  assert.equal(answers[1], answerQuery({ ...query, form: "tight", sigmaCap: null }));
  assert.match(lipvae(["bounds", "--help"]).stdout, /--sigma-cap K\|none/);
});

test("design prints the table and JSON; its σ reproduce the margin", () => {
  const run = lipvae(["design", "--r", "8", "--eps", "0.5", "--dz", "10", "--margin", "0.1"]);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /M < 8\.94427/);
  assert.match(run.stdout, /tight γ/);
  const json = lipvae(["design", "--r", "8", "--eps", "0.5", "--dz", "10", "--margin", "0.1", "--M", "5,10", "--json"]);
  assert.is(json.status, 0, json.stderr);
  const design = JSON.parse(json.stdout);
  assert.is(design.rows.length, 2);
  assert.ok(design.rows[0].tightGamma > design.rows[0].paperGamma);
  assert.is(design.rows[1].tightGamma, 0, "M = 10 is above the maximum");
  const bad = lipvae(["design", "--r", "8", "--eps", "1", "--dz", "10", "--margin", "0.1"]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--eps must be in \(0, 1\)/);
});

test("plot bounds writes Figure 2 as SVG and PNG", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lipvae-fig2-"));
  try {
    const run = lipvae(["plot", "bounds", "--out", dir, "--tight", "--points", "61"]);
    assert.is(run.status, 0, run.stderr);
    const svg = readFileSync(path.join(dir, "fig2-bounds.svg"), "utf8");
    assert.match(svg, /^<svg/);
    assert.match(svg, /p2 \(paper, chi-square\)/);
    assert.match(svg, /p1 \(tight\)/);
    const png = readFileSync(path.join(dir, "fig2-bounds.png"));
    assert.equal([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "PNG signature");
    assert.ok(png.readUInt32BE(16) >= 500, "PNG width");
    const missing = lipvae(["plot"]);
    assert.is(missing.status, 2);
    assert.match(missing.stderr, /missing subcommand; one of: bounds/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
