// Splitting one GEMM, SYRK or eigensolver stage between threads that share
// the linear memory.
//
// The main thread's instance posts a job into a control block in shared
// memory and wakes the workers (memory.atomic.notify); each worker's instance
// sleeps in workerLoop (memory.atomic.wait32) and runs its share. Shares are
// disjoint blocks of C computed with the same tiles and the same order of
// additions as the one-thread kernel, so results are bit-identical for any
// thread count. A share no worker has claimed by the time the dispatcher has
// finished its own is run by the dispatcher (runJob). Nothing here allocates:
// the TypeScript side supplies the control block and one GEMM workspace per
// worker. Other kernels (the f64 eigensolver) post their own jobs: they fill
// the job's argument record (jobRecord) and call runJob; runShare hands JOB_GEMM64 to
// gemm64Share, JOB_ADAM to adamShare, JOB_CBLL to cbLogLikShare, job kinds
// >= JOB_EIG to eigShare and those in [JOB_SPECTRAL, JOB_EIG) to spectralShare.

import { gemmDriver, gemmWorkspaceBytes, MR, NR } from "./gemm";
import { gemm64Share } from "./gemm64";
import { eigShare, JOB_EIG } from "./eig";
import { adamShare } from "./elementwise";
import { cbLogLikShare } from "./likelihood";
import { spectralShare, JOB_SPECTRAL } from "./spectral";

export const JOB_GEMM: i32 = 1;
export const JOB_SYRK: i32 = 2;
const JOB_EXIT: i32 = 3;
export const JOB_GEMM64: i32 = 4;
export const JOB_ADAM: i32 = 5;
export const JOB_CBLL: i32 = 6; // continuous-Bernoulli log-likelihood (likelihood.ts)

// Control block: counters on separate 64-byte lines (no false sharing).
// @ts-ignore: decorator
@inline const GEN: usize = 0;      // job generation, bumped to post a job
// @ts-ignore: decorator
@inline const DONE: usize = 64;    // workers finished with the current job
// @ts-ignore: decorator
@inline const READY: usize = 128;  // workers waiting in workerLoop
// @ts-ignore: decorator
@inline const CONF: usize = 192;   // [thread count, worker workspaces]
// @ts-ignore: decorator
@inline const ARGS: usize = 256;   // the job's kind, then its arguments (up to 124 bytes)
// @ts-ignore: decorator
@inline const TOKENS: usize = 384; // per share t >= 1: the job's generation until claimed
// @ts-ignore: decorator
@inline const MAX_THREADS: i32 = 64;
// Token values once a share is taken: by its worker, or by the dispatcher.
// @ts-ignore: decorator
@inline const CLAIMED: i32 = -1;
// @ts-ignore: decorator
@inline const TAKEN_BACK: i32 = -2;

// Polls of the job counter before a worker sleeps (about 0.1 ms).
// @ts-ignore: decorator
@inline const SPIN_POLLS: i32 = 100000;

// Below this many multiply-adds, waking a worker costs more than it saves.
// @ts-ignore: decorator
@inline const MIN_SPLIT_MACS: f64 = 1048576.0;

/** Bytes of the control block threadsInit expects. */
export function threadsControlBytes(): i32 {
  return <i32>TOKENS + 4 * MAX_THREADS;
}

// Set in the main thread's instance only (globals are per instance).
let control: usize = 0;
let threadCount: i32 = 1;
let takenBack: i32 = 0;
// True while the dispatcher runs a job's shares: a share never posts a job of its own.
let inJob = false;

/**
 * Makes this instance the dispatcher for `threads` threads (itself included).
 * `workspaces` holds threads-1 GEMM workspaces, one per worker. threads = 1
 * turns splitting off.
 */
export function threadsInit(ctrl: usize, threads: i32, workspaces: usize): void {
  control = ctrl;
  threadCount = min(MAX_THREADS, max(1, threads));
  store<i32>(ctrl + CONF, threadCount);
  store<u32>(ctrl + CONF + 4, <u32>workspaces);
}

/** Workers currently waiting for jobs (the dispatcher splits only when all are). */
export function threadsReady(ctrl: usize): i32 {
  return atomic.load<i32>(ctrl + READY);
}

/** Jobs posted so far (tests use it to see that work was split). */
export function threadsJobs(ctrl: usize): i32 {
  return atomic.load<i32>(ctrl + GEN);
}

/** Shares the dispatcher took back from late workers so far (tests use it to see the path run). */
export function threadsTakenBack(): i32 {
  return takenBack;
}

