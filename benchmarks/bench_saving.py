"""Save and load of a ~100M-parameter model: nhanh next to Keras 3, on the same engine.

The model is `Sequential([Input((W,)), Dense(W), ... D times])` (default W=3072, D=11:
103.8M float32 parameters, 415 MB; the largest variable, one 3072 x 3072 kernel, is 37.7 MB,
about a tenth of the total), built the same way in nhanh and in Keras 3. Every contender
(nhanh or keras, on the engine given by --engine) runs in a FRESH subprocess of this file
(`--worker`), with `NHANH_BACKEND`/`KERAS_BACKEND` set before anything is imported, so imports,
allocator caches and earlier peaks never leak from one contender into another. The worker
builds the model and then measures, in this order:

    save          model.save("m.keras")
    load_model    load_model("m.keras", compile=False)  (the new model is then dropped)
    save_weights  model.save_weights("m.weights.h5")
    load_weights  model.load_weights("m.weights.h5")     into the existing model

On JAX each load ends with `jax.block_until_ready` on every variable (inside the timing), so
asynchronous transfers cannot make a load look shorter than its work. Each load is checked:
the loaded values must equal the saved ones (a checksum of the first kernel and of the last
bias, which is zeroed just before load_weights so that the load must restore it).

How memory is measured (per operation, after `gc.collect()`):
- peak extra RSS = the process's peak resident set size during the operation minus its RSS
  just before it. Linux keeps the peak itself (VmHWM in /proc/self/status); writing "5" to
  /proc/self/clear_refs resets it to the current RSS, so `reset; op; read VmHWM` gives the
  exact peak of that operation, however short, and costs nothing while it runs. Where
  clear_refs cannot be written, a thread samples VmRSS every 2 ms instead (it can miss short
  peaks while C code holds the GIL; the table says which method was used).
- kept = RSS after minus RSS before (load_model keeps the new model: about the model's size);
  transient = peak - max(before, after): what the operation needed beyond its result. The
  issue's target, "peak extra memory at most the largest variable plus a small constant", is
  checked on transient (for save, save_weights and load_weights, kept is about 0).
- Python peak / kept = tracemalloc's peak, and what is still traced at the end, for the
  Python-level allocations made during the operation (NumPy arrays included; JAX's and
  PyTorch's own buffers are not traced), taken in a second, untimed pass of each operation,
  because tracing slows allocation. A NumPy buffer that the engine adopts as a variable's
  storage (nhanh on JAX reads 64-byte-aligned arrays that XLA uses without a copy) stays
  traced, so there "kept" is the loaded model itself.
Page cache (the files written) is not part of RSS. So that RSS follows what is really
allocated, every worker runs with glibc's `MALLOC_MMAP_THRESHOLD_=65536` (same for both
contenders; `--mmap-threshold 0` leaves malloc's defaults): each block of 64 KiB or more is then
its own mapping, returned to the system when freed. Without it, glibc's heap keeps freed
blocks (its threshold grows to 32 MiB), a later copy reuses them without raising RSS, and a
second copy of a variable can go unseen.

    python benchmarks/bench_saving.py --engine jax          # 100M model, nhanh vs Keras on JAX
    python benchmarks/bench_saving.py --engine jax,torch --runs 3   # both engines, medians of 3
    python benchmarks/bench_saving.py --engine torch --width 1024 --depth 5   # 5M smoke run
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc

import numpy as np

RESULT_TAG = "BENCH_SAVING "
OPERATIONS = ("save", "load_model", "save_weights", "load_weights")
CONSTANT_MB = 16.0  # the "small constant" of the memory target
MB = 1 << 20


# --- memory ----------------------------------------------------------------------------------
def _status(field: str) -> int:
    """A `/proc/self/status` field in bytes (VmRSS, VmHWM)."""
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024


def _can_reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakRSS:
    """Peak RSS of the process during a `with` block, relative to the RSS just before it."""

    def __init__(self, method: str):
        self.method = method

    def __enter__(self) -> "PeakRSS":
        gc.collect()
        self._stop = threading.Event()
        if self.method == "hwm":
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # VmHWM := VmRSS now
            self.before = _status("VmRSS")
        else:
            self.before = self._peak = _status("VmRSS")
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self._peak = max(self._peak, _status("VmRSS"))

    def __exit__(self, *exc) -> None:
        if self.method == "hwm":
            self.peak = _status("VmHWM")
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self._peak, _status("VmRSS"))
        self.after = _status("VmRSS")


# --- worker ------------------------------------------------------------------------------------
def _framework(contender: str, engine: str):
    if contender == "keras":
        os.environ["KERAS_BACKEND"] = engine  # before the first keras import
        import keras as K

        return K, K.saving.load_model
    os.environ["NHANH_BACKEND"] = engine
    import nhanh as K

    K.config.set_backend(engine)
    return K, K.models.load_model


def _sync(engine: str, model) -> None:
    """Wait until every variable's value exists (JAX dispatches transfers asynchronously)."""
    if engine == "jax":
        import jax

        jax.block_until_ready([v.value for v in model.weights])


