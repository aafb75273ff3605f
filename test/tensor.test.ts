// Tensors, scopes and the arena: memory is released by tidy(), views survive
// memory growth, misuse gives clear errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { engine } from "../src/engine/engine.js";
import { keep, tensor, tidy, zeros } from "../src/engine/tensor.js";
import * as ops from "../src/engine/ops.js";
import { grad, requireGrad } from "../src/engine/tape.js";
import { Arena } from "../src/engine/arena.js";

test("tidy releases intermediates and keeps what it returns", () => {
  const arena = engine().arena;
  const before = arena.stats().liveBytes;
  const kept = tidy(() => {
    const a = tensor([1, 2, 3, 4], [2, 2]);
    const b = ops.square(a);
    ops.add(a, b); // dropped
    return b;
  });
  assert.equal(kept.toArray(), [1, 4, 9, 16]);
  assert.is(arena.stats().liveBytes, before + 64, "only the returned 16-byte tensor (one 64-byte block) stays");
  kept.dispose();
  assert.is(arena.stats().liveBytes, before);
});

test("a released tensor cannot be read", () => {
  let leaked: ReturnType<typeof tensor> | null = null;
  tidy(() => {
    leaked = tensor([1, 2], [2]);
    return null;
  });
  assert.throws(() => leaked!.toArray(), /used after release/);
});

test("tidy keeps the autodiff graph behind a returned tensor", () => {
  const w = keep(requireGrad(tensor([1, 2, 3], [3])));
  const loss = tidy(() => ops.sum(ops.square(ops.scale(w, 2))));
  const [g] = grad(loss, [w]);
  assert.equal(g.toArray(), [8, 16, 24]);
});

test("the same block is reused: repeated steps do not grow memory", () => {
  const arena = engine().arena;
  const step = () => tidy(() => { ops.matmul(zeros([64, 64]), zeros([64, 64])); return null; });
  step();
  const reserved = arena.stats().reservedBytes;
  for (let i = 0; i < 20; i++) step();
  assert.is(arena.stats().reservedBytes, reserved);
});

test("a view taken before the memory grows still reads and writes the same bytes", () => {
  const arena = engine().arena;
  const t = tensor([1, 2, 3], [3]);
  const view = t.data;
  const grew = arena.growCount;
  arena.stressGrowth(() => zeros([16]).dispose());
  assert.ok(arena.growCount > grew, "the memory grew");
  assert.equal(Array.from(view), [1, 2, 3]);
  view[1] = 7;
  assert.equal(t.toArray(), [1, 7, 3]);
});

test("reshape shares storage; dispose of one view keeps the other alive", () => {
  const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = a.reshape([3, 2]);
  a.dispose();
  assert.equal(b.toArray(), [1, 2, 3, 4, 5, 6]);
  assert.throws(() => b.reshape([4]), /cannot view shape \[3,2\] \(6 values\) as \[4\]/);
});

test("the arena reports out-of-memory with the requested size", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
  const arena = new Arena(memory, 0);
  assert.throws(() => arena.alloc(5 * 2 ** 30), /out of WASM memory: a buffer of 5\.00 GiB was requested/);
});

test("factories validate shapes and lengths", () => {
  assert.throws(() => tensor([1, 2, 3], [2, 2]), /3 values do not fill shape \[2,2\]/);
  assert.throws(() => zeros([2, -1]), /invalid shape/);
  assert.throws(() => tensor([1, 2], [2]).item(), /one element/);
});

test.run();
