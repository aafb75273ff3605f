#!/usr/bin/env node
// Streams N query lines (default 10^6) through `lipvae bounds --jsonl` over
// pipes and reports lines per second and the child's resident memory over the
// run (from /proc, Linux only): RSS must stay flat, whatever N. Every answer is
// checked to be for its line (ids in order). A timing on a loaded machine is
// not a measurement of the code; the RSS profile is what this script is for.
// Usage: node scripts/jsonl-throughput.js [lines]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const total = Number(process.argv[2] ?? 1_000_000);
if (!Number.isSafeInteger(total) || total < 1) {
  console.error("usage: node scripts/jsonl-throughput.js [lines > 0]");
  process.exit(2);
}
const child = spawn(process.execPath, [path.join(root, "bin", "lipvae.js"), "bounds", "--jsonl"], { stdio: ["pipe", "pipe", "inherit"] });

// Every 10th line is invalid (a = -1): errors are part of a real batch.
const line = (i) => `{"id":${i},"bound":"lemma2","form":"tight","a":${i % 10 === 0 ? -1 : 10},"b":10,"c":10,"r":8,"dz":10,"eps":0.5,"sigmaNorm":${(i % 1000) / 1000}}\n`;

function memory() {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
    const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

let sent = 0;
function feed() {
  while (sent < total) {
    let chunk = "";
    for (let k = 0; k < 256 && sent < total; k++) chunk += line(++sent);
    if (!child.stdin.write(chunk)) return void child.stdin.once("drain", feed);
  }
  child.stdin.end();
}

const started = performance.now();
let received = 0, pending = "", peak = 0;
const samples = [];
child.stdout.setEncoding("utf8");
child.stdout.on("data", (text) => {
  const parts = (pending + text).split("\n");
  pending = parts.pop();
  for (const part of parts) {
    received++;
    const id = JSON.parse(part).id;
    if (id !== received) {
      console.error(`answer ${received} has id ${id}: out of order`);
      process.exit(1);
    }
  }
});
const timer = setInterval(() => {
  const m = memory();
  if (m) {
    peak = Math.max(peak, m.peak);
    samples.push({ at: received, rss: m.rss });
  }
}, 250);
child.on("close", (code) => {
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  if (received !== total) {
    console.error(`${received} answers for ${total} lines (exit status ${code})`);
    process.exit(1);
  }
  console.log(`${total} lines in ${seconds.toFixed(1)} s: ${Math.round(total / seconds)} lines/s (exit status ${code}: every 10th query invalid)`);
  if (samples.length > 0) {
    const pick = [0.1, 0.25, 0.5, 0.75, 1].map((f) => samples[Math.min(samples.length - 1, Math.floor(f * (samples.length - 1)))]);
    console.log(`child RSS (MB) after ${pick.map((s) => `${s.at} lines: ${s.rss.toFixed(0)}`).join(", ")}; peak ${peak.toFixed(0)} MB`);
  }
});
feed();
