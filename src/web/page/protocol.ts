// Messages between the page and its attack worker.
import type { ModelCard } from "../card.js";

export type ToWorker =
  | { type: "init"; cards: ModelCard[]; exports: ArrayBuffer[]; memoryBytes: number }
  | { type: "attack"; id: number; model: number; x: Float32Array; radius: number; steps: number; restarts: number; seed: number };

export type FromWorker =
  | { type: "progress"; id: number; fraction: number }
  | { type: "done"; id: number; delta: Float32Array; damage: number }
  | { type: "error"; id: number; message: string };
