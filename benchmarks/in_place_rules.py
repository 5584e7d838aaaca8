"""Per-step time of fit on PyTorch with each optimizer's in-place rule and without it.

The model is an MLP 64-256-256-1 (relu) on batches of 64. For each optimizer two fresh models
are fitted: one with the rule in `update_rules`, one with it taken out (so `update_step`, written
with nhanh.ops, is what the captured step replays). Each fit runs `--epochs` epochs of
`--steps` batches; the first epoch captures the step and is not counted, the time of the
later ones (ending on a host read of the weights) divided by their steps is reported. The
two variants alternate, and the median over `--runs` is printed.

    python benchmarks/in_place_rules.py                    # every optimizer, 3 runs
    python benchmarks/in_place_rules.py --optimizers Lamb,Muon --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("NHANH_BACKEND", "torch")

import numpy as np  # noqa: E402

import nhanh  # noqa: E402

OPTIMIZERS = {"Adam": "adam", "Adadelta": "adadelta", "Ftrl": "ftrl", "Lamb": "lamb",
              "Adafactor": "adafactor", "Muon": "muon",
              "ScheduleFreeAdamW": "schedule_free_adamw"}


class _EpochTimer(nhanh.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ends: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        self.model.get_weights()  # a host read: every step of the epoch has finished
        self.ends.append(time.perf_counter())


def per_step_ms(name: str, with_rule: bool, steps: int, epochs: int) -> float:
    rules = nhanh.backend.get().update_rules
    saved = rules.pop(OPTIMIZERS[name]) if not with_rule else None
    try:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(64 * steps, 64)).astype("float32")
        y = rng.normal(size=(64 * steps, 1)).astype("float32")
        model = nhanh.Sequential([nhanh.Input((64,)),
                                  nhanh.layers.Dense(256, activation="relu"),
                                  nhanh.layers.Dense(256, activation="relu"),
                                  nhanh.layers.Dense(1)])
        model.compile(optimizer=getattr(nhanh.optimizers, name)(), loss="mse")
        timer = _EpochTimer()
        model.fit(x, y, batch_size=64, epochs=epochs, shuffle=False, verbose=0,
                  callbacks=[timer])
        return (timer.ends[-1] - timer.ends[0]) / ((epochs - 1) * steps) * 1e3
    finally:
        if saved is not None:
            rules[OPTIMIZERS[name]] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch's intra-op threads "
                        "(0: torch's default); 1 steadies the numbers on a busy machine")
    args = parser.parse_args()
    nhanh.config.set_backend("torch")
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.steps} steps x {args.epochs - 1} timed epochs, median of {args.runs} runs")
    print("| optimizer | with rule (ms/step) | without (ms/step) | speed-up |")
    print("|---|---|---|---|")
    for name in args.optimizers.split(","):
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.runs):
            for with_rule in (True, False):
                times[with_rule].append(per_step_ms(name, with_rule, args.steps, args.epochs))
        fast, slow = statistics.median(times[True]), statistics.median(times[False])
        print(f"| {name} | {fast:.3f} | {slow:.3f} | {slow / fast:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