/** A worker's life: wait for a job, run share `tid`, report, until JOB_EXIT. */
export function workerLoop(ctrl: usize, tid: i32): void {
  let seen = atomic.load<i32>(ctrl + GEN);
  atomic.add<i32>(ctrl + READY, 1);
  while (true) {
    // Jobs come in bursts (a training step is ~100 GEMMs with short JS work
    // between them): poll a little before sleeping, since a futex wake-up
    // costs more than a short GEMM on a VM.
    for (let spin = 0; spin < SPIN_POLLS && atomic.load<i32>(ctrl + GEN) == seen; spin++) {}
    atomic.wait<i32>(ctrl + GEN, seen, -1);
    const gen = atomic.load<i32>(ctrl + GEN);
    if (gen == seen) continue; // spurious wake-up
    seen = gen;
    if (load<i32>(ctrl + ARGS) == JOB_EXIT) break;
    // Claim this share; if the dispatcher already took it back (this worker
    // was late), leave the job alone: its arguments may be changing already.
    const threads = load<i32>(ctrl + CONF);
    if (tid >= threads || atomic.cmpxchg<i32>(ctrl + TOKENS + (<usize>tid << 2), gen, CLAIMED) != gen) continue;
    const work = <usize>load<u32>(ctrl + CONF + 4) + <usize>((tid - 1) * gemmWorkspaceBytes());
    runShare(ctrl, tid, threads, work);
    atomic.add<i32>(ctrl + DONE, 1);
  }
  atomic.sub<i32>(ctrl + READY, 1);
  atomic.add<i32>(ctrl + DONE, 1);
}

/** Asks every worker to leave workerLoop (they then return to JavaScript). */
export function threadsStop(ctrl: usize): void {
  store<i32>(ctrl + ARGS, JOB_EXIT);
  atomic.store<i32>(ctrl + DONE, 0);
  atomic.add<i32>(ctrl + GEN, 1);
  atomic.notify(ctrl + GEN);
}

/** True when this call is big enough to split and every worker is waiting. */
export function worthSplitting(m: i32, n: i32, k: i32): bool {
  return <f64>m * <f64>n * <f64>k >= MIN_SPLIT_MACS && availableThreads() > 1;
}

/**
 * Threads a job posted now would run on: 1 unless this is the dispatcher and
 * every worker is waiting (bit-identical results never depend on it).
 */
export function availableThreads(): i32 {
  return threadCount > 1 && !inJob && atomic.load<i32>(control + READY) >= threadCount - 1 ? threadCount : 1;
}

/** Bytes of workspace each worker brings to a job (its GEMM workspace, also enough for gemm64's). */
export function workerWorkspaceBytes(): i32 {
  return gemmWorkspaceBytes();
}

// Bytes of arguments a job can have after its kind.
// @ts-ignore: decorator
@inline const ARG_BYTES: usize = 124;

/**
 * The argument record of the job about to be posted (only valid in the
 * dispatcher): the @unmanaged class T is the one layout that the job's poster
 * writes and its share function reads (changetype<T> of the share's args).
 */
// @ts-ignore: decorator
@inline export function jobRecord<T>(): T {
  if (offsetof<T>() > ARG_BYTES) ERROR("a job's argument record is larger than the control block's ARGS area");
  return changetype<T>(control + ARGS + 4);
}

/**
 * Posts the job whose arguments are in its record (jobRecord), runs share 0 here, returns
 * when every share is done. A share whose worker has not claimed it by the
 * time share 0 is done is taken back and run here (with this thread's
 * workspace: a share's result does not depend on whose it is), so a worker
 * that the OS has descheduled never holds the job up unless it is already
 * inside its share.
 */
export function runJob(kind: i32, work: usize): void {
  const ctrl = control;
  const threads = threadCount;
  store<i32>(ctrl + ARGS, kind);
  const gen = atomic.load<i32>(ctrl + GEN) + 1;
  for (let t = 1; t < threads; t++) atomic.store<i32>(ctrl + TOKENS + (<usize>t << 2), gen);
  atomic.store<i32>(ctrl + DONE, 0);
  atomic.store<i32>(ctrl + GEN, gen); // sequentially consistent: publishes the arguments and tokens
  atomic.notify(ctrl + GEN, threads - 1);
  inJob = true;
  runShare(ctrl, 0, threads, work);
  let claimed = 0;
  for (let t = 1; t < threads; t++) {
    if (atomic.cmpxchg<i32>(ctrl + TOKENS + (<usize>t << 2), gen, TAKEN_BACK) == gen) {
      runShare(ctrl, t, threads, work);
      takenBack++;
    } else {
      claimed++;
    }
  }
  // The shares are balanced, so the claimed ones finish about now: spin.
  while (atomic.load<i32>(ctrl + DONE) < claimed) {}
  inJob = false;
}

