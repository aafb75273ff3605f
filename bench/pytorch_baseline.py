#!/usr/bin/env python3
"""The PyTorch baseline of `npm run bench -- --compare pytorch` (bench/compare.ts).

Builds lipvae's models in PyTorch -- the same architecture as src/model/{config,mlp,vae}.ts:
three independent MLPs (encoder mean 784-512-512-dz, encoder sigma 784-512-512-dz through a
sigmoid, decoder dz-512-512-784 through a sigmoid), every layer s * (x W^T + b) with
s = M^(1/L); for the Lipschitz kind W is replaced by order-1 Bjorck(W, K, beta = 0.5) on every
forward pass (differentiated through by autograd) and GroupSort(2) (MaxMin) sits between
layers; the standard kind uses W as is, s = 1 and ReLU. Continuous-Bernoulli likelihood
(torch.distributions.ContinuousBernoulli), Gaussian KL, batch 128, Adam lr 1e-4 -- and times
the same steps as the bench rows of the same names (bench/train.ts, bench/model.ts), at 1 and
at 2 threads.

Output: one JSON object per line on stdout ("env", "check", "row", "done"); progress and
warnings on stderr. Exit status 3 when torch cannot be imported.

    python3 bench/pytorch_baseline.py [--quick] [--only REGEX] [--threads 1,2] [--check FILE ...]
    python3 bench/pytorch_baseline.py --serve [--quick] [--check FILE ...]

--serve times on request, so that bench/compare.ts can interleave PyTorch's timings with ours
(rounds of ours, PyTorch 1 thread, PyTorch 2 threads, row by row) and both sides see the same
drift of the VM: after the "env" and "check" lines it prints {"type": "ready"} and then reads
one JSON request per line on stdin, {"name": ROW, "threads": N}, answering each with a "row"
line (or {"type": "error", ...} for an unknown row). It ends at end of input.

--check FILE reads a safetensors file written by bench/compare.ts (our initial parameters,
an input batch, the noise, our loss and gradients) and reports the PyTorch loss and
gradients for the same weights: the same-model check.
"""

import argparse
import ctypes
import json
import math
import os
import platform
import re
import struct
import sys
import time

LATENT = 10
HIDDEN = (512, 512)
INPUT = 784
M = 10.0           # nominal Lipschitz constant of each net (PAPER_DEFAULTS)
BJORCK_BETA = 0.5
GROUP = 2
BATCH = 128
LR = 1e-4
EVAL_ITERS = 50    # Bjorck iterations of the frozen weights used by inference and attacks


def emit(obj):
    print(json.dumps(obj), flush=True)


def log(msg):
    print(f"[pytorch] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- environment

BLAS_PATTERN = re.compile(r"lib(openblas\w*|blas|cblas|blis\w*|mkl_\w+|flexiblas|atlas|satlas|tatlas)[.-]")


def loaded_blas_libraries():
    """Shared objects mapped into this process that provide BLAS (after `import torch`)."""
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and BLAS_PATTERN.search(os.path.basename(parts[-1])) and parts[-1] not in libs:
                    libs.append(parts[-1])
    except OSError:
        pass
    return libs


def classify_blas(libs):
    """(name, variant) of the BLAS that libblas.so.3 / the mapped libraries resolve to."""
    joined = " ".join(libs)
    if "openblas" in joined:
        variant = "openmp" if "openblas-openmp" in joined else "pthread" if "openblas-pthread" in joined \
            else "serial" if "openblas-serial" in joined else ""
        return "OpenBLAS", variant
    if "mkl" in joined:
        return "MKL", ""
    if "blis" in joined:
        return "BLIS", ""
    if "atlas" in joined:
        return "ATLAS", ""
    if any(os.path.basename(p).startswith("libblas.so") for p in libs):
        # Debian's netlib build lives in .../blas/libblas.so.3.
        return "reference BLAS (netlib)", ""
    return "unknown", ""


class OpenBlas:
    """ctypes handle on the OpenBLAS already mapped into the process (None if not OpenBLAS)."""

    def __init__(self, libs):
        self.lib = None
        for path in libs:
            if "openblas" not in path:
                continue
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_config.restype = ctypes.c_char_p
                lib.openblas_get_corename.restype = ctypes.c_char_p
                self.lib = lib
                break
            except (OSError, AttributeError):
                continue

    def config(self):
        return self.lib.openblas_get_config().decode() if self.lib else None

    def corename(self):
        return self.lib.openblas_get_corename().decode() if self.lib else None

    def threads(self):
        return int(self.lib.openblas_get_num_threads()) if self.lib else None

    def set_threads(self, n):
        if self.lib:
            self.lib.openblas_set_num_threads(ctypes.c_int(n))


def environment(torch, openblas, libs):
    name, variant = classify_blas(libs)
    show = torch.__config__.show()
    build_blas = re.search(r"BLAS_INFO=([^,\s]+)", show)
    config = openblas.config()
    version = None
    if config:
        m = re.match(r"OpenBLAS\s+([\d.]+)", config)
        version = m.group(1) if m else None
    warnings = []
    if name != "OpenBLAS":
        warnings.append(
            f"torch is using {name} ({', '.join(libs) or 'no BLAS library found in /proc/self/maps'}), "
            "not OpenBLAS: its matrix products are about 20x slower and the PyTorch columns are "
            "meaningless as a baseline. Install it with: apt-get install -y libopenblas0-openmp")
    elif variant == "pthread":
        warnings.append("OpenBLAS is the pthread build: its threads are not torch's OpenMP threads; "
                        "libopenblas0-openmp is the build the baseline is meant to use")
    env_vars = {k: v for k, v in sorted(os.environ.items())
                if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "GOTO", "KMP_", "BLIS_"))}
    return {
        "type": "env",
        "python": platform.python_version(),
        "executable": sys.executable,
        "torch": torch.__version__,
        "blas": {
            "name": name, "variant": variant, "version": version, "config": config,
            "corename": openblas.corename(), "libraries": libs,
            "torchBuildBlasInfo": build_blas.group(1) if build_blas else None,
        },
        "torchConfig": show,
        "parallel": torch.__config__.parallel_info(),
        "env": env_vars,
        "warnings": warnings,
    }


