"""What training under nhanh.distribution costs, next to Keras 3 and hand-written JAX/PyTorch.

The workload is bench.py's MLP (784-512-512-10 relu/softmax, Adam 1e-3, sparse CE, global
batch 128, N(0,1) float32 data), trained on one device and data-parallel:

    JAX      nhanh-jax-1 / -dpN, keras-jax-1 / -dpN, jax-1 / jax-dpN: one process; N devices
             (on a CPU, N host devices made by XLA_FLAGS=--xla_force_host_platform_device_count,
             set only in the dpN children; on GPUs, the first N GPUs)
    PyTorch  nhanh-torch-1 / -dpP, torch-1 / torch-ddpP: P processes joined by torch.distributed
             (gloo on CPUs, NCCL on GPUs) through torchrun's variables (MASTER_ADDR,
             MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK) on 127.0.0.1, a free port per run

Every (contender, run) is a fresh process (P processes for a PyTorch dpP contender). Each
fit records when every epoch ends, after a host read of that epoch's loss, so asynchronous
dispatch cannot hide work: the first epoch runs from the call of fit (data transfer, tracing
and compilation included), every later one from the end of the one before. "steady" is the
median of the epochs after the first. The parent prints one Markdown table of medians over
`--runs` runs (interleaved: run 1 of every contender, then run 2, ...); progress goes to stderr.

    python benchmarks/bench_distribution.py --quick             # smoke run: 1,280 x 2, 1 run
    python benchmarks/bench_distribution.py                     # 12,800 x 3 epochs, 3 runs
    python benchmarks/bench_distribution.py --devices 4 --processes 4     # 4 GPUs
    torchrun --nproc-per-node=8 benchmarks/bench_distribution.py --worker nhanh-torch-dp
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (WORKLOADS, fmt, init_params, make_data, median, split_list,  # noqa: E402
                   thread_env, versions)

RESULT_TAG = "BENCH_DIST "
WORKLOAD = dataclasses.replace(WORKLOADS["mlp"], samples=12_800, epochs=3, quick_samples=1_280,
                               quick_epochs=2)

# contender -> (family, engine, distributed?); the table orders rows as listed here.
CONTENDERS = {
    "nhanh-jax-1": ("nhanh", "jax", False),
    "nhanh-jax-dp": ("nhanh", "jax", True),
    "keras-jax-1": ("keras", "jax", False),
    "keras-jax-dp": ("keras", "jax", True),
    "jax-1": ("jax", "jax", False),
    "jax-dp": ("jax", "jax", True),
    "nhanh-torch-1": ("nhanh", "torch", False),
    "nhanh-torch-dp": ("nhanh", "torch", True),
    "torch-1": ("torch", "torch", False),
    "torch-ddp": ("torch", "torch", True),
}
HAND = {"jax": "jax", "torch": "torch"}  # the hand-written family of each engine


def single_of(contender: str) -> str:
    """The same family's contender on one device."""
    return re.sub(r"-(dp|ddp)$", "-1", contender)


def counterpart(contender: str, family: str) -> str | None:
    """`family`'s contender on the same engine at the same device count (None: there is none)."""
    _, engine, dist = CONTENDERS[contender]
    for name, (fam, eng, d) in CONTENDERS.items():
        if fam == family and eng == engine and d == dist:
            return name
    return None


class Skipped(Exception):
    """The contender's package is not installed."""


# --- multi-process set-up, read in the worker --------------------------------------------------
def torch_world() -> tuple[int, int, int]:
    """(world size, rank, local rank) from torchrun's variables (1, 0, 0 without them)."""
    env = os.environ
    return (int(env.get("WORLD_SIZE", "1")), int(env.get("RANK", "0")),
            int(env.get("LOCAL_RANK", env.get("RANK", "0"))))


def jax_multiprocess() -> bool:
    """Whether this JAX process is one of several (jax.distributed, Keras's variables)."""
    return int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1")) > 1


