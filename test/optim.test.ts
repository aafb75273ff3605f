// Adam against torch.optim.Adam's formulas, MultiStepLR against its schedule,
// and exact state round-trips (needed for --resume).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tensor } from "../src/engine/tensor.js";
import { Adam, MultiStepLR } from "../src/engine/optim.js";
import { assertClose } from "./helpers.js";

test("Adam minimises a quadratic and follows torch's bias-corrected update", () => {
  const p = tensor([1, -2, 3], [3]);
  const opt = new Adam([p], { lr: 0.1 });
  // First step of Adam moves every coordinate by lr * sign(g) (m_hat/sqrt(v_hat) = sign g).
  opt.step([tensor([2, -4, 6], [3])]);
  assertClose(p.toArray(), [0.9, -1.9, 2.9], 1e-6, 0, "first step");
  for (let i = 0; i < 300; i++) opt.step([tensor(p.toArray().map((v) => 2 * v), [3])]);
  assert.ok(Math.max(...p.toArray().map(Math.abs)) < 0.05, `converged to ${p.toArray()}`);
});

test("Adam state round-trips exactly", () => {
  const p1 = tensor([1, 2], [2]), p2 = tensor([1, 2], [2]);
  const a = new Adam([p1], { lr: 0.01 }), b = new Adam([p2], { lr: 0.01 });
  a.step([tensor([0.3, -0.1], [2])]);
  b.loadState(a.state());
  p2.data.set(p1.data);
  a.step([tensor([0.2, 0.5], [2])]);
  b.step([tensor([0.2, 0.5], [2])]);
  assert.equal(p1.toArray(), p2.toArray());
});

test("MultiStepLR divides by 10 at epochs 60, 100 and 150", () => {
  const opt = { lr: 0 };
  const sched = new MultiStepLR(opt, 1e-4);
  const seen: number[] = [];
  for (let epoch = 0; epoch < 160; epoch++) {
    seen.push(opt.lr);
    sched.step();
  }
  assertClose([seen[0], seen[59], seen[60], seen[99], seen[100], seen[149], seen[150]],
    [1e-4, 1e-4, 1e-5, 1e-5, 1e-6, 1e-6, 1e-7], 1e-15, 1e-9, "lr");
});

test.run();