# --------------------------------------------------------------------------- model

def build_model(torch, kind):
    nn = torch.nn
    F = torch.nn.functional

    def bjorck(w, iters, beta):
        """Order-1 Bjorck on the smaller Gram, as assembly/bjorck.ts (same result as the
        authors' W^T layout: A p(A^T A) = p(A A^T) A); autograd differentiates through it."""
        a = w
        rows, cols = w.shape
        for _ in range(iters):
            if rows <= cols:
                a = torch.addmm(a, a @ a.t(), a, beta=1 + beta, alpha=-beta)   # (1+b)A - b (A A^T) A
            else:
                a = torch.addmm(a, a, a.t() @ a, beta=1 + beta, alpha=-beta)   # (1+b)A - b A (A^T A)
        return a

    def groupsort(h, group):
        b, n = h.shape
        if group == 2:   # MaxMin: contiguous pairs (2k, 2k+1) sorted ascending
            p = h.view(b, n // 2, 2)
            lo, hi = p[..., 0], p[..., 1]
            return torch.stack((torch.minimum(lo, hi), torch.maximum(lo, hi)), dim=2).view(b, n)
        return h.view(b, n // group, group).sort(dim=-1).values.view(b, n)

    class MLP(nn.Module):
        def __init__(self, name, sizes):
            super().__init__()
            self.name = name
            depth = len(sizes) - 1
            self.scale = M ** (1 / depth) if kind == "lipschitz" else 1.0
            self.weights = nn.ParameterList()
            self.biases = nn.ParameterList()
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
                # The reference initialisation (src/model/init.ts): orthogonal, gain 1/sqrt(in); U(+-1/sqrt(in)) bias.
                w = torch.empty(fan_out, fan_in)
                nn.init.orthogonal_(w, gain=1 / math.sqrt(fan_in))
                bound = 1 / math.sqrt(fan_in)
                self.weights.append(nn.Parameter(w))
                self.biases.append(nn.Parameter(torch.empty(fan_out).uniform_(-bound, bound)))

        def named(self):
            out = []
            for i, (w, b) in enumerate(zip(self.weights, self.biases)):
                out += [(f"{self.name}.{i}.weight", w), (f"{self.name}.{i}.bias", b)]
            return out

        def effective(self, iters):
            return [bjorck(w, iters, BJORCK_BETA) for w in self.weights] if kind == "lipschitz" else list(self.weights)

        def forward(self, x, weights):
            h = x
            last = len(weights) - 1
            for i, (w, b) in enumerate(zip(weights, self.biases)):
                h = F.linear(h, w, b)
                if self.scale != 1.0:
                    h = h * self.scale
                if i < last:
                    h = groupsort(h, GROUP) if kind == "lipschitz" else F.relu(h)
            return h

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            enc = [INPUT, *HIDDEN, LATENT]
            dec = [LATENT, *reversed(HIDDEN), INPUT]
            self.encoder_mean = MLP("encoder_mean", enc)
            self.encoder_std = MLP("encoder_std", enc)   # learned sigma
            self.decoder = MLP("decoder", dec)
            self.nets = [self.encoder_mean, self.encoder_std, self.decoder]

        def named(self):
            return [p for net in self.nets for p in net.named()]

        def effective(self, iters):
            return [net.effective(iters) for net in self.nets]

        def encode(self, x, w):
            mu = self.encoder_mean(x, w[0])
            pre = self.encoder_std(x, w[1])
            return mu, torch.sigmoid(pre), F.logsigmoid(pre)

        def decode(self, z, w):
            return torch.sigmoid(self.decoder(z, w[2]))

        def elbo(self, x, noise, w, logit_limit=None):
            """(loss, logLik [B], kl [B]) as VAE.elbo in src/model/vae.ts. logit_limit clamps the
            decoder logits first (the float64 referee: torch clamps lambda at its dtype's eps,
            our model at float32's, src/model/likelihood.ts CB_LOGIT_LIMIT)."""
            mu, sigma, log_sigma = self.encode(x, w)
            z = mu + sigma * noise
            if logit_limit is None:
                lam = self.decode(z, w)
            else:
                lam = torch.sigmoid(self.decoder(z, w[2]).clamp(-logit_limit, logit_limit))
            # As the reference code: ContinuousBernoulli(probs = lambda); torch clamps lambda to [eps, 1 - eps].
            log_lik = torch.distributions.ContinuousBernoulli(probs=lam, validate_args=False).log_prob(x).sum(1)
            kl = 0.5 * (sigma.square() + mu.square() - 2 * log_sigma).sum(1) - 0.5 * LATENT
            return (kl - log_lik).mean(), log_lik, kl

    return VAE()


# --------------------------------------------------------------------------- timing

def measure(fn, min_runs, min_time_ms=0.0, max_runs=200, warmup=1):
    """bench/harness.ts's policy: warm-up calls, then at least min_runs timed calls and until
    min_time_ms is spent (up to max_runs); median, min and max in ms."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or ((time.perf_counter() - start) * 1e3 < min_time_ms and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    n = len(times)
    median = times[(n - 1) // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
    return {"median": median, "min": times[0], "max": times[-1], "n": n}


def project_ball_box(torch, v, x, radius):
    """Exact Euclidean projection of each row of v onto {||d|| <= R} and {0 <= x + d <= 1}, as
    src/attacks/projection.ts: d = clip_box(t v) with the t in (0, 1] where ||clip_box(t v)|| = R,
    found from the sorted breakpoints (no bisection)."""
    lo, hi = -x, 1 - x
    clipped = torch.maximum(torch.minimum(v, hi), lo)
    need = clipped.norm(dim=1) > radius
    if not bool(need.any()):
        return clipped
    bound = torch.where(v > 0, hi, torch.where(v < 0, x, torch.zeros_like(x)))
    av = v.abs()
    tau = torch.where(av > 0, bound / av.clamp_min(1e-38), torch.full_like(av, math.inf))
    tau_s, order = tau.sort(dim=1)
    b2 = bound.gather(1, order).square()
    v2 = av.gather(1, order).square()
    clipped_before = b2.cumsum(1) - b2                   # sum over coordinates clipped before breakpoint k
    free_from = v2.flip(1).cumsum(1).flip(1)             # sum of v^2 over coordinates still free at k
    finite = torch.isfinite(tau_s)
    norm_sq = torch.where(finite, clipped_before + tau_s.where(finite, torch.zeros_like(tau_s)).square() * free_from,
                          torch.full_like(tau_s, math.inf))
    k = (norm_sq < radius * radius).sum(1, keepdim=True).clamp_max(v.shape[1] - 1)
    a = free_from.gather(1, k)
    b = clipped_before.gather(1, k)
    t = ((radius * radius - b).clamp_min(0) / a.clamp_min(1e-38)).sqrt()
    projected = torch.maximum(torch.minimum(t * v, hi), lo)
    return torch.where(need.unsqueeze(1), projected, clipped)


def benchmarks(torch, quick):
    """name -> (make() -> step function, timing options). Names match our bench rows."""
    gen = torch.Generator().manual_seed(0)

    def train_case(kind, iters):
        def make():
            torch.manual_seed(0)
            model = build_model(torch, kind)
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            x = torch.rand(BATCH, INPUT, generator=gen)

            def step():
                opt.zero_grad(set_to_none=True)
                w = model.effective(iters)
                loss, _, _ = model.elbo(x, torch.randn(BATCH, LATENT), w)
                loss.backward()
                opt.step()
            return step
        return make

    def frozen_model():
        torch.manual_seed(0)
        model = build_model(torch, "lipschitz")
        model.requires_grad_(False)
        with torch.no_grad():
            w = model.effective(EVAL_ITERS)    # computed once, as evaluate() and attackModel() do
        return model, w

    def infer():
        model, w = frozen_model()
        images = torch.rand(1000, INPUT, generator=gen)

        def step():   # src/model/evaluate.ts: batches of 500, ELBO terms per image, no gradients
            with torch.no_grad():
                out = []
                for start in range(0, 1000, 500):
                    _, log_lik, kl = model.elbo(images[start:start + 500], torch.randn(500, LATENT), w)
                    out.append((log_lik, kl))
            return out
        return step

    def attack():
        model, w = frozen_model()
        rows, radius = 25, 3.0
        x = torch.rand(1, INPUT, generator=gen).expand(rows, INPUT).contiguous()
        with torch.no_grad():
            mu_c, sigma_c, _ = model.encode(x, w)     # clean posterior: once per attack
            direction = torch.randn(rows, INPUT, generator=gen)
            length = radius * torch.rand(rows, 1, generator=gen)   # d-ball start
            delta = project_ball_box(torch, direction / direction.norm(dim=1, keepdim=True) * length, x, radius)
        state = {"delta": delta}

        def step():   # src/attacks/max-damage.ts evaluate() with fresh noise, then the bench's step and projection
            with torch.no_grad():
                target = model.decode(mu_c + sigma_c * torch.randn(rows, LATENT), w)
            d = state["delta"].clone().requires_grad_(True)
            mu, sigma, _ = model.encode(x + d, w)
            z = mu + sigma * torch.randn(rows, LATENT)
            dist = (model.decode(z, w) - target).norm(dim=1)
            (g,) = torch.autograd.grad(dist.sum(), [d])
            with torch.no_grad():
                state["delta"] = project_ball_box(torch, state["delta"] + 1e-3 * g, x, radius)
        return step

    few = {"min_runs": 1, "warmup": 1}
    return [
        ("train.step.b128.k3", train_case("lipschitz", 3), {"min_runs": 2 if quick else 10, "warmup": 1}),
        ("train.step.b128.k15", train_case("lipschitz", 15), {"min_runs": 1 if quick else 3, "warmup": 1}),
        ("train.step.b128.k50", train_case("lipschitz", 50), few if quick else {"min_runs": 3, "warmup": 1}),
        ("train.step.standard.b128", train_case("standard", 0), {"min_runs": 3 if quick else 20, "warmup": 1}),
        ("infer.1000", infer, {"min_runs": 3, "warmup": 1} if quick else {"min_runs": 10, "min_time_ms": 500, "warmup": 2}),
        ("attack.step.b25", attack, {"min_runs": 3, "warmup": 1} if quick else {"min_runs": 10, "min_time_ms": 500, "warmup": 2}),
    ]


# --------------------------------------------------------------------------- same-model check

def read_safetensors(path):
    import numpy as np
    dtypes = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"]).copy()
    return tensors, header.get("__metadata__", {})


def check(torch, path):
    """Loads our parameters into the PyTorch model and evaluates the same loss (and gradients)."""
    arrays, meta = read_safetensors(path)
    kind, iters = meta["kind"], int(meta["iters"])
    model = build_model(torch, kind)
    named = model.named()
    ours_names = {k for k in arrays if not k.startswith("grad.") and k not in ("x", "noise")}
    missing = [n for n, _ in named if n not in arrays]
    extra = sorted(ours_names - {n for n, _ in named})
    if missing or extra:
        raise SystemExit(f"check {path}: parameter names differ (missing {missing[:3]}, extra {extra[:3]})")
    with torch.no_grad():
        for name, p in named:
            if tuple(arrays[name].shape) != tuple(p.shape):
                raise SystemExit(f"check {path}: {name} is {arrays[name].shape} here {tuple(p.shape)}")
            p.copy_(torch.from_numpy(arrays[name]))
    x, noise = torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["noise"])
    result = {"type": "check", "file": os.path.basename(path), "kind": kind, "iters": iters,
              "params": sum(p.numel() for _, p in named)}
    params = [p for _, p in named]
    want_grad = any(k.startswith("grad.") for k in arrays)
    with torch.set_grad_enabled(want_grad):
        loss, _, _ = model.elbo(x, noise, model.effective(iters))
    result["loss"] = float(loss)
    grads32 = torch.autograd.grad(loss, params) if want_grad else None
    # The same in float64, a referee for the two float32 results, with the float32 logit clamp.
    limit = math.log((1 - 2 ** -23) / 2 ** -23)
    model.double()
    with torch.set_grad_enabled(want_grad):
        loss64, _, _ = model.elbo(x.double(), noise.double(), model.effective(iters), logit_limit=limit)
    result["loss64"] = float(loss64)
    if want_grad:
        grads64 = torch.autograd.grad(loss64, params)

        def worst(a, b):
            """max over tensors of max|a - b| / max|b|, and the tensor where it is reached."""
            errs = [(float((ga.double() - gb.double()).abs().max() / gb.double().abs().max().clamp_min(1e-300)), name)
                    for (name, _), ga, gb in zip(named, a, b)]
            return max(errs)
        ours = [torch.from_numpy(arrays["grad." + name]) for name, _ in named]
        result["gradMaxRelErr"], result["gradWorst"] = worst(ours, grads32)
        result["gradOursVs64"], result["gradOursVs64Worst"] = worst(ours, grads64)
        result["gradTorchVs64"], result["gradTorchVs64Worst"] = worst(grads32, grads64)
    return result


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    ap.add_argument("--only", help="run only rows whose name matches this regular expression")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--check", action="append", default=[], metavar="FILE",
                    help="same-model check against a safetensors file from bench/compare.ts (repeatable)")
    ap.add_argument("--no-timing", action="store_true", help="only the environment and the checks")
    ap.add_argument("--serve", action="store_true",
                    help="time rows on request: one JSON request per line on stdin (see the module docstring)")
    args = ap.parse_args()

    try:
        import torch
    except ImportError as e:
        emit({"type": "error", "error": "torch-missing", "message": str(e), "executable": sys.executable})
        log(f"cannot import torch with {sys.executable}: {e}")
        log("install Debian's build with OpenBLAS: apt-get update && apt-get install -y python3-torch libopenblas0-openmp")
        return 3

    libs = loaded_blas_libraries()
    openblas = OpenBlas(libs)
    env = environment(torch, openblas, libs)
    env["params"] = {kind: sum(p.numel() for p in build_model(torch, kind).parameters())
                     for kind in ("lipschitz", "standard")}
    emit(env)
    b = env["blas"]
    log(f"torch {env['torch']} (Python {env['python']}), BLAS: {b['name']} {b['version'] or ''} {b['variant']} "
        f"core {b['corename'] or '?'}; env {' '.join(f'{k}={v}' for k, v in env['env'].items()) or '(none)'}")
    for w in env["warnings"]:
        log("WARNING: " + w)

    for path in args.check:
        emit(check(torch, path))

    if args.no_timing:
        emit({"type": "done"})
        return 0
    cases = {name: (make, opts) for name, make, opts in benchmarks(torch, args.quick)}
    steps = {}

    def timed_row(name, t):
        """Times row `name` at t threads; its model is built on the first request and kept."""
        make, opts = cases[name]
        if name not in steps:
            steps[name] = make()
        torch.set_num_threads(t)
        openblas.set_threads(t)
        row = measure(steps[name], **opts)
        row.update({"type": "row", "name": name, "threads": t, "unit": "ms",
                    "torchThreads": torch.get_num_threads(), "blasThreads": openblas.threads()})
        log(f"{name} at {t} thread{'s' if t > 1 else ''}: {row['median']:.2f} ms (n = {row['n']})")
        return row

    if args.serve:
        emit({"type": "ready"})
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                name, t = request["name"], int(request["threads"])
            except (ValueError, KeyError, TypeError) as e:
                emit({"type": "error", "error": "bad-request", "message": f"{line.strip()[:200]}: {e}"})
                continue
            if name not in cases or t < 1:
                emit({"type": "error", "error": "unknown-row", "message": f"no PyTorch row {name!r} at {t} threads"})
                continue
            emit(timed_row(name, t))
        emit({"type": "done"})
        return 0

    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    only = re.compile(args.only) if args.only else None
    for name in cases:
        if only and not only.search(name):
            continue
        for t in threads:
            emit(timed_row(name, t))
    emit({"type": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
