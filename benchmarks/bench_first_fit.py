"""The first fit a user waits for: the article's job in a fresh process, nhanh against Keras 3.

A script's first `fit()` pays for compilation (JAX) or capture (PyTorch) before it trains. Each
measurement here is a new Python process that imports the library, builds the article's model
(Dense(1), SGD(0.1), MSE) and times its first `fit` (100 samples x 2 features, 100 epochs,
batch 2, verbose=0), then exits. nhanh on JAX keeps compiled programs in a persistent cache, so
it is measured twice: with an empty cache folder ("cold", a script's first run) and again with
the folder the cold run filled ("warm", its second run). Keras 3 has no persistent cache of
its own; `keras-jax+cache` gives it JAX's cache, warm, for comparison.

The whole process is timed too: `python examples/linear_regression.py` (the article's program,
its progress bars sent to /dev/null) against the same file with `nhanh` renamed `keras` (and the
two Keras 2 spellings Keras 3 refuses, `keras.layers.core` and `SGD(lr=)`, updated).

    python benchmarks/bench_first_fit.py              # 5 runs each, medians
    python benchmarks/bench_first_fit.py --runs 3 --engines jax
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ARTICLE = os.path.join(HERE, "..", "examples", "linear_regression.py")
TAG = "FIRST_FIT "


def worker(library: str) -> None:
    started = time.perf_counter()
    import numpy as np
    if library == "keras":
        import keras as K
    else:
        import nhanh as K
    imported = time.perf_counter()
    rng = np.random.default_rng(0)
    x = rng.random((100, 2))
    y = 2 * x[:, 0] + 3 * x[:, 1] + 4 + 0.2 * rng.standard_normal(100)
    model = K.Sequential([K.layers.Dense(1, input_shape=(2,))])
    model.compile(loss="mse", optimizer=K.optimizers.SGD(learning_rate=0.1))
    built = time.perf_counter()
    history = model.fit(x, y, epochs=100, batch_size=2, verbose=0)
    done = time.perf_counter()
    print(TAG + json.dumps({"import_s": imported - started, "build_s": built - imported,
                            "fit_s": done - built, "loss": history.history["loss"][-1]}))


# contender -> (library, engine, cache): cache is None (no persistent cache), "nhanh" (nhanh's
# default, pointed at a fresh folder) or "jax" (JAX's own cache, for Keras)
CONTENDERS = {
    "nhanh-jax": ("nhanh", "jax", "nhanh"),
    "keras-jax": ("keras", "jax", None),
    "keras-jax+cache": ("keras", "jax", "jax"),
    "nhanh-torch": ("nhanh", "torch", None),
    "keras-torch": ("keras", "torch", None),
}


def environment(engine: str, cache: str | None, folder: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JAX_COMPILATION_CACHE", "NHANH_COMPILATION_CACHE"))}
    env["NHANH_BACKEND"] = env["KERAS_BACKEND"] = engine
    env["NHANH_COMPILATION_CACHE"] = folder if cache == "nhanh" else "0"
    if cache == "jax":
        env["JAX_COMPILATION_CACHE_DIR"] = folder
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    return env


def run_fit(library: str, env: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", library], env=env,
                          capture_output=True, text=True, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(TAG)]
    if proc.returncode or not lines:
        raise RuntimeError(f"{library} worker failed: {proc.stderr[-1500:]}")
    return json.loads(lines[-1][len(TAG):])


def run_script(path: str, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, path], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{path} failed: {proc.stderr[-1500:]}")
    return seconds


def measure(contenders: list[str], runs: int) -> dict:
    """{(contender, phase): {"fit_s": [...], "process_s": [...], ...}}; phase is "cold" or
    "warm" (only for contenders with a cache)."""
    work = tempfile.mkdtemp(prefix="nhanh-first-fit-")
    keras_article = os.path.join(work, "linear_regression_keras.py")
    with open(ARTICLE) as f:
        source = f.read()
    with open(keras_article, "w") as f:  # (Keras 3 dropped keras.layers.core and SGD's lr=)
        f.write(re.sub(r"\bnhanh\b", "keras", source).replace("keras.layers.core", "keras.layers")
                .replace("SGD(lr=", "SGD(learning_rate="))
    results: dict = {}
    try:
        for run in range(runs):  # interleaved, so that a busy moment hits every contender
            for name in contenders:
                library, engine, cache = CONTENDERS[name]
                script = ARTICLE if library == "nhanh" else keras_article
                phases = ["cold", "warm"] if cache else ["cold"]
                for kind in ("fit", "process"):
                    folder = os.path.join(work, f"cache-{name}-{kind}-{run}")
                    os.makedirs(folder, mode=0o700)
                    env = environment(engine, cache, folder)
                    for phase in phases:
                        entry = results.setdefault((name, phase), {})
                        if kind == "fit":
                            for key, value in run_fit(library, env).items():
                                entry.setdefault(key, []).append(value)
                        else:
                            entry.setdefault("process_s", []).append(run_script(script, env))
                    print(f"run {run + 1}/{runs} {name} {kind}: " + ", ".join(
                        f"{phase} {results[(name, phase)][kind + '_s'][-1]:.3f}s"
                        for phase in phases), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def table(results: dict) -> str:
    med = {key: {k: statistics.median(v) for k, v in entry.items()}
           for key, entry in results.items()}
    rows = ["| contender | cache | import s | build s | first fit s | whole process s |"
            " first fit: Keras / nhanh | process: Keras / nhanh |",
            "|---|---|---|---|---|---|---|---|"]
    for (name, phase), m in med.items():
        engine = CONTENDERS[name][1]
        keras = med.get((f"keras-{engine}", "cold"))
        ratio = (f"{keras['fit_s'] / m['fit_s']:.1f}x", f"{keras['process_s'] / m['process_s']:.1f}x") \
            if keras and name.startswith("nhanh") else ("", "")
        cache = {"nhanh-jax": phase, "keras-jax+cache": f"JAX's, {phase}"}.get(name, "none")
        rows.append(f"| {name} | {cache} | {m['import_s']:.3f} | {m['build_s']:.3f} | "
                    f"{m['fit_s']:.3f} | {m['process_s']:.3f} | {ratio[0]} | {ratio[1]} |")
    return "\n".join(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default="jax,torch", help="comma-separated: jax, torch")
    parser.add_argument("--json", metavar="PATH", help="write every measurement here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return
    engines = args.engines.split(",")
    contenders = [c for c in CONTENDERS if CONTENDERS[c][1] in engines]
    started, load = time.perf_counter(), os.getloadavg()[0]
    results = measure(contenders, args.runs)
    print(f"Medians of {args.runs} runs, each a fresh process; load average {load:.1f} before / "
          f"{os.getloadavg()[0]:.1f} after; took {time.perf_counter() - started:.0f} s.\n")
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"{n} {p}": v for (n, p), v in results.items()}, f, indent=1)


if __name__ == "__main__":
    main()
