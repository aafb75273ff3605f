// The maximum-damage attack in a Web Worker: its own engine and copy of the
// models, so the page stays responsive and can show progress while it runs.
import { WebModel, maxDamage, startBrowserEngine } from "../lib.js";
import type { FromWorker, ToWorker } from "./protocol.js";

const scope = self as unknown as { onmessage: ((e: MessageEvent<ToWorker>) => void) | null; postMessage(m: FromWorker, transfer?: Transferable[]): void };
let models: Promise<WebModel[]> | null = null;

scope.onmessage = async (e) => {
  const msg = e.data;
  if (msg.type === "init") {
    models = startBrowserEngine(msg.memoryBytes).then(() => msg.cards.map((card, i) => WebModel.fromExport(card, new Uint8Array(msg.exports[i]))));
    return;
  }
  try {
    if (!models) throw new Error("the worker was not initialised");
    const model = (await models)[msg.model];
    let last = 0;
    const { delta, damage } = maxDamage(model.attackModel, msg.x, msg, (fraction) => {
      // A message per percent is plenty for a progress bar.
      if (fraction - last >= 0.01 || fraction === 1) scope.postMessage({ type: "progress", id: msg.id, fraction: (last = fraction) });
    });
    scope.postMessage({ type: "done", id: msg.id, delta, damage }, [delta.buffer]);
  } catch (err) {
    scope.postMessage({ type: "error", id: msg.id, message: (err as Error).message });
  }
};