def _checksum(model) -> list[float]:
    first, last = model.weights[0], model.weights[-1]
    return [float(np.asarray(first.numpy(), np.float64).sum()),
            float(np.asarray(last.numpy(), np.float64).sum())]


def _memory_entry(seconds: float, memory: PeakRSS) -> dict:
    return {"s": seconds, "before_mb": memory.before / MB, "peak_mb": memory.peak / MB,
            "after_mb": memory.after / MB, "extra_mb": (memory.peak - memory.before) / MB,
            "kept_mb": (memory.after - memory.before) / MB,
            "transient_mb": (memory.peak - max(memory.before, memory.after)) / MB}


def worker(contender: str, engine: str, width: int, depth: int, folder: str,
           trace: bool, method: str) -> dict:
    t0 = time.perf_counter()
    K, load_model = _framework(contender, engine)
    K.utils.set_random_seed(0)
    with PeakRSS(method) as memory:  # context: load_model builds the same model first
        start = time.perf_counter()
        model = K.Sequential([K.Input(shape=(width,))] +
                             [K.layers.Dense(width, name=f"dense_{i}") for i in range(depth)])
        _sync(engine, model)
        seconds = time.perf_counter() - start
    sizes = [int(np.prod(v.shape)) * 4 for v in model.weights]
    result = {"contender": contender, "engine": engine, "params": sum(sizes) // 4,
              "total_mb": sum(sizes) / MB, "largest_mb": max(sizes) / MB,
              "variables": len(sizes), "memory_method": method,
              "import_s": start - t0, "ops": {"build": _memory_entry(seconds, memory)}}
    reference = _checksum(model)
    keras_path = os.path.join(folder, f"{contender}-{engine}.keras")
    weights_path = os.path.join(folder, f"{contender}-{engine}.weights.h5")

    def run(op: str):
        if op == "save":
            model.save(keras_path)
        elif op == "load_model":
            loaded = load_model(keras_path, compile=False)
            _sync(engine, loaded)
            return loaded
        elif op == "save_weights":
            model.save_weights(weights_path)
        else:
            model.load_weights(weights_path)
            _sync(engine, model)
        return None

    for op in OPERATIONS:
        if op == "load_weights":  # so that the load has something to restore
            last = model.weights[-1]
            last.assign(np.zeros(last.shape, np.float32))
        with PeakRSS(method) as memory:
            start = time.perf_counter()
            out = run(op)
            seconds = time.perf_counter() - start
        checked = _checksum(out if out is not None else model) if op.startswith("load") else None
        if checked is not None and not np.allclose(checked, reference, rtol=1e-6, atol=1e-3):
            raise AssertionError(f"{contender} {op}: loaded checksums {checked} != saved "
                                 f"{reference}")
        del out
        gc.collect()
        entry = _memory_entry(seconds, memory)
        path = keras_path if op in ("save", "load_model") else weights_path
        entry["file_mb"] = os.path.getsize(path) / MB
        if trace:  # a second, untimed pass under tracemalloc
            gc.collect()
            tracemalloc.start()
            out = run(op)
            current, peak = tracemalloc.get_traced_memory()
            entry["py_peak_mb"], entry["py_kept_mb"] = peak / MB, current / MB
            tracemalloc.stop()
            del out
            gc.collect()
        result["ops"][op] = entry
        print(f"  {contender}-{engine} {op}: {seconds:.3f} s, peak extra "
              f"{entry['extra_mb']:.1f} MB, kept {entry['kept_mb']:.1f} MB", file=sys.stderr)
    return result


# --- parent ----------------------------------------------------------------------------------
def run_worker(contender: str, engine: str, args, folder: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", contender, "--engine", engine,
           "--width", str(args.width), "--depth", str(args.depth), "--dir", folder,
           "--memory", args.memory]
    if not args.tracemalloc:
        cmd.append("--no-tracemalloc")
    env = {**os.environ, "NHANH_BACKEND": engine, "KERAS_BACKEND": engine}
    if args.mmap_threshold:
        env["MALLOC_MMAP_THRESHOLD_"] = str(args.mmap_threshold)
    try:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True,
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"contender": contender, "engine": engine, "error": f"timed out ({args.timeout} s)"}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    return {"contender": contender, "engine": engine,
            "error": f"worker exited with {proc.returncode} (see its stderr above)"}


def merge(measured: list[dict]) -> dict:
    """One result whose every per-operation number is the median over the successful runs."""
    good = [r for r in measured if "error" not in r]
    if not good:
        return measured[-1]
    out = {**good[0], "runs": len(good), "ops": {}}
    for op, entry in good[0]["ops"].items():
        out["ops"][op] = {key: statistics.median(r["ops"][op][key] for r in good)
                          for key in entry}
    return out


def versions() -> str:
    names = ["nhanh", "jax", "torch", "keras", "h5py", "numpy"]
    out = []
    for name in names:
        try:
            out.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def ratio(a, b) -> str:
    return f"{a / b:.2f}" if a is not None and b else "–"


