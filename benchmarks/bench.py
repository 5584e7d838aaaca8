"""nhanh side by side with hand-written JAX / PyTorch loops and Keras 3.

Every (contender, workload, run) is a fresh subprocess of this file (`--worker CONTENDER
WORKLOAD`), so imports, compilation caches and peak memory never leak from one measurement into
another (with --quick, one process per contender runs every workload in turn, to keep the smoke
run short). Each worker builds the model, then calls its `fit` twice on the same model and the
same data:

    first  = the first fit: tracing / compilation / warm-up plus training
    steady = the second fit, continuing from the first one's weights and optimizer state
             (every compiled program is already there)

Both timings end on a host read of the final loss (a Python float), so asynchronous dispatch
cannot hide unfinished work. The parent process prints one Markdown table of medians.

A workload's model is either a Sequential layer tuple (`layers`, built by each family below) or
an architecture spec (`arch`: transformer, lstm, resnet) whose models each family builds with its
own function in architectures.py; data, fit loops, timing and tables are the same for both.

    python benchmarks/bench.py --quick                 # smoke run, small data
    python benchmarks/bench.py                         # full sizes, 3 runs
    python benchmarks/bench.py --workloads mlp --contenders nhanh-jax,jax-jit --runs 5
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.metadata
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, NamedTuple

import numpy as np

import architectures as arch

RESULT_TAG = "BENCH_RESULT "


# --- workloads -------------------------------------------------------------------------------
class L(NamedTuple):
    """One layer of a workload's model, read by every contender's model builder."""
    kind: str                 # dense | conv | pool | flatten | dropout
    units: int = 0            # dense units / conv filters
    activation: str | None = None


KERNEL, POOL, DROPOUT = 3, 2, 0.5   # Conv2D kernel size, MaxPooling2D size, Dropout rate


@dataclasses.dataclass(frozen=True)
class Workload:
    """A model, its data sizes and its training. The model is either `layers`, a Sequential
    stack every family builds from the same tuple, or `arch`, a spec from architectures.py whose
    model each family builds with its own function there (`layers` is then empty)."""
    name: str
    layers: tuple[L, ...]
    sample_shape: tuple[int, ...]
    samples: int
    epochs: int
    quick_samples: int
    quick_epochs: int
    batch_size: int
    optimizer: str            # sgd | adam
    learning_rate: float
    arch: arch.Spec | None = None
    no_scan: str = ""         # why jax-scan leaves this workload out on a CPU ("" = it runs it)

    @property
    def classification(self) -> bool:
        return self.arch is not None or self.layers[-1].activation == "softmax"

    @property
    def loss(self) -> str:
        return "sparse_categorical_crossentropy" if self.classification else "mse"

    def size(self, quick: bool) -> tuple[int, int]:
        """(samples, epochs) of one fit."""
        return (self.quick_samples, self.quick_epochs) if quick else (self.samples, self.epochs)


WORKLOADS = {w.name: w for w in [
    # The article's program: y = 2 x0 + 3 x1 + 4 + noise, Dense(1), SGD(0.1), batch 2.
    Workload("linreg", (L("dense", 1),), (2,), 100, 100, 100, 5, 2, "sgd", 0.1),
    Workload("mlp", (L("dense", 512, "relu"), L("dense", 512, "relu"), L("dense", 10, "softmax")),
             (784,), 60_000, 2, 1_000, 1, 128, "adam", 1e-3),
    Workload("convnet", (L("conv", 32, "relu"), L("pool"), L("conv", 64, "relu"), L("pool"),
                         L("flatten"), L("dropout"), L("dense", 10, "softmax")),
             (28, 28, 1), 10_000, 1, 200, 1, 128, "adam", 1e-3),
    # Real architectures, each family building them in architectures.py. One epoch, Adam(1e-3),
    # sparse CE; --quick: 3 steps, the last one partial.
    *(Workload(name, (), spec.sample_shape, samples, 1, quick_samples, 1, batch_size, "adam",
               1e-3, spec, no_scan) for name, spec, samples, quick_samples, batch_size, no_scan in [
        ("transformer", arch.Transformer(), 640, 160, 64, ""),
        ("lstm", arch.LSTM(), 960, 160, 64, ""),
        ("resnet", arch.ResNet(), 768, 300, 128,
         "XLA:CPU runs convolutions inside lax.scan ~25x slower (jax-ml/jax#12868)")]),
]}

# contender -> (family, engine). The reference for the ratio columns is the hand-written
# per-step loop on the same engine.
CONTENDERS = {
    "nhanh-jax": ("framework", "jax"),
    "nhanh-torch": ("framework", "torch"),
    "jax-jit": ("jax", "jax"),
    "jax-scan": ("jax", "jax"),
    "torch": ("torch", "torch"),
    "keras-jax": ("framework", "jax"),
    "keras-torch": ("framework", "torch"),
}
REFERENCE = {"jax": "jax-jit", "torch": "torch"}


def make_data(w: Workload, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The same x, y for every contender (float32 features; float32 targets or int32 labels)."""
    if w.arch is not None:
        return arch.make_data(w.arch, samples)
    rng = np.random.default_rng(0)
    if w.name == "linreg":
        x = rng.random((samples, 2))
        y = 2 * x[:, 0] + 3 * x[:, 1] + 4 + 0.2 * rng.standard_normal(samples)
        return x.astype(np.float32), y.reshape(-1, 1).astype(np.float32)
    x = rng.standard_normal((samples, *w.sample_shape), dtype=np.float32)
    return x, rng.integers(0, 10, samples).astype(np.int32)


