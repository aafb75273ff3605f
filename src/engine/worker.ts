// A kernel worker thread: instantiates the main thread's compiled module over
// the same shared memory and waits in workerLoop for shares of GEMM/SYRK jobs
// (see assembly/threads.ts). It returns only when the engine stops it.
import { workerData } from "node:worker_threads";
import { instantiateKernels } from "./wasm.js";

const { module, memory, control, tid } = workerData as {
  module: WebAssembly.Module; memory: WebAssembly.Memory; control: number; tid: number;
};
instantiateKernels(module, memory).workerLoop(control, tid);
