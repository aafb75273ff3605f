// lipvae serve's HTTP server: only the site's exact paths are served (raw
// requests with traversal tricks get 404), with the right MIME types and
// headers that only tighten browser defaults; --build writes the same files.
import { test } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import http from "node:http";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { buildSite, WEB_DIR, type Site } from "../src/server/site.js";
import { listen } from "../src/server/http.js";
import { writeSite } from "../src/cli/serve.js";
import { projectRoot } from "../src/paths.js";
import { servedTinyModel } from "./serve-fixture.js";

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends `GET <target>` exactly as written (no URL normalisation) and parses the reply. */
function raw(port: number, target: string, method = "GET"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      const [statusLine, ...lines] = all.subarray(0, split).toString("latin1").split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(":");
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: all.subarray(split + 4) });
    });
  });
}

async function withServer(site: Site, fn: (port: number) => Promise<void>): Promise<void> {
  const { server, url } = await listen(site, "127.0.0.1", 0);
  try {
    await fn(Number(new URL(url).port));
  } finally {
    server.close();
  }
}

test("the page, the wasm and the model files are served with their MIME types and strict headers", async () => {
  const { model } = await servedTinyModel();
  await withServer(buildSite([model]), async (port) => {
    const expect: [string, string][] = [
      ["/", "text/html; charset=utf-8"],
      ["/index.html", "text/html; charset=utf-8"],
      ["/app.js", "text/javascript; charset=utf-8"],
      ["/style.css", "text/css; charset=utf-8"],
      ["/lipvae-browser-simd.wasm", "application/wasm"],
      ["/lipvae-browser-relaxed.wasm", "application/wasm"],
      ["/models.json", "application/json"],
      ["/models/0/export.safetensors", "application/octet-stream"],
    ];
    for (const [target, type] of expect) {
      const r = await raw(port, target);
      assert.is(r.status, 200, target);
      assert.is(r.headers["content-type"], type, target);
      assert.is(r.headers["x-content-type-options"], "nosniff", target);
      assert.ok(r.headers["content-security-policy"].includes("default-src 'self'"), target);
      // The page runs on a non-shared memory: no cross-origin isolation headers.
      assert.is(r.headers["cross-origin-opener-policy"], undefined, target);
      assert.is(r.headers["cross-origin-embedder-policy"], undefined, target);
      assert.is(r.headers["access-control-allow-origin"], undefined, target);
    }
    assert.equal(new Uint8Array((await raw(port, "/models/0/export.safetensors")).body), model.exportBytes);
    assert.equal((await raw(port, "/lipvae-browser-simd.wasm")).body, readFileSync(path.join(WEB_DIR, "lipvae-browser-simd.wasm")));
    const manifest = JSON.parse((await raw(port, "/models.json")).body.toString());
    assert.is(manifest.models[0].exportPath, "models/0/export.safetensors");
    const head = await raw(port, "/index.html", "HEAD");
    assert.is(head.status, 200);
    assert.is(head.body.length, 0);
  });
});

test("traversal, encoded paths, absolute paths and other methods are refused", async () => {
  const { model } = await servedTinyModel();
  await withServer(buildSite([model]), async (port) => {
    const targets = [
      "/../package.json", "/../../../../etc/passwd", "/%2e%2e/package.json", "/%2E%2E/%2E%2E/package.json",
      "/..%2fpackage.json", "/%2e%2e%2fpackage.json", "/models/0/..%2f..%2findex.html", "/models/0/%2e%2e/%2e%2e/index.html",
      "/models/../index.html", "/./index.html", "//etc/passwd", "/etc/passwd", "/work/../index.html",
      "/..\\package.json", "/%5c..%5cpackage.json", "/index.html%00", "/INDEX.HTML", "/models/0/model.safetensors",
      "/models/0/model.json", "/package.json", "/dist/web/index.html", "http://127.0.0.1/../package.json", "*",
    ];
    for (const target of targets) {
      const r = await raw(port, target);
      assert.is(r.status === 404 || r.status === 400, true, `${target}: ${r.status}`);
      assert.not.ok(r.body.toString().includes("lipvae"), `${target} leaked content`);
    }
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) assert.is((await raw(port, "/index.html", method)).status, 405, method);
  });
});

test("symlinks in the page folder are not served", async () => {
  const { model } = await servedTinyModel();
  const dir = mkdtempSync(path.join(tmpdir(), "lipvae-web-"));
  try {
    cpSync(WEB_DIR, dir, { recursive: true });
    writeFileSync(path.join(dir, "..", `${path.basename(dir)}-secret.txt`), "secret");
    symlinkSync(path.join(projectRoot, "package.json"), path.join(dir, "linked.json"));
    symlinkSync(projectRoot, path.join(dir, "root"));
    await withServer(buildSite([model], dir), async (port) => {
      assert.is((await raw(port, "/index.html")).status, 200);
      for (const target of ["/linked.json", "/root/package.json", "/root"]) assert.is((await raw(port, target)).status, 404, target);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-secret.txt`, { force: true });
  }
});

test("a busy port is one clear error", async () => {
  const { model } = await servedTinyModel();
  const site = buildSite([model]);
  const { server, url } = await listen(site, "127.0.0.1", 0);
  try {
    const port = Number(new URL(url).port);
    try {
      await listen(site, "127.0.0.1", port);
      assert.unreachable("listening twice on one port must fail");
    } catch (err) {
      assert.is((err as Error).name, "LipvaeError");
      assert.match((err as Error).message, `port ${port} on 127.0.0.1 is already in use`);
    }
  } finally {
    server.close();
  }
});

test("listens on 127.0.0.1 by default: the CLI reports the address", async () => {
  const { dir } = await servedTinyModel();
  const child = (await import("node:child_process")).spawn(process.execPath,
    [path.join(projectRoot, "bin", "lipvae.js"), "serve", "--model", dir, "--port", "0", "--samples", "4"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = "", err = "";
      child.stderr.on("data", (c) => (err += c));
      child.stdout.on("data", (c) => {
        out += c;
        if (out.includes("\n")) resolve(out);
      });
      child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
    });
    const url = /serving (http:\/\/\S+)/.exec(line)![1];
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const status = await new Promise<number>((resolve) => http.get(url, (res) => resolve(res.statusCode!)));
    assert.is(status, 200);
  } finally {
    child.kill("SIGINT");
  }
});

test("bad flags are one line and exit status 2", () => {
  const cases: [string[], RegExp][] = [
    [["--port", "70000"], /--port must be at most 65535/],
    [["--port", "http"], /--port must be a whole number/],
    [["--samples", "0"], /--samples must be at least 1/],
    [["--model", "/nonexistent/model"], /does not exist/],
    [["--build", path.join(projectRoot, "package.json")], /is a file/],
  ];
  for (const [argv, message] of cases) {
    const r = spawnSync(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), "serve", ...argv], { encoding: "utf8" });
    assert.is(r.status, 2, argv.join(" "));
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split("\n").length, 1, `${argv.join(" ")}: ${r.stderr}`);
  }
});

test("--build writes exactly the served files", async () => {
  const { model } = await servedTinyModel();
  const site = buildSite([model]);
  const out = mkdtempSync(path.join(tmpdir(), "lipvae-site-"));
  try {
    writeSite(site, out);
    for (const [urlPath, file] of site) assert.equal(new Uint8Array(readFileSync(path.join(out, urlPath))), new Uint8Array(file.bytes), urlPath);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