/** The arguments of a JOB_GEMM or JOB_SYRK job. */
@unmanaged class GemmJob {
  transA: i32; transB: i32; m: i32; n: i32; k: i32; alpha: f32;
  a: usize; lda: i32; b: usize; ldb: i32; beta: f32; c: usize; ldc: i32;
}

/** Posts the GEMM or SYRK job, runs share 0 here, and returns when every share is done. */
export function runParallel(
  kind: i32, transA: i32, transB: i32, m: i32, n: i32, k: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, work: usize,
): void {
  const job = jobRecord<GemmJob>();
  job.transA = transA; job.transB = transB; job.m = m; job.n = n; job.k = k; job.alpha = alpha;
  job.a = a; job.lda = lda; job.b = b; job.ldb = ldb; job.beta = beta; job.c = c; job.ldc = ldc;
  runJob(kind, work);
}

/** Share `tid` of `threads` of the posted job. */
function runShare(ctrl: usize, tid: i32, threads: i32, work: usize): void {
  const args = ctrl + ARGS;
  const kind = load<i32>(args);
  if (kind >= JOB_EIG) {
    eigShare(kind, args + 4, tid, threads, work);
    return;
  }
  if (kind == JOB_GEMM64) {
    gemm64Share(args + 4, tid, threads, work);
    return;
  }
  if (kind == JOB_ADAM) {
    adamShare(args + 4, tid, threads);
    return;
  }
  if (kind == JOB_CBLL) {
    cbLogLikShare(args + 4, tid, threads);
    return;
  }
  if (kind >= JOB_SPECTRAL) {
    spectralShare(kind, args + 4, tid, threads, work);
    return;
  }
  const job = changetype<GemmJob>(args + 4);
  const transA = job.transA, transB = job.transB, m = job.m, n = job.n, k = job.k, alpha = job.alpha;
  const a = job.a, lda = job.lda, b = job.b, ldb = job.ldb, beta = job.beta, c = job.c, ldc = job.ldc;
  if (kind == JOB_SYRK) {
    // Lower triangle by row bands of equal area: band t ends at n*sqrt(t/T).
    const i0 = triangleBand(n, tid, threads, MR), i1 = triangleBand(n, tid + 1, threads, MR);
    if (i1 <= i0) return;
    const aRow = transA ? <usize>i0 : <usize>i0 * <usize>lda;
    gemmDriver(transA, transB, i1 - i0, i1, k, alpha, a + aRow * 4, lda, b, ldb, beta,
      c + <usize>i0 * <usize>ldc * 4, ldc, work, 1, i0);
  } else if (n >= m) {
    // Column bands: each share packs all of op(A) and its own columns of op(B).
    const chunk = roundUp((n + threads - 1) / threads, NR);
    const j0 = min(n, tid * chunk), j1 = min(n, j0 + chunk);
    if (j1 <= j0) return;
    const bCol = transB ? <usize>j0 * <usize>ldb : <usize>j0;
    gemmDriver(transA, transB, m, j1 - j0, k, alpha, a, lda, b + bCol * 4, ldb, beta,
      c + <usize>j0 * 4, ldc, work, 0, 0);
  } else {
    const i0 = evenBand(m, tid, threads, MR), i1 = evenBand(m, tid + 1, threads, MR);
    if (i1 <= i0) return;
    const aRow = transA ? <usize>i0 : <usize>i0 * <usize>lda;
    gemmDriver(transA, transB, i1 - i0, n, k, alpha, a + aRow * 4, lda, b, ldb, beta,
      c + <usize>i0 * <usize>ldc * 4, ldc, work, 0, 0);
  }
}

/** Start of band t of the lower triangle's n rows cut into `threads` bands of equal area (multiples of `tile`). */
export function triangleBand(n: i32, t: i32, threads: i32, tile: i32): i32 {
  if (t >= threads) return n;
  return min(n, (<i32>(<f64>n * Math.sqrt(<f64>t / <f64>threads)) / tile) * tile);
}

/** Start of band t of n rows cut into `threads` bands of equal height (multiples of `tile`). */
export function evenBand(n: i32, t: i32, threads: i32, tile: i32): i32 {
  return min(n, t * roundUp((n + threads - 1) / threads, tile));
}

function roundUp(x: i32, to: i32): i32 {
  return ((x + to - 1) / to) * to;
}
