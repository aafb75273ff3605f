// Tensors: a shape plus f32 data in WASM memory (the fast path) or f64 data
// on the JS heap (the checking path: gradient checks and kernel oracles).
//
// Memory is managed for the user:
//   - tidy(fn) releases every tensor created inside fn except the ones it
//     returns (and the autodiff graph behind them), so loops never leak;
//   - tensors that escape every scope are released when garbage collected;
//   - dispose() releases one early.
// Views share storage by reference count (reshape is free).

import { engine } from "./engine.js";
import { LipvaeError } from "../errors.js";

export type DType = "f32" | "f64";
export type Data = Float32Array | Float64Array;

// ---------------------------------------------------------------------------
// Storage

class Storage {
  refs = 1;
  constructor(
    readonly ptr: number,          // f32: byte offset in WASM memory
    readonly bytes: number,
    readonly host: Float64Array | null, // f64: the data itself
  ) {}

  release(): void {
    if (--this.refs === 0 && this.host === null) engine().arena.free(this.ptr, this.bytes);
  }
}

// Tensors that outlive every tidy() scope give their memory back when collected.
const collector = new FinalizationRegistry<Storage>((storage) => storage.release());

// ---------------------------------------------------------------------------
// Autodiff node (the rules that fill it live in ops.ts)

export interface Node {
  /** Op name, for error messages and debugging. */
  op: string;
  inputs: Tensor[];
  /** Tensors the backward rule reads (kept alive with the graph). */
  saved: Tensor[];
  /** Gradients for each input (null where needs[i] is false). */
  backward(grad: Tensor, needs: boolean[]): (Tensor | null)[];
}

// ---------------------------------------------------------------------------
// Tensor

export class Tensor {
  readonly size: number;
  requiresGrad = false;
  node: Node | null = null;
  private disposed = false;

  /** @internal use the factories below */
  constructor(readonly shape: readonly number[], readonly dtype: DType, private storage: Storage) {
    this.size = shapeSize(shape);
    track(this);
  }

  /** Byte offset of the data in WASM memory (f32 tensors only). */
  get ptr(): number {
    this.checkLive();
    if (this.dtype !== "f32") throw new Error("ptr is only defined for f32 tensors");
    return this.storage.ptr;
  }

  /**
   * The data as a typed array. For f32 this is a view into WASM memory that
   * becomes invalid when memory grows: take it after allocating outputs.
   */
  get data(): Data {
    this.checkLive();
    if (this.storage.host) return this.storage.host;
    return engine().arena.f32(this.storage.ptr, this.size);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Copies the data out as a plain array (f64 numbers). */
  toArray(): number[] {
    return Array.from(this.data);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item() needs a tensor with one element, got shape [${this.shape}]`);
    return this.data[0];
  }

  /** Same data, new shape (shares storage). */
  reshape(shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== this.size) {
      throw new Error(`reshape: cannot view shape [${this.shape}] (${this.size} values) as [${shape}]`);
    }
    this.checkLive();
    this.storage.refs++;
    return adopt(new Tensor([...shape], this.dtype, this.storage));
  }

  /** Releases the memory now; later use of this tensor throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.node = null;
    collector.unregister(this);
    untrack(this);
    this.storage.release();
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape}])`;
  }

  private checkLive(): void {
    if (this.disposed) {
      throw new Error(`${this} was used after release: keep it by returning it from tidy(), or call keep()`);
    }
  }
}

function adopt(t: Tensor): Tensor {
  collector.register(t, (t as unknown as { storage: Storage }).storage, t);
  return t;
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape}]: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

// ---------------------------------------------------------------------------
// Factories

/** An uninitialised tensor (f32 contents are whatever the arena held). */
export function empty(shape: readonly number[], dtype: DType = "f32"): Tensor {
  const n = shapeSize(shape);
  if (dtype === "f64") return adopt(new Tensor([...shape], dtype, new Storage(0, n * 8, new Float64Array(n))));
  const bytes = n * 4;
  const ptr = engine().arena.alloc(bytes);
  return adopt(new Tensor([...shape], dtype, new Storage(ptr, bytes, null)));
}

export function zeros(shape: readonly number[], dtype: DType = "f32"): Tensor {
  const t = empty(shape, dtype);
  t.data.fill(0);
  return t;
}

export function full(shape: readonly number[], value: number, dtype: DType = "f32"): Tensor {
  const t = empty(shape, dtype);
  t.data.fill(value);
  return t;
}

/** A tensor holding a copy of `values` (length must match the shape). */
export function tensor(values: ArrayLike<number>, shape: readonly number[] = [values.length], dtype: DType = "f32"): Tensor {
  const n = shapeSize(shape);
  if (values.length !== n) {
    throw new Error(`tensor: ${values.length} values do not fill shape [${shape}] (${n} needed)`);
  }
  const t = empty(shape, dtype);
  t.data.set(values);
  return t;
}

// ---------------------------------------------------------------------------
// Scopes

const scopes: Set<Tensor>[] = [];

function track(t: Tensor): void {
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}

function untrack(t: Tensor): void {
  if (scopes.length > 0) scopes[scopes.length - 1].delete(t);
}

/**
 * Runs fn and releases every tensor it created, except those reachable from
 * its result (tensors in arrays, plain objects and Maps) together with the
 * autodiff graph behind them. Those move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) throw new Error("tidy() takes a synchronous function");
  const keep = new Set<Tensor>();
  collectTensors(result, keep);
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : null;
  for (const t of scope) {
    if (keep.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Moves t out of every scope: it lives until dispose() or garbage collection. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collectTensors(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    if (out.has(value)) return;
    out.add(value);
    if (value.node) {
      for (const t of value.node.inputs) collectTensors(t, out, seen);
      for (const t of value.node.saved) collectTensors(t, out, seen);
    }
    return;
  }
  if (ArrayBuffer.isView(value)) return;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      collectTensors(k, out, seen);
      collectTensors(v, out, seen);
    }
    return;
  }
  for (const v of Object.values(value as object)) collectTensors(v, out, seen);
}

/** Throws the standard shape error for `op`. */
export function shapeError(op: string, detail: string, ...tensors: Tensor[]): never {
  const shapes = tensors.map((t) => `[${t.shape}]`).join(" and ");
  throw new LipvaeError(`${op}: ${detail} (got ${shapes})`);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
