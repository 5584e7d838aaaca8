"""Keras's `utils.Progbar`, for loops people write themselves, drawn by fit's own bar.

The drawing (layout, terminal redraws, time per step) is `nhanh.training.progress`'s, so a
custom loop looks like `fit`. This class adds Keras's bookkeeping on top: values passed to
`update` are averaged over the steps since the start (weighted by the steps each covers),
except `stateful_metrics`, shown as given. As in Keras, the final update's values are shown
as they are (fit's final logs are already averages).

Unlike Keras, when output is not a terminal only the finished line is printed, as `fit` does,
instead of one line per update.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np



class Progbar:
    """A progress bar with running averages of named values.

    Args:
        target: Total number of steps expected, or `None` if unknown.
        width: Width of the bar, in characters.
        verbose: 0 (silent), 1 (a bar, redrawn on a terminal) or 2 (one line at the end).
        interval: Minimum time in seconds between redraws.
        stateful_metrics: Names of values shown as given instead of averaged.
        stateless_metrics: The opposite selection: only these names are averaged, the others
            are shown as given. At most one of the two may be passed.
        unit_name: Name of a step in the time-per-step display ('step', 'sample', ...).
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1,
                 interval: float = 0.05, stateful_metrics: Iterable[str] | None = None,
                 stateless_metrics: Iterable[str] | None = None, unit_name: str = "step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Pass at most one of `stateful_metrics` (names shown as given; the "
                             "rest averaged) and `stateless_metrics` (names averaged; the rest "
                             "shown as given), not both.")
        if verbose not in (0, 1, 2):
            raise ValueError(f"`verbose` must be 0, 1 or 2, got {verbose!r}.")
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stateful_metrics = None if stateless_metrics is not None else \
            set(stateful_metrics or ())
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        self._sums: dict[str, list] = {}  # name -> [weighted sum, weight], in first-seen order
        self._seen_so_far = 0
        from nhanh.training import progress  # when used: utils sits below training

        self._bar = progress.Progbar(target, verbose, width=width, interval=interval,
                                     unit_name=unit_name)

    def _averaged(self, name: str) -> bool:
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def update(self, current: int, values: list | None = None,
               finalize: bool | None = None) -> None:
        """Move the bar to step `current` and record values for that step.

        Args:
            current: Index of the current step (the number of steps done).
            values: List of `(name, value)` pairs for the latest step(s).
            finalize: Whether this is the last update; `None` means `current >= target`.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            value = float(np.mean(value))
            if not self._averaged(name) or finalize:
                self._sums[name] = [value, 1]
                continue
            steps = max(current - self._seen_so_far, 1)
            total, count = self._sums.get(name, [0.0, 0])
            self._sums[name] = [total + value * steps, count + steps]
        self._seen_so_far = current
        if self.verbose == 0:
            return
        if finalize:
            self._bar.finish(current, self.averages())
        else:
            self._bar.update(current, self.averages)

    def add(self, n: int, values: list | None = None) -> None:
        """Advance by `n` steps (see `update`).

        Args:
            n: Number of steps done since the last update.
            values: List of `(name, value)` pairs, as for `update`.
        """
        self.update(self._seen_so_far + n, values)

    def averages(self) -> dict[str, float]:
        """What the bar shows: each name's running average (or last value, if stateful)."""
        return {name: total / max(count, 1) for name, (total, count) in self._sums.items()}