def init_params(w: Workload) -> list[tuple[L, dict, tuple[int, ...]]]:
    """Glorot-uniform kernels and zero biases for the hand-written models.

    Returns (layer, {'kernel', 'bias'} or {}, input sample shape) per layer, kernels laid out
    as Keras does: (in, out) for dense, (kh, kw, in, out) for conv.
    """
    rng = np.random.default_rng(42)
    shape, out = w.sample_shape, []
    for layer in w.layers:
        params = {}
        if layer.kind in ("dense", "conv"):
            receptive = KERNEL * KERNEL if layer.kind == "conv" else 1
            fan_in, fan_out = shape[-1] * receptive, layer.units * receptive
            limit = math.sqrt(6 / (fan_in + fan_out))
            kshape = ((KERNEL, KERNEL, shape[-1], layer.units) if layer.kind == "conv"
                      else (shape[-1], layer.units))
            params = {"kernel": rng.uniform(-limit, limit, kshape).astype(np.float32),
                      "bias": np.zeros(layer.units, np.float32)}
        out.append((layer, params, shape))
        shape = _output_shape(layer, shape)
    return out


def _output_shape(layer: L, shape: tuple[int, ...]) -> tuple[int, ...]:
    if layer.kind == "dense":
        return (layer.units,)
    if layer.kind == "conv":
        return (shape[0] - KERNEL + 1, shape[1] - KERNEL + 1, layer.units)
    if layer.kind == "pool":
        return (shape[0] // POOL, shape[1] // POOL, shape[2])
    if layer.kind == "flatten":
        return (math.prod(shape),)
    return shape


def batch_starts(samples: int, batch_size: int) -> range:
    """Start index of every batch, the last partial one included."""
    return range(0, samples, batch_size)


# --- contender families: each returns fit() -> mean training loss of the last epoch ----------
class Pending(Exception):
    """The contender cannot run this workload yet (a layer is not written)."""


class Skipped(Exception):
    """The contender's package is not installed."""


def unexported_layer(K, name: str):
    """A layer class written in nhanh.layers.<family> but not yet exported from nhanh.layers."""
    family = {"Conv2D": "convolutional", "MaxPooling2D": "pooling"}.get(name)
    if K.__name__ != "nhanh" or family is None:
        return None
    try:
        return getattr(importlib.import_module(f"nhanh.layers.{family}"), name, None)
    except Exception:  # noqa: BLE001 - half-written modules count as not there yet
        return None


def framework_fit(contender: str, w: Workload, x, y, epochs: int) -> Callable[[], float]:
    """nhanh and Keras 3 run the very same model code: their APIs are the same."""
    engine = CONTENDERS[contender][1]
    if contender.startswith("keras"):
        os.environ["KERAS_BACKEND"] = engine        # must precede the first keras import
        try:
            import keras as K
        except Exception as e:  # noqa: BLE001 - any failure to import means: skip
            raise Skipped(f"keras not importable: {type(e).__name__}: {e}") from None
    else:
        import nhanh as K
        K.config.set_backend(engine)

    def layer(spec: L):
        name = {"dense": "Dense", "conv": "Conv2D", "pool": "MaxPooling2D", "flatten": "Flatten",
                "dropout": "Dropout"}[spec.kind]
        cls = getattr(K.layers, name, None) or unexported_layer(K, name)
        if cls is None:
            raise Pending(f"{K.__name__}.layers.{name} is not available yet")
        if spec.kind in ("dense", "conv"):
            size = (KERNEL,) if spec.kind == "conv" else ()
            return cls(spec.units, *size, activation=spec.activation)
        return {"pool": lambda: cls(POOL), "dropout": lambda: cls(DROPOUT)}.get(spec.kind, cls)()

    model = (arch.build_keras(K, w.arch) if w.arch is not None
             else K.Sequential([K.Input(shape=w.sample_shape), *map(layer, w.layers)]))
    optimizer = (K.optimizers.SGD(learning_rate=w.learning_rate) if w.optimizer == "sgd"
                 else K.optimizers.Adam(learning_rate=w.learning_rate))
    model.compile(optimizer=optimizer, loss=w.loss,
                  metrics=["accuracy"] if w.classification else None)

    def fit() -> float:
        history = model.fit(x, y, batch_size=w.batch_size, epochs=epochs, verbose=0)
        return float(history.history["loss"][-1])
    return fit


def jax_fit(contender: str, w: Workload, x, y, epochs: int) -> Callable[[], float]:
    """Hand-written JAX: a jit'd train step per batch (jax-jit), or one jit'd lax.scan over an
    epoch's full batches plus one step for the partial batch (jax-scan). Adam/SGD by hand."""
    import jax
    import jax.numpy as jnp

    if contender == "jax-scan" and w.no_scan and jax.default_backend() == "cpu":
        raise Skipped(f"left out on CPU: {w.no_scan}")
    if w.arch is not None:
        params, model_state, apply = arch.build_jax(w.arch)
    else:
        layers = init_params(w)
        params = [{k: jnp.asarray(v) for k, v in p.items()} for _, p, _ in layers]
        model_state = ()

        def apply(params, model_state, xb, key):
            return forward(params, xb, key), model_state

    def forward(params, xb, key):
        for (spec, _, _), p in zip(layers, params):
            if spec.kind == "dense":
                xb = xb @ p["kernel"] + p["bias"]
            elif spec.kind == "conv":
                xb = jax.lax.conv_general_dilated(xb, p["kernel"], (1, 1), "VALID",
                                                  dimension_numbers=("NHWC", "HWIO", "NHWC"))
                xb = xb + p["bias"]
            elif spec.kind == "pool":
                window = (1, POOL, POOL, 1)
                xb = jax.lax.reduce_window(xb, -jnp.inf, jax.lax.max, window, window, "VALID")
            elif spec.kind == "flatten":
                xb = xb.reshape(xb.shape[0], -1)
            elif spec.kind == "dropout":
                keep = jax.random.bernoulli(key, 1 - DROPOUT, xb.shape)
                xb = jnp.where(keep, xb / (1 - DROPOUT), 0.0)
            if spec.activation == "relu":
                xb = jax.nn.relu(xb)
        return xb  # a final softmax is left to the loss: these are logits

    def loss_fn(params, model_state, xb, yb, key):
        out, model_state = apply(params, model_state, xb, key)
        if w.classification:
            logp = jax.nn.log_softmax(out)
            return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1)), model_state
        return jnp.mean((out - yb) ** 2), model_state

    if w.optimizer == "sgd":
        def opt_init(_):
            return ()

        def opt_update(params, grads, _):
            return jax.tree.map(lambda p, g: p - w.learning_rate * g, params, grads), ()
    else:  # Adam in Keras's form, epsilon 1e-7
        b1, b2, eps = 0.9, 0.999, 1e-7

        def opt_init(params):
            def zeros():  # m and v need buffers of their own: the state is donated
                return jax.tree.map(jnp.zeros_like, params)
            return zeros(), zeros(), jnp.zeros((), jnp.float32)

        def opt_update(params, grads, state):
            m, v, t = state
            t = t + 1
            m = jax.tree.map(lambda m, g: m + (1 - b1) * (g - m), m, grads)
            v = jax.tree.map(lambda v, g: v + (1 - b2) * (g * g - v), v, grads)
            alpha = w.learning_rate * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            params = jax.tree.map(lambda p, m, v: p - alpha * m / (jnp.sqrt(v) + eps),
                                  params, m, v)
            return params, (m, v, t)

    def step(state, batch):
        params, model_state, opt_state, key, loss_sum = state
        xb, yb = batch
        key, sub = jax.random.split(key)
        (loss, model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, model_state, xb, yb, sub)
        params, opt_state = opt_update(params, grads, opt_state)
        return params, model_state, opt_state, key, loss_sum + loss * xb.shape[0]

    step_jit = jax.jit(step, donate_argnums=0)
    batch_size, samples = w.batch_size, len(x)
    full = samples // batch_size * batch_size

    @jax.jit
    def scan_epoch(state, x, y, perm):
        xs = x[perm].reshape(full // batch_size, batch_size, *x.shape[1:])
        ys = y[perm].reshape(full // batch_size, batch_size, *y.shape[1:])
        return jax.lax.scan(lambda s, b: (step(s, b), None), state, (xs, ys))[0]

    state = (params, model_state, opt_init(params), jax.random.key(0), jnp.zeros(()))
    rng = np.random.default_rng(1)

    def fit() -> float:
        nonlocal state
        if contender == "jax-scan":
            x_dev, y_dev = jax.device_put(x), jax.device_put(y)
        for _ in range(epochs):
            state = (*state[:-1], jnp.zeros(()))
            perm = rng.permutation(samples)
            if contender == "jax-scan":
                if full:
                    state = scan_epoch(state, x_dev, y_dev, perm[:full])
                rest = perm[full:]
                if len(rest):
                    state = step_jit(state, (x[rest], y[rest]))
            else:
                for i in batch_starts(samples, batch_size):
                    idx = perm[i:i + batch_size]
                    state = step_jit(state, (x[idx], y[idx]))
        return float(state[-1]) / samples
    return fit


def torch_sequential(w: Workload):
    """The layer-tuple workload as nn.Sequential, from init_params's weights."""
    import torch
    from torch import nn

    modules, flattened = [], None
    for spec, params, in_shape in init_params(w):
        if spec.kind == "dense":
            kernel = params["kernel"]
            if flattened:  # torch flattens (C, H, W): reorder the rows of Keras's (H, W, C)
                h, wd, c = flattened
                kernel = kernel.reshape(h, wd, c, -1).transpose(2, 0, 1, 3).reshape(kernel.shape)
                flattened = None
            module = nn.Linear(in_shape[-1], spec.units)
            module.weight.data = torch.from_numpy(np.ascontiguousarray(kernel.T))
        elif spec.kind == "conv":
            module = nn.Conv2d(in_shape[-1], spec.units, KERNEL)
            module.weight.data = torch.from_numpy(
                np.ascontiguousarray(params["kernel"].transpose(3, 2, 0, 1)))
        elif spec.kind == "pool":
            module = nn.MaxPool2d(POOL)
        elif spec.kind == "flatten":
            module, flattened = nn.Flatten(), in_shape
        else:
            module = nn.Dropout(DROPOUT)
        if params:
            module.bias.data = torch.from_numpy(params["bias"])
        modules.append(module)
        if spec.activation == "relu":
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def torch_fit(contender: str, w: Workload, x, y, epochs: int) -> Callable[[], float]:
    """Hand-written PyTorch: nn modules, torch.optim, zero_grad(set_to_none=True), the loss
    summed on device (no .item() per step)."""
    import torch
    from torch import nn

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = (arch.build_torch(w.arch) if w.arch is not None else torch_sequential(w)).to(device)
    optimizer = (torch.optim.SGD(model.parameters(), lr=w.learning_rate) if w.optimizer == "sgd"
                 else torch.optim.Adam(model.parameters(), lr=w.learning_rate, eps=1e-7))
    loss_fn = nn.CrossEntropyLoss() if w.classification else nn.MSELoss()
    rng = np.random.default_rng(1)
    samples = len(x)

    def fit() -> float:
        x_t = torch.from_numpy(x)
        if x_t.ndim == 4:
            x_t = x_t.permute(0, 3, 1, 2).contiguous()  # NHWC data -> NCHW for nn.Conv2d
        if not x_t.is_floating_point():
            x_t = x_t.long()  # token ids: nn.Embedding's usual index type
        y_t = torch.from_numpy(y).long() if w.classification else torch.from_numpy(y)
        x_t, y_t = x_t.to(device), y_t.to(device)  # (on a GPU: resident, as nhanh's data)
        model.train()
        for _ in range(epochs):
            perm = torch.from_numpy(rng.permutation(samples)).to(device)
            loss_sum = torch.zeros((), device=device)
            for i in batch_starts(samples, w.batch_size):
                idx = perm[i:i + w.batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x_t[idx]), y_t[idx])
                loss.backward()
                optimizer.step()
                loss_sum += loss.detach() * len(idx)
        return float(loss_sum) / samples
    return fit


FAMILIES = {"framework": framework_fit, "jax": jax_fit, "torch": torch_fit}


# --- worker: one measurement in this process -------------------------------------------------
def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def device_peak_mb(engine: str) -> float | None:
    """The GPU's peak memory in use during this process (None on a CPU)."""
    if engine == "torch":
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            return torch.cuda.max_memory_allocated() / 2**20
        return None
    jax = sys.modules.get("jax")
    device = jax.devices()[0] if jax is not None else None
    if device is None or device.platform == "cpu":
        return None
    return (device.memory_stats() or {}).get("peak_bytes_in_use", 0) / 2**20


def timed(fn: Callable[[], float]) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn()  # every fit ends on a host read of its loss: the device work is done
    return time.perf_counter() - start, value


def sized(w: Workload) -> Workload:
    """The workload with --batch-size / --samples applied (passed to workers through the
    environment): GPU runs use batches that fill the device."""
    batch, samples = os.environ.get("BENCH_BATCH_SIZE"), os.environ.get("BENCH_SAMPLES")
    if batch:
        w = dataclasses.replace(w, batch_size=int(batch))
    if samples:
        w = dataclasses.replace(w, samples=int(samples))
    return w


def worker(contender: str, workload: str, quick: bool) -> dict:
    """Build, fit twice, measure. Runs inside the contender's own process."""
    w = sized(WORKLOADS[workload])
    samples, epochs = w.size(quick)
    result = {"contender": contender, "workload": workload, "samples": samples,
              "epochs": epochs, "steps": epochs * len(batch_starts(samples, w.batch_size))}
    started = time.perf_counter()
    try:
        x, y = make_data(w, samples)
        fit = FAMILIES[CONTENDERS[contender][0]](contender, w, x, y, epochs)
        result["setup_s"] = time.perf_counter() - started
        result["first_s"], result["first_loss"] = timed(fit)
        result["steady_s"], result["loss"] = timed(fit)
        result["status"] = "ok"
        if not (math.isfinite(result["first_loss"]) and math.isfinite(result["loss"])):
            result.update(status="error", note=f"loss is not finite: first fit "
                          f"{result['first_loss']}, steady fit {result['loss']}")
    except (Pending, Skipped) as e:
        result.update(status=type(e).__name__.lower(), note=str(e))
    except Exception as e:  # noqa: BLE001 - reported in the table, the other workloads go on
        result.update(status="error", note=f"{type(e).__name__}: {e}"[:300])
    result["peak_rss_mb"] = peak_rss_mb()
    result["device_peak_mb"] = device_peak_mb(CONTENDERS[contender][1])
    return result


# --- parent: subprocesses, medians, tables ---------------------------------------------------
def thread_env(threads: int | None) -> dict:
    """Environment that caps every engine's intra-op threads (None: the engines' defaults)."""
    if not threads:
        return {}
    xla = f"--xla_cpu_multi_thread_eigen={'false' if threads == 1 else 'true'} " \
          f"intra_op_parallelism_threads={threads}"
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
            "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " " + xla).strip()}


def child_env(contender: str | None, threads: int | None) -> dict:
    env = {**os.environ, **thread_env(threads)}
    # Every contender compiles afresh (nhanh's persistent cache would otherwise serve its first
    # fit from earlier runs); bench_first_fit.py measures the cache. Set it to measure here too.
    env.setdefault("NHANH_COMPILATION_CACHE", "0")
    if contender:
        env["NHANH_BACKEND"] = env["KERAS_BACKEND"] = CONTENDERS[contender][1]
    return env


def run_worker(contender: str, workloads: list[str], quick: bool, threads: int | None,
               timeout: float) -> list[dict]:
    """One fresh process of `contender` measuring `workloads` in turn; a result for each."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", contender, ",".join(workloads)]
    if quick:
        cmd.append("--quick")
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=child_env(contender, threads), capture_output=True,
                              text=True, timeout=timeout)
        results = [json.loads(ln[len(RESULT_TAG):]) for ln in proc.stdout.splitlines()
                   if ln.startswith(RESULT_TAG)]
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        note = f"process exited with {proc.returncode}: {tail[:200]}"
    except subprocess.TimeoutExpired:
        results, note = [], f"timed out after {timeout:.0f} s"
    for r in results:  # the whole process: start-up, imports, data, every fit
        r["process_s"] = time.perf_counter() - start
    done = {r["workload"] for r in results}
    return results + [{"contender": contender, "workload": w, "status": "error", "note": note}
                      for w in workloads if w not in done]


IMPORT_CASES = [  # (label, code, environment overrides)
    ("python (nothing imported)", "pass", {}),
    ("import jax", "import jax", {}),
    ("import nhanh (lazy, no engine yet)", "import nhanh", {"NHANH_BACKEND": "jax"}),
    ("import nhanh + load jax engine",
     "import nhanh; nhanh.config.backend()", {"NHANH_BACKEND": "jax"}),
    ("import torch", "import torch", {}),
    ("import nhanh + load torch engine",
     "import nhanh; nhanh.config.backend()", {"NHANH_BACKEND": "torch"}),
    ("import keras (KERAS_BACKEND=jax)", "import keras", {"KERAS_BACKEND": "jax"}),
    ("import keras (KERAS_BACKEND=torch)", "import keras", {"KERAS_BACKEND": "torch"}),
]
IMPORT_BASE = {"import nhanh + load jax engine": "import jax",
               "import nhanh + load torch engine": "import torch"}


def time_import(code: str, env: dict, threads: int | None) -> float | None:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], env={**child_env(None, threads), **env},
                          capture_output=True)
    return time.perf_counter() - start if proc.returncode == 0 else None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=2) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def summarize(results: list[dict]) -> list[dict]:
    """One row of medians per (workload, contender), in the order first seen."""
    rows: dict[tuple[str, str], dict] = {}
    for r in results:
        row = rows.setdefault((r["workload"], r["contender"]),
                              {"workload": r["workload"], "contender": r["contender"], "runs": []})
        row["runs"].append(r)
    for row in rows.values():
        ok = [r for r in row["runs"] if r["status"] == "ok"]
        row["ok"] = len(ok)
        row["note"] = "; ".join(sorted({r.get("note", "") for r in row["runs"]} - {""}))
        row["status"] = "ok" if ok else row["runs"][0]["status"]
        for key in ("first_s", "steady_s", "peak_rss_mb", "loss"):
            row[key] = median([r[key] for r in ok]) if ok else None
        peaks = [r["device_peak_mb"] for r in ok if r.get("device_peak_mb") is not None]
        row["device_peak_mb"] = median(peaks) if peaks else None
        if ok:
            row["samples_per_s"] = ok[0]["samples"] * ok[0]["epochs"] / row["steady_s"]
            row["us_per_step"] = row["steady_s"] / ok[0]["steps"] * 1e6
            row["warmup_s"] = row["first_s"] - row["steady_s"]
    for row in rows.values():
        ref = rows.get((row["workload"], REFERENCE[CONTENDERS[row["contender"]][1]]))
        for key in ("steady_s", "first_s"):
            ok = row["ok"] and ref and ref["ok"]
            row[f"{key}_ratio"] = row[key] / ref[key] if ok else None
    return list(rows.values())


def estimate_full_s(rows: list[dict], imports: dict[str, list]) -> float:
    """Full-size, 3-run duration extrapolated from a --quick run's medians: per row, one
    process start (the quick process's time outside its fits), the warm-up, and two fits of
    the full number of steps at the steady time per step."""
    fit_time: dict[str, float] = {}
    for row in rows:
        for r in row["runs"]:
            if r["status"] == "ok" and r["run"] == 0:
                fit_time[r["contender"]] = fit_time.get(r["contender"], 0) + r["first_s"] + \
                    r["steady_s"]
    process = {r["contender"]: r["process_s"] for row in rows for r in row["runs"]
               if "process_s" in r and r["run"] == 0}
    total = sum(median(v) or 0 for v in imports.values()) or 30.0  # not measured: a guess
    for row in rows:
        if row["ok"]:
            w = sized(WORKLOADS[row["workload"]])
            samples, epochs = w.size(quick=False)
            steps = epochs * len(batch_starts(samples, w.batch_size))
            total += process[row["contender"]] - fit_time[row["contender"]] + row["warmup_s"] \
                + 2 * steps * row["us_per_step"] / 1e6
    return 3 * total


def markdown_table(rows: list[dict]) -> str:
    head = ["workload", "contender", "runs", "first fit s", "steady fit s", "warm-up s",
            "steady samples/s", "steady µs/step", "steady × hand", "first × hand",
            "peak RSS MB", "loss"]
    on_gpu = any(r.get("device_peak_mb") is not None for r in rows)
    if on_gpu:
        head.insert(-1, "peak GPU MB")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if not r["ok"]:
            cells = [r["workload"], r["contender"], "0", f"**{r['status']}**: {r['note']}"]
            cells += [""] * (len(head) - len(cells))
        else:
            cells = [r["workload"], r["contender"], str(r["ok"]), fmt(r["first_s"], 3),
                     fmt(r["steady_s"], 3), fmt(r["warmup_s"], 3), fmt(r["samples_per_s"], 0),
                     fmt(r["us_per_step"], 0), fmt(r["steady_s_ratio"]), fmt(r["first_s_ratio"]),
                     fmt(r["peak_rss_mb"], 0), fmt(r["loss"], 4)]
            if on_gpu:
                cells.insert(-1, fmt(r["device_peak_mb"], 0))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def import_table(timings: dict[str, list]) -> str:
    lines = ["| import | median s | overhead vs engine s |", "|---|---|---|"]
    for label, _, _ in IMPORT_CASES:
        value = median(timings[label])
        base = median(timings[IMPORT_BASE[label]]) if label in IMPORT_BASE else None
        extra = value - base if value is not None and base is not None else None
        extra = fmt(extra, 3) if extra is not None else ""
        lines.append(f"| {label} | {fmt(value, 3)} | {extra} |")
    return "\n".join(lines)


def versions() -> str:
    def version(pkg):
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
    return ", ".join(f"{p} {version(p)}" for p in ("nhanh", "jax", "torch", "keras"))


def split_list(values: list[str], known, what: str) -> list[str]:
    names = [n for v in values for n in v.split(",") if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)}; choose from {', '.join(known)}")
    return names


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", default=[",".join(WORKLOADS)],
                        help=f"comma- or space-separated, from {', '.join(WORKLOADS)}")
    parser.add_argument("--contenders", nargs="+", default=[",".join(CONTENDERS)],
                        help=f"comma- or space-separated, from {', '.join(CONTENDERS)}")
    parser.add_argument("--runs", type=int, default=None,
                        help="fresh processes per contender and workload (default 3; 1 with "
                             "--quick)")
    parser.add_argument("--quick", action="store_true",
                        help="small data, and one process per contender for all workloads: "
                             "a smoke run")
    parser.add_argument("--threads", type=int, default=None,
                        help="cap every engine's intra-op threads (OMP/MKL/XLA); default: the "
                             "engines' own defaults. Use 1 on a busy machine")
    parser.add_argument("--imports", action=argparse.BooleanOptionalAction, default=None,
                        help="time `python -c 'import ...'` too (default: on, off with --quick)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="every workload's batch size (default: each its own; on a GPU, "
                             "batches that fill it)")
    parser.add_argument("--samples", type=int, default=None,
                        help="every workload's samples per epoch at full size")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per worker process")
    parser.add_argument("--json", metavar="PATH", help="write every raw result here")
    parser.add_argument("--worker", nargs=2, metavar=("CONTENDER", "WORKLOADS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        contender, workloads = args.worker
        for workload in workloads.split(","):
            print(RESULT_TAG + json.dumps(worker(contender, workload, args.quick)), flush=True)
        return

    for name, value in (("BENCH_BATCH_SIZE", args.batch_size), ("BENCH_SAMPLES", args.samples)):
        if value is not None:
            os.environ[name] = str(value)  # (the workers inherit it; see sized())
    workloads = split_list(args.workloads, WORKLOADS, "workloads")
    contenders = split_list(args.contenders, CONTENDERS, "contenders")
    runs = args.runs or (1 if args.quick else 3)
    # Full runs: one cold process per (contender, workload, run). --quick: one per contender.
    groups = [workloads] if args.quick else [[w] for w in workloads]
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    results = []
    for run in range(runs):  # runs interleave, so a busy moment hits every contender alike
        for group in groups:
            for contender in contenders:
                for r in run_worker(contender, group, args.quick, args.threads, args.timeout):
                    r["run"] = run
                    results.append(r)
                    progress_line(r, run, runs, time.perf_counter() - started)
    imports = {label: [] for label, _, _ in IMPORT_CASES}
    with_imports = not args.quick if args.imports is None else args.imports
    if with_imports:
        for _ in range(runs):
            for label, code, env in IMPORT_CASES:
                imports[label].append(time_import(code, env, args.threads))

    rows = summarize(results)
    sizes = ", ".join("%s %d samples x %d epoch(s), batch %d" % (
        w, *sized(WORKLOADS[w]).size(args.quick), sized(WORKLOADS[w]).batch_size)
        for w in workloads)
    print(f"## nhanh benchmarks{' (--quick)' if args.quick else ''}\n")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, threads: "
          f"{args.threads or 'engine defaults'}, load average {load_before:.1f} before / "
          f"{os.getloadavg()[0]:.1f} after; Python {platform.python_version()}; {versions()}. "
          f"Medians of {runs} run(s), "
          f"{'one process per contender' if args.quick else 'each a fresh process'}; {sizes}; "
          f"took {time.perf_counter() - started:.0f} s.\n")
    print(markdown_table(rows))
    if with_imports:
        print("\n" + import_table(imports))
    if args.quick and any(row["ok"] for row in rows):
        print(f"\nEstimated duration of the same selection at full size with --runs 3: about "
              f"{estimate_full_s(rows, imports) / 60:.0f} min.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"quick": args.quick, "runs": runs, "threads": args.threads,
                       "versions": versions(), "results": results,
                       "summary": [{k: v for k, v in r.items() if k != "runs"} for r in rows],
                       "imports": imports}, f, indent=1)


def progress_line(r: dict, run: int, runs: int, elapsed: float) -> None:
    detail = (f"first {r['first_s']:.3f}s steady {r['steady_s']:.3f}s" if r["status"] == "ok"
              else r.get("note", ""))
    print(f"[{elapsed:6.1f}s] run {run + 1}/{runs} {r['workload']:8} {r['contender']:12} "
          f"{r['status']:8} {detail}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
