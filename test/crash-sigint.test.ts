// Ctrl-C during a long synchronous computation: a real SIGINT is seen between
// two ops, not only when the event loop next turns (which, in a training step
// of seconds, made Ctrl-C look ignored).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { watchInterrupts } from "../src/engine/interrupt.js";
import * as ops from "../src/engine/ops.js";
import { tensor, tidy } from "../src/engine/tensor.js";
import { Random } from "../src/engine/random.js";
import { orthogonalF64 } from "../src/model/init.js";

test("a real SIGINT reaches the handler between ops of a synchronous loop; the main-thread listener does not count it twice", async () => {
  const seen: number[] = [];
  let inLoop = false;
  const watch = watchInterrupts((count) => {
    assert.ok(inLoop, "handled inside the synchronous loop");
    seen.push(count);
  });
  try {
    const keepAlive = setInterval(() => {}, 1000); // the watcher thread is unref'd
    const running = await watch.ready;
    clearInterval(keepAlive);
    assert.ok(running, "the watcher thread runs on this Node");
    const a = tensor(new Float32Array(64 * 64).fill(0.01), [64, 64]);
    inLoop = true;
    process.kill(process.pid, "SIGINT");
    // Synchronous from here: only a check between ops can see the signal.
    const start = Date.now();
    let opsRun = 0;
    while (seen.length === 0 && Date.now() - start < 20_000) {
      tidy(() => ops.matmul(a, a));
      opsRun += 1;
    }
    inLoop = false;
    assert.equal(seen, [1], `seen after ${opsRun} ops`);
    // The event loop now runs the main-thread listener for the same signal: no second interrupt.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(seen, [1]);
    // A second Ctrl-C is the second interrupt, also seen between ops.
    inLoop = true;
    process.kill(process.pid, "SIGINT");
    const again = Date.now();
    while (seen.length === 1 && Date.now() - again < 20_000) tidy(() => ops.matmul(a, a));
    inLoop = false;
    assert.equal(seen, [1, 2]);
  } finally {
    watch.stop();
  }
});

test("a real SIGINT is seen during the orthogonal initialisation of a wide layer (seconds with no op in between)", async () => {
  let inInit = false, heard = 0;
  const watch = watchInterrupts(() => {
    assert.ok(inInit, "handled inside the initialisation");
    heard += 1;
  });
  try {
    const keepAlive = setInterval(() => {}, 1000);
    const running = await watch.ready;
    clearInterval(keepAlive);
    assert.ok(running, "the watcher thread runs on this Node");
    inInit = true;
    process.kill(process.pid, "SIGINT");
    orthogonalF64(1000, 1000, 1, new Random(1));
    inInit = false;
    assert.is(heard, 1);
  } finally {
    watch.stop();
  }
});

test("without a watch, ops run as before and a SIGINT goes to the usual listeners", async () => {
  let heard = 0;
  const listener = () => (heard += 1);
  process.on("SIGINT", listener);
  try {
    process.kill(process.pid, "SIGINT");
    tidy(() => ops.matmul(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 0, 0, 1], [2, 2])));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(heard, 1);
  } finally {
    process.off("SIGINT", listener);
  }
});

test.run();