# --- contenders: each returns fit() -> (epoch end times relative to the call, last loss) -------
def framework_fit(contender: str, x, y, epochs: int, devices: int | None):
    """nhanh and Keras 3 run the same Keras code; dp contenders set DataParallel first."""
    family, engine, dist = CONTENDERS[contender]
    if family == "keras":
        os.environ["KERAS_BACKEND"] = engine
        try:
            import keras as K
        except Exception as e:  # noqa: BLE001 - any failure to import means: skip
            raise Skipped(f"keras not importable: {type(e).__name__}: {e}") from None
    else:
        import nhanh as K
        K.config.set_backend(engine)
    used, batch_size = 1, WORKLOAD.batch_size
    if dist:
        world, rank, _ = torch_world()
        if engine == "torch":  # torchrun's variables, also when this parent set them
            K.distribution.initialize(
                f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}", world, rank)
        elif jax_multiprocess():
            K.distribution.initialize()  # KERAS_DISTRIBUTION_* variables
        found = K.distribution.list_devices()
        if devices and not (engine == "jax" and jax_multiprocess()):
            if len(found) < devices:
                raise RuntimeError(f"--devices {devices}, but this run has {found}")
            found = found[:devices]
        options = {}
        if family == "keras" and jax_multiprocess():
            # Keras shards only tf.data by itself: give each process its share of the rows and
            # its share of each global batch.
            n, i = int(os.environ["KERAS_DISTRIBUTION_NUM_PROCESSES"]), \
                int(os.environ["KERAS_DISTRIBUTION_PROCESS_ID"])
            share = len(x) // n
            x, y, batch_size = x[i * share:(i + 1) * share], y[i * share:(i + 1) * share], \
                batch_size // n
            options["auto_shard_dataset"] = False
        K.distribution.set_distribution(K.distribution.DataParallel(devices=found, **options))
        used = len(found)
    K.utils.set_random_seed(0)  # the same shuffles in every process
    w = WORKLOAD
    model = K.Sequential([K.Input(shape=w.sample_shape),
                          *[K.layers.Dense(spec.units, activation=spec.activation)
                            for spec in w.layers]])
    model.compile(optimizer=K.optimizers.Adam(learning_rate=w.learning_rate), loss=w.loss,
                  metrics=["accuracy"])

    class EpochEnds(K.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            float(logs["loss"])  # a host read: the epoch's work is done
            ends.append(time.perf_counter())

    ends: list[float] = []

    def fit():
        ends.clear()
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0,
                            callbacks=[EpochEnds()])
        return [e - start for e in ends], float(history.history["loss"][-1])
    return fit, used


