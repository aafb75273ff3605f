// The HTTP server of `lipvae serve`: GET and HEAD of the site's exact paths,
// 404 for everything else, and headers that only tighten browser defaults.
// No COOP/COEP: the page runs on a non-shared memory (docs/browser.md), so it
// needs no cross-origin isolation.

import http from "node:http";
import type { AddressInfo } from "node:net";
import { LipvaeError } from "../errors.js";
import type { Site } from "./site.js";

const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
  // Everything from this server; 'wasm-unsafe-eval' is what compiling WebAssembly needs.
  "Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; " +
    "worker-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "Cache-Control": "no-cache",
};

/** The site path a request asks for: the URL path without its query, "/" meaning the page. Never decoded. */
export function requestPath(url: string | undefined): string {
  const p = (url ?? "").split(/[?#]/, 1)[0];
  return p === "/" ? "/index.html" : p;
}

export function handler(site: Site): http.RequestListener {
  return (req, res) => {
    const send = (status: number, body: Uint8Array | string, type: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": type, "Content-Length": String(Buffer.byteLength(body)), ...extra });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(405, "method not allowed\n", "text/plain; charset=utf-8", { Allow: "GET, HEAD" });
      return;
    }
    const file = site.get(requestPath(req.url));
    if (!file) send(404, "not found\n", "text/plain; charset=utf-8");
    else send(200, file.bytes, file.type);
  };
}

/** Listens on host:port (port 0: any free port); resolves to the address in use. */
export function listen(site: Site, host: string, port: number): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler(site));
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") reject(new LipvaeError(`port ${port} on ${host} is already in use: choose another with --port N (--port 0 picks a free one)`));
      else if (err.code === "EACCES") reject(new LipvaeError(`not allowed to listen on ${host}:${port}: use a port above 1023 with --port N`));
      else if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") reject(new LipvaeError(`cannot listen on --host ${host}: not an address of this machine`));
      else reject(err);
    });
    server.listen(port, host, () => {
      const { address, port: actual } = server.address() as AddressInfo;
      const shown = address.includes(":") ? `[${address}]` : address;
      resolve({ server, url: `http://${shown}:${actual}/` });
    });
  });
}
