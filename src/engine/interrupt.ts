// Ctrl-C that is seen while JavaScript runs synchronously. Node delivers SIGINT
// to a `process.on` handler only between event-loop turns, so during a long
// training step (seconds with a wide --hidden) the user's Ctrl-C seemed
// ignored. A worker thread has its own event loop: it watches SIGINT too and
// counts signals in shared memory, and pollInterrupt() — which the tape calls
// after every op — notices a new count between two ops and runs the handler.
//
// Node 20 does not deliver `process.on("SIGINT")` inside workers; the worker
// uses the signal watcher behind it (process.binding("signal_wrap"), the one
// Node's own handler uses). Where that is unavailable the main-thread handler
// alone still works, only later. Each signal reaches both watchers, so the
// count is the larger of the two and nothing is counted twice.

import { Worker } from "node:worker_threads";

const WATCHER = `
const { workerData } = require("node:worker_threads");
process.noDeprecation = true;
const count = new Int32Array(workerData);
const { Signal } = process.binding("signal_wrap");
const watcher = new Signal();
watcher.onsignal = () => Atomics.add(count, 0, 1);
if (watcher.start(require("node:os").constants.signals.SIGINT) !== 0) throw new Error("cannot watch SIGINT");
require("node:worker_threads").parentPort.postMessage("watching");
`;

interface Watch {
  shared: Int32Array;
  mainCount: number;
  seen: number;
  onInterrupt: (count: number) => void;
  worker: Worker | null;
  listener: () => void;
}

let active: Watch | null = null;

export interface InterruptWatch {
  stop(): void;
  /** Resolves to whether the watcher thread runs (signals are then seen between ops). */
  ready: Promise<boolean>;
}

/**
 * Calls onInterrupt(n) for the n-th Ctrl-C (SIGINT), as soon as the main thread
 * is between two ops or back in the event loop.
 */
export function watchInterrupts(onInterrupt: (count: number) => void): InterruptWatch {
  if (active) throw new Error("internal: interrupts are already being watched");
  const shared = new Int32Array(new SharedArrayBuffer(4));
  const watch: Watch = { shared, mainCount: 0, seen: 0, onInterrupt, worker: null, listener: () => {} };
  watch.listener = () => {
    watch.mainCount += 1;
    deliver(watch);
  };
  process.on("SIGINT", watch.listener);
  let ready: Promise<boolean>;
  try {
    const worker = new Worker(WATCHER, { eval: true, workerData: shared.buffer, stdout: true, stderr: true });
    ready = new Promise((resolve) => {
      worker.once("message", () => resolve(true));
      // No watcher thread: the main-thread handler alone remains.
      worker.once("error", () => resolve(false));
      worker.once("exit", () => resolve(false));
    });
    worker.unref();
    watch.worker = worker;
  } catch {
    ready = Promise.resolve(false);
  }
  active = watch;
  const stop = () => {
    process.off("SIGINT", watch.listener);
    void watch.worker?.terminate();
    if (active === watch) active = null;
  };
  return { stop, ready };
}

function deliver(watch: Watch): void {
  const count = Math.max(watch.mainCount, Atomics.load(watch.shared, 0));
  while (watch.seen < count) {
    watch.seen += 1;
    watch.onInterrupt(watch.seen);
  }
}

/** Cheap enough to call after every op: runs the handler for a Ctrl-C that arrived since. */
export function pollInterrupt(): void {
  if (active !== null && Atomics.load(active.shared, 0) > active.seen) deliver(active);
}