def jax_fit(contender: str, x, y, epochs: int, devices: int | None):
    """Hand-written JAX: a jit'd step (state donated) per batch, Adam written out (Keras's form,
    epsilon 1e-7); dp: a 1-D mesh, batches put with NamedSharding(mesh, P('batch')), the
    state replicated, XLA inserting the all-reduce."""
    import jax
    import jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

    dist = CONTENDERS[contender][2]
    w = WORKLOAD
    if dist and jax_multiprocess():
        env = os.environ
        jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPUs: cross-process
        jax.distributed.initialize(env["KERAS_DISTRIBUTION_JOB_ADDRESSES"].split(",")[0],
                                   int(env["KERAS_DISTRIBUTION_NUM_PROCESSES"]),
                                   int(env["KERAS_DISTRIBUTION_PROCESS_ID"]))
    found = jax.devices()
    if dist and devices and not jax_multiprocess():
        if len(found) < devices:
            raise RuntimeError(f"--devices {devices}, but this run has {found}")
        found = found[:devices]
    if not dist:
        found = found[:1]
    mesh = Mesh(np.array(found), ("batch",))
    batch_sharding, replicated = NamedSharding(mesh, P("batch")), NamedSharding(mesh, P())
    b1, b2, eps, lr = 0.9, 0.999, 1e-7, w.learning_rate

    def loss_fn(params, xb, yb):
        for i, p in enumerate(params):
            xb = xb @ p["kernel"] + p["bias"]
            if i < len(params) - 1:
                xb = jax.nn.relu(xb)
        logp = jax.nn.log_softmax(xb)
        return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

    def step(state, xb, yb):
        params, m, v, t, loss_sum = state
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        t = t + 1
        m = jax.tree.map(lambda m, g: m + (1 - b1) * (g - m), m, grads)
        v = jax.tree.map(lambda v, g: v + (1 - b2) * (g * g - v), v, grads)
        alpha = lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        params = jax.tree.map(lambda p, m, v: p - alpha * m / (jnp.sqrt(v) + eps), params, m, v)
        return params, m, v, t, loss_sum + loss * xb.shape[0]

    step_jit = jax.jit(step, donate_argnums=0)
    params = [{k: jnp.asarray(a) for k, a in p.items()} for _, p, _ in init_params(w)]
    zeros = lambda: jax.tree.map(jnp.zeros_like, params)  # noqa: E731 - own buffers (donated)
    state = jax.device_put((params, zeros(), zeros(), jnp.zeros(()), jnp.zeros(())), replicated)
    rng, samples = np.random.default_rng(1), len(x)

    def put(batch: np.ndarray):
        if jax.process_count() == 1:
            return jax.device_put(batch, batch_sharding)
        rows = [i[0] for i in batch_sharding.addressable_devices_indices_map(batch.shape).values()]
        start, stop = min(r.start or 0 for r in rows), max(r.stop or len(batch) for r in rows)
        return jax.make_array_from_process_local_data(batch_sharding, batch[start:stop],
                                                      batch.shape)

    def fit():
        nonlocal state
        ends, start = [], time.perf_counter()
        for _ in range(epochs):
            state = (*state[:4], jax.device_put(jnp.zeros(()), replicated))
            perm = rng.permutation(samples)
            for i in range(0, samples, w.batch_size):
                idx = perm[i:i + w.batch_size]
                state = step_jit(state, put(x[idx]), put(y[idx]))
            loss = float(state[4]) / samples
            ends.append(time.perf_counter() - start)
        return ends, loss
    return fit, len(found)


def torch_fit(contender: str, x, y, epochs: int, devices: int | None):
    """Hand-written PyTorch: nn.Sequential, torch.optim.Adam, zero_grad(set_to_none=True);
    ddp: DistributedDataParallel, each rank taking its half of the same global batch."""
    import torch
    from torch import nn

    dist = CONTENDERS[contender][2]
    world, rank, local_rank = torch_world() if dist else (1, 0, 0)
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if dist:
        import torch.distributed as td
        if cuda:
            torch.cuda.set_device(device)
        td.init_process_group("nccl" if cuda else "gloo", world_size=world, rank=rank)
    modules = []
    for spec, params, in_shape in init_params(WORKLOAD):
        linear = nn.Linear(in_shape[-1], spec.units)
        linear.weight.data = torch.from_numpy(np.ascontiguousarray(params["kernel"].T))
        linear.bias.data = torch.from_numpy(params["bias"])
        modules += [linear, nn.ReLU()] if spec.activation == "relu" else [linear]
    model = nn.Sequential(*modules).to(device)
    if dist:
        from torch.nn.parallel import DistributedDataParallel
        model = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)
    optimizer = torch.optim.Adam(model.parameters(), lr=WORKLOAD.learning_rate, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    rng, samples, share = np.random.default_rng(1), len(x), WORKLOAD.batch_size // world

    def fit():
        ends, start = [], time.perf_counter()
        x_t, y_t = torch.from_numpy(x).to(device), torch.from_numpy(y).long().to(device)
        for _ in range(epochs):
            perm = torch.from_numpy(rng.permutation(samples)).to(device)
            loss_sum = torch.zeros((), device=device)
            for i in range(0, samples, WORKLOAD.batch_size):
                idx = perm[i:i + WORKLOAD.batch_size][rank * share:(rank + 1) * share]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x_t[idx]), y_t[idx])
                loss.backward()
                optimizer.step()
                loss_sum += loss.detach() * len(idx)
            if dist:
                td.all_reduce(loss_sum)
            loss = float(loss_sum) / samples
            ends.append(time.perf_counter() - start)
        return ends, loss
    return fit, world