def num(value, digits=1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def py(entry: dict) -> str:
    if entry.get("py_peak_mb") is None:
        return "–"
    return f"{entry['py_peak_mb']:,.1f} / {entry['py_kept_mb']:,.1f}"


def table(results: list[dict]) -> str:
    lines = []
    for engine in dict.fromkeys(r["engine"] for r in results):
        by = {r["contender"]: r for r in results if r["engine"] == engine}
        ok = [r for r in by.values() if "error" not in r]
        for r in by.values():
            if "error" in r:
                lines.append(f"{r['contender']} on {engine}: {r['error']}\n")
        if not ok:
            continue
        info = ok[0]
        limit = info["largest_mb"] + CONSTANT_MB
        lines.append(f"**{engine}**: {info['params']:,} float32 parameters in "
                     f"{info['variables']} variables, {info['total_mb']:.1f} MB; largest "
                     f"variable {info['largest_mb']:.1f} MB; memory target (transient) <= "
                     f"{limit:.1f} MB (largest + {CONSTANT_MB:.0f}); peak RSS by "
                     f"{'VmHWM reset' if info['memory_method'] == 'hwm' else '2 ms sampling'}.\n")
        lines.append("| operation | nhanh s | keras s | time nhanh/keras | nhanh peak extra MB "
                     "| keras peak extra MB | nhanh kept MB | keras kept MB | nhanh transient MB "
                     "| keras transient MB | transient nhanh/keras | nhanh py peak / kept MB "
                     "| keras py peak / kept MB | file MB nhanh / keras | nhanh meets targets |")
        lines.append("|" + "---|" * 15)
        n, k = by.get("nhanh", {}).get("ops", {}), by.get("keras", {}).get("ops", {})
        for op in ("build", *OPERATIONS):
            a, b = n.get(op, {}), k.get(op, {})
            verdict = "(context: not a saving operation)" if op == "build" else "–"
            if a and op != "build":
                fast = not b or a["s"] <= b["s"]
                small = a["transient_mb"] <= limit
                verdict = f"time {'yes' if fast else 'no'}, memory {'yes' if small else 'no'}"
            lines.append(
                f"| {op} | {num(a.get('s'), 3)} | {num(b.get('s'), 3)} | "
                f"{ratio(a.get('s'), b.get('s'))} | {num(a.get('extra_mb'))} | "
                f"{num(b.get('extra_mb'))} | {num(a.get('kept_mb'))} | {num(b.get('kept_mb'))} | "
                f"{num(a.get('transient_mb'))} | {num(b.get('transient_mb'))} | "
                f"{ratio(a.get('transient_mb'), b.get('transient_mb'))} | "
                f"{py(a)} | {py(b)} | "
                f"{num(a.get('file_mb'))} / {num(b.get('file_mb'))} | {verdict} |".replace(
                    "– / –", "–"))
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="jax", help="jax, torch or jax,torch")
    parser.add_argument("--contenders", default="nhanh,keras")
    parser.add_argument("--runs", type=int, default=1, help="fresh processes per contender; "
                        "the table shows medians")
    parser.add_argument("--width", type=int, default=3072, help="units of each Dense layer")
    parser.add_argument("--depth", type=int, default=11, help="number of Dense layers")
    parser.add_argument("--dir", default=None, help="folder for the files (default: a "
                        "temporary folder, removed afterwards)")
    parser.add_argument("--memory", choices=["auto", "hwm", "sampler"], default="auto")
    parser.add_argument("--mmap-threshold", type=int, default=65536,
                        help="glibc MALLOC_MMAP_THRESHOLD_ for the workers (0: malloc's default)")
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false")
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory == "auto":
        args.memory = "hwm" if _can_reset_peak() else "sampler"
    if args.worker:
        result = worker(args.worker, args.engine, args.width, args.depth, args.dir,
                        args.tracemalloc, args.memory)
        print(RESULT_TAG + json.dumps(result), flush=True)
        return
    folder = args.dir or tempfile.mkdtemp(prefix="nhanh-bench-saving-")
    os.makedirs(folder, exist_ok=True)
    runs: dict[tuple, list] = {}
    try:
        for run in range(args.runs):  # interleaved: a busy moment hits every contender
            for engine in args.engine.split(","):
                for contender in args.contenders.split(","):
                    print(f"{contender} on {engine}, run {run + 1} ...", file=sys.stderr)
                    runs.setdefault((engine, contender), []).append(
                        run_worker(contender, engine, args, folder))
                    for name in os.listdir(folder):  # free the disk between contenders
                        os.remove(os.path.join(folder, name))
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    results = [merge(measured) for measured in runs.values()]
    load = os.getloadavg()
    print(f"Medians of {args.runs} run(s) per contender, each a fresh process. "
          f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {versions()}; load average {load[0]:.1f} "
          f"{load[1]:.1f} {load[2]:.1f} at the end.\n")
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"medians": results, "runs": [r for rs in runs.values() for r in rs]},
                      f, indent=1)


if __name__ == "__main__":
    main()
