// `lipvae bounds --jsonl` as a stream: answer N is for input line N (blank,
// non-JSON, deeply nested or over-long lines included, each error carrying its
// line number), one bad line never stops the rest, a reader that goes away
// (| head -1) ends the run quietly, and output waits for a slow reader.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { Writable } from "node:stream";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { answerQuery, QUERY_LINE_LIMITS } from "../src/bounds/query.js";
import { LineWriter } from "../src/cli/line-writer.js";
import { tempDir } from "./io-util.js";

const { dir, cleanup } = tempDir("lipvae-jsonl-");
test.after(cleanup);
const BIN = path.join(projectRoot, "bin", "lipvae.js");

function jsonl(input: string) {
  const run = spawnSync(process.execPath, [BIN, "bounds", "--jsonl"], { input, encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const query = (id: number) => ({ id, bound: "lemma2", form: "tight", a: 10, b: 10, c: 10, r: 8, dz: 10, eps: 0.5, sigmaNorm: (id % 100) / 100 });

test("a line of 5,000 nested brackets is answered with an error, and the lines after it still are", () => {
  const run = jsonl(["[".repeat(5000) + "]".repeat(5000), JSON.stringify(query(2)), "{".repeat(5000)].join("\n"));
  assert.is(run.status, 1, run.stderr);
  assert.not.match(run.stderr, /RangeError|at /, "no stack trace");
  const answers = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.is(answers.length, 3);
  assert.equal([answers[0].id, answers[0].line], [null, 1]);
  assert.match(answers[0].error, /nested more than/);
  assert.equal(answers[1], answerQuery(query(2)));
  assert.is(answers[2].line, 3);
});

test("10^4 lines: every line answered in order with its number; bad lines (blank, not JSON, invalid, too long) do not stop the rest", () => {
  const n = 10_000;
  const lines: string[] = [];
  const kinds: string[] = [];
  for (let i = 1; i <= n; i++) {
    const kind = i % 97 === 0 ? "blank" : i % 89 === 0 ? "garbage" : i % 83 === 0 ? "invalid" : i === 5000 ? "long" : "valid";
    kinds.push(kind);
    lines.push(kind === "blank" ? "" : kind === "garbage" ? "{not json" : kind === "invalid" ? JSON.stringify({ ...query(i), a: -1 })
      : kind === "long" ? JSON.stringify({ ...query(i), pad: "x".repeat(QUERY_LINE_LIMITS.maxLength) }) : JSON.stringify(query(i)));
  }
  const run = jsonl(lines.join("\r\n"));
  assert.is(run.status, 1);
  const answers = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.is(answers.length, n, "one answer per input line");
  let bad = 0;
  answers.forEach((answer, i) => {
    const number = i + 1;
    if (kinds[i] === "valid") {
      assert.equal(answer, answerQuery(query(number)), `line ${number}`);
    } else {
      bad++;
      assert.is(answer.line, number, `line ${number} (${kinds[i]})`);
      assert.is(answer.id, kinds[i] === "invalid" ? number : null);
      assert.type(answer.error, "string");
    }
  });
  assert.match(answers[4999].error, /line longer than/);
  assert.match(run.stderr, new RegExp(`^lipvae bounds: ${bad} invalid queries\\n$`));
});

test("a line that is not UTF-8 gets an error answer with its number; the next line is answered", () => {
  const input = Buffer.concat([Buffer.from([0xff, 0xfe, 0x7b, 0x0a]), Buffer.from(JSON.stringify(query(2)) + "\n")]);
  const run = spawnSync(process.execPath, [BIN, "bounds", "--jsonl"], { input, encoding: "utf8", timeout: 60_000 });
  const answers = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(answers[0], { id: null, line: 1, error: "line 1: line is not valid UTF-8" });
  assert.equal(answers[1], answerQuery(query(2)));
});

test("| head -1: the reader going away ends the run quietly, no EPIPE trace", () => {
  const file = path.join(dir, "many.jsonl");
  writeFileSync(file, Array.from({ length: 20_000 }, (_, i) => JSON.stringify(query(i))).join("\n"));
  const run = spawnSync("/bin/sh", ["-c", `"${process.execPath}" "${BIN}" bounds --jsonl < "${file}" 2>"${file}.err" | head -1; cat "${file}.err"`], { encoding: "utf8", timeout: 120_000 });
  // head's one line, then lipvae's stderr: empty.
  assert.is(run.stdout, JSON.stringify(answerQuery(query(0))) + "\n", "one answer and nothing on stderr");
});

test("LineWriter waits for 'drain': a slow reader holds the writer back instead of lines piling up", async () => {
  let buffered = 0, peak = 0;
  const received: string[] = [];
  const slow = new Writable({
    highWaterMark: 64,
    write(chunk, _enc, done) {
      received.push(String(chunk));
      setImmediate(done);
    },
  });
  const out = new LineWriter(slow);
  for (let i = 0; i < 2000; i++) {
    assert.ok(await out.write(`line ${i}\n`));
    buffered = slow.writableLength;
    peak = Math.max(peak, buffered);
  }
  await new Promise((resolve) => slow.end(resolve));
  assert.is(received.length, 2000);
  assert.is(received[1999], "line 1999\n");
  assert.ok(peak <= 64 + 16, `at most one line beyond the high-water mark buffered (peak ${peak} bytes)`);
});

test("LineWriter reports a closed reader (EPIPE) as false, other write errors as a LipvaeError", async () => {
  const failing = (code: string) => new Writable({
    write(_chunk, _enc, done) {
      done(Object.assign(new Error(`write ${code}`), { code }));
    },
  });
  // The error surfaces on the write after it happened, or while waiting for 'drain'.
  const writeTwice = async (out: LineWriter) => (await out.write("a\n")) && (await new Promise((resolve) => setImmediate(resolve)), await out.write("b\n"));
  assert.is(await writeTwice(new LineWriter(failing("EPIPE"))), false);
  try {
    await writeTwice(new LineWriter(failing("ENOSPC")));
    assert.unreachable("ENOSPC must not pass silently");
  } catch (err) {
    assert.is((err as Error).name, "LipvaeError");
    assert.match((err as Error).message, /cannot write the output \(write ENOSPC\)/);
  }
});

test.run();