FAMILIES = {"nhanh": framework_fit, "keras": framework_fit, "jax": jax_fit, "torch": torch_fit}


# --- worker ------------------------------------------------------------------------------------
def worker(contender: str, quick: bool, devices: int | None, samples: int | None,
           epochs: int | None) -> dict | None:
    """Build and fit once in this process; the result (None on a PyTorch rank other than 0)."""
    default_samples, default_epochs = WORKLOAD.size(quick)
    samples, epochs = samples or default_samples, epochs or default_epochs
    _, engine, dist = CONTENDERS[contender]
    result = {"contender": contender, "samples": samples, "epochs": epochs,
              "processes": torch_world()[0] if engine == "torch" and dist else
              int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1")) if dist else 1}
    try:
        x, y = make_data(WORKLOAD, samples)
        fit, result["devices"] = FAMILIES[CONTENDERS[contender][0]](contender, x, y, epochs,
                                                                      devices)
        result["epoch_s"], result["loss"] = fit()
        result["status"] = "ok"
    except Skipped as e:
        result.update(status="skipped", note=str(e))
    except Exception as e:  # noqa: BLE001 - reported in the table, the others go on
        traceback.print_exc()  # the whole story on stderr (--worker runs by hand show it)
        result.update(status="error", note=f"{type(e).__name__}: {e}"[:300])
    if dist and (torch_world()[1] if engine == "torch" else
                 int(os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID", "0"))) != 0:
        return None  # process 0 reports
    return result


# --- parent ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gpu_count() -> int:
    """CUDA devices as PyTorch sees them (0 without nvidia-smi, without starting torch)."""
    if shutil.which("nvidia-smi") is None:
        return 0
    done = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.device_count())"],
                          capture_output=True, text=True)
    return int(done.stdout.strip() or 0) if done.returncode == 0 else 0


def child_env(contender: str, args, rank: int = 0, port: int = 0) -> dict:
    _, engine, dist = CONTENDERS[contender]
    threads = args.threads
    if threads is None and engine == "torch":  # every PyTorch process gets what torchrun's
        threads = max(1, (os.cpu_count() or 1) // args.processes)  # would: cores / processes
    env = {**os.environ, **thread_env(threads), "NHANH_BACKEND": engine, "KERAS_BACKEND": engine}
    if engine == "jax" and dist:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count="
                            f"{args.devices or 8}").strip()
    if engine == "torch" and dist:
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(args.processes),
                   RANK=str(rank), LOCAL_RANK=str(rank))
    return env


def run_contender(contender: str, args) -> dict:
    """One measurement: one fresh process, or `--processes` of them for a PyTorch dp run."""
    _, engine, dist = CONTENDERS[contender]
    world = args.processes if engine == "torch" and dist else 1
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", contender]
    for flag in ("quick",):
        if getattr(args, flag):
            cmd.append(f"--{flag}")
    for flag in ("devices", "samples", "epochs", "batch_size"):
        if getattr(args, flag):
            cmd += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    port = free_port()
    procs = [subprocess.Popen(cmd, env=child_env(contender, args, rank, port),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rank in range(world)]
    outputs, note = [], ""
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=args.timeout))
    except subprocess.TimeoutExpired:
        note = f"timed out after {args.timeout:.0f} s"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    found = [json.loads(ln[len(RESULT_TAG):]) for out, _ in outputs[:1]
             for ln in out.splitlines() if ln.startswith(RESULT_TAG)]
    if found:
        return found[0]
    if not note and outputs:
        tail = (outputs[0][1].strip().splitlines() or ["no output"])[-1]
        note = f"process exited with {procs[0].returncode}: {tail[:200]}"
    return {"contender": contender, "status": "error", "note": note}


