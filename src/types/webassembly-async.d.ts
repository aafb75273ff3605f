// The asynchronous compile the browser loader needs (src/engine/engine-browser.ts),
// merged into the slice declared in webassembly.d.ts.
declare namespace WebAssembly {
  interface WebAssemblyInstantiatedSource {
    module: Module;
    instance: Instance;
  }
  function instantiate(bytes: BufferSource, imports?: Record<string, Record<string, unknown>>): Promise<WebAssemblyInstantiatedSource>;
}