def label(contender: str, row: dict) -> str:
    """nhanh-jax-dp -> nhanh-jax-dp8 (the device count the run really had)."""
    if not CONTENDERS[contender][2]:
        return contender
    return contender + str(row.get("devices") or "")


def summarize(results: list[dict]) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for name in CONTENDERS:
        runs = [r for r in results if r["contender"] == name]
        if not runs:
            continue
        ok = [r for r in runs if r["status"] == "ok"]
        row = rows[name] = {"contender": name, "ok": len(ok), "status": ok and "ok" or
                            runs[0]["status"],
                            "note": "; ".join(sorted({r.get("note", "") for r in runs} - {""}))}
        if ok:
            row["devices"], row["processes"] = ok[0]["devices"], ok[0]["processes"]
            epochs = [np.diff([0.0, *r["epoch_s"]]) * 1000 for r in ok]
            row["first_ms"] = median([float(e[0]) for e in epochs])
            row["steady_ms"] = median([float(np.median(e[1:])) for e in epochs if len(e) > 1])
            row["loss"] = median([r["loss"] for r in ok])
            steps = -(-ok[0]["samples"] // WORKLOAD.batch_size)
            if row["steady_ms"]:
                row["samples_per_s"] = ok[0]["samples"] / row["steady_ms"] * 1000
                row["ms_per_step"] = row["steady_ms"] / steps

    def ratio(row, other, key):
        other = rows.get(other) if other else None
        if not (row["ok"] and other and other["ok"] and row.get(key) and other.get(key)):
            return None
        return row[key] / other[key]

    for name, row in rows.items():
        family, engine, dist = CONTENDERS[name]
        for key in ("steady_ms", "first_ms"):
            row[f"{key}_x_single"] = ratio(row, single_of(name), key) if dist else None
            row[f"{key}_x_hand"] = ratio(row, counterpart(name, HAND[engine]), key) \
                if family != HAND[engine] else None
            row[f"{key}_x_keras"] = ratio(row, counterpart(name, "keras"), key) \
                if family == "nhanh" else None
    return rows


def markdown_table(rows: dict[str, dict]) -> str:
    head = ["contender", "devices", "runs", "first epoch ms", "steady epoch ms",
            "steady samples/s", "steady ms/step", "steady × own 1-device",
            "first × own 1-device", "steady × hand-written", "steady × Keras", "loss"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows.items():
        if not r["ok"]:
            cells = [name, "", "0", f"**{r['status']}**: {r['note']}"]
            cells += [""] * (len(head) - len(cells))
        else:
            where = f"{r['devices']}" + (f" ({r['processes']} processes)"
                                          if r["processes"] > 1 else "")
            cells = [label(name, r), where, str(r["ok"]), fmt(r["first_ms"], 1),
                     fmt(r["steady_ms"], 1), fmt(r.get("samples_per_s"), 0),
                     fmt(r.get("ms_per_step"), 2), fmt(r["steady_ms_x_single"]),
                     fmt(r["first_ms_x_single"]), fmt(r["steady_ms_x_hand"]),
                     fmt(r["steady_ms_x_keras"]), fmt(r["loss"], 4)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def resolve_contenders(values: list[str]) -> list[str]:
    """Names as listed, with a device count accepted after dp/ddp (nhanh-jax-dp8)."""
    names = [re.sub(r"-(dp|ddp)\d+$", r"-\1", n) for v in values for n in v.split(",") if n]
    return split_list(names, CONTENDERS, "contenders")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contenders", nargs="+", default=[",".join(CONTENDERS)],
                        help=f"comma- or space-separated, from {', '.join(CONTENDERS)} (a device "
                             "count may follow dp/ddp: nhanh-jax-dp8)")
    parser.add_argument("--runs", type=int, default=None,
                        help="fresh processes per contender (default 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="1,280 samples x 2 epochs, 1 run")
    parser.add_argument("--samples", type=int, help="samples per epoch (default 12,800)")
    parser.add_argument("--epochs", type=int, help="epochs, at least 2 (default 3)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="global batch (default 128); scale it with the devices for weak "
                             "scaling")
    parser.add_argument("--devices", type=int, default=None,
                        help="JAX dp contenders: devices in the mesh (default: 8 host devices on "
                             "a CPU, every GPU on a GPU machine)")
    parser.add_argument("--processes", type=int, default=None,
                        help="PyTorch dp contenders: processes, one per device (default: every "
                             "GPU, else 2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="cap every engine's intra-op threads (OMP/MKL/XLA); default: the "
                             "engines' own, and cores / processes for PyTorch dp processes")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per measurement")
    parser.add_argument("--json", metavar="PATH", help="write every raw result here")
    parser.add_argument("--worker", metavar="CONTENDER", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 2:
        parser.error(f"--epochs must be at least 2 (the first epoch includes compilation), got "
                     f"{args.epochs}")

    if args.batch_size:
        global WORKLOAD
        WORKLOAD = dataclasses.replace(WORKLOAD, batch_size=args.batch_size)

    if args.worker:  # one measurement: this process (also started by torchrun)
        contender = resolve_contenders([args.worker])[0]
        result = worker(contender, args.quick, args.devices, args.samples, args.epochs)
        if result is not None:
            print(RESULT_TAG + json.dumps(result), flush=True)
        return

    contenders = resolve_contenders(args.contenders)
    runs = args.runs or (1 if args.quick else 3)
    if args.processes is None:
        args.processes = gpu_count() or 2
    for count, flag in ((args.processes, "--processes"), (args.devices or 1, "--devices")):
        if WORKLOAD.batch_size % count:
            parser.error(f"the global batch {WORKLOAD.batch_size} does not divide over {flag} "
                         f"{count}; pick a --batch-size that is a multiple of it")
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    results = []
    for run in range(runs):  # interleaved, so a busy moment hits every contender alike
        for contender in contenders:
            r = run_contender(contender, args)
            r["run"] = run
            results.append(r)
            detail = (f"epochs {', '.join(f'{t:.2f}' for t in r['epoch_s'])} s (cumulative)"
                      if r["status"] == "ok" else r.get("note", ""))
            print(f"[{time.perf_counter() - started:6.1f}s] run {run + 1}/{runs} "
                  f"{contender:15} {r['status']:8} {detail}", file=sys.stderr, flush=True)

    rows = summarize(results)
    samples, epochs = args.samples or WORKLOAD.size(args.quick)[0], \
        args.epochs or WORKLOAD.size(args.quick)[1]
    print(f"## nhanh distribution benchmark{' (--quick)' if args.quick else ''}\n")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, threads: "
          f"{args.threads or 'engine defaults'}, load average {load_before:.1f} before / "
          f"{os.getloadavg()[0]:.1f} after; Python {platform.python_version()}; {versions()}. "
          f"MLP 784-512-512-10, {samples:,} samples x {epochs} epochs, global batch "
          f"{WORKLOAD.batch_size}; medians of {runs} run(s), each a fresh process; took "
          f"{time.perf_counter() - started:.0f} s.\n")
    print(markdown_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"quick": args.quick, "runs": runs, "threads": args.threads,
                       "devices": args.devices, "processes": args.processes,
                       "versions": versions(), "results": results,
                       "summary": list(rows.values())}, f, indent=1)


if __name__ == "__main__":
    main()
