"""Where a resumed `fit` starts: the epoch, the step inside it, and the same batches in order.

A callback (BackupAndRestore) may set, in `on_train_begin`, `model._initial_epoch` (Keras's
name), `model._initial_step` (steps of that epoch already done) and `model._shuffle_seed` (the
seed the interrupted run shuffled with). fit then replays the shuffling of the epochs it skips
(a permutation each: host work only, no step), so the resumed epoch sees exactly the order
the interrupted run saw, and its batches before `_initial_step` are skipped, not trained on.
This is exact for in-memory data; a generator or DataLoader resumes by reading and discarding
the batches of the resumed epoch that were done (its own shuffling is its own).
"""

from __future__ import annotations

import itertools

from nhanh.training.data import ArrayData


def start(model, initial_epoch: int) -> tuple[int, int]:
    """(first epoch, steps of it already done), from what the callbacks set, else fit's own
    `initial_epoch`."""
    epoch = getattr(model, "_initial_epoch", None)
    if epoch is None:
        return initial_epoch, 0
    step = int(getattr(model, "_initial_step", 0) or 0)
    if not isinstance(epoch, int) or epoch < 0 or step < 0:
        raise ValueError(f"A callback set the epoch and step to resume from to ({epoch!r}, "
                         f"{step!r}); expected non-negative integers. The backup it read may "
                         "come from another model or be corrupt: delete it to start afresh.")
    return max(epoch, initial_epoch), step if epoch >= initial_epoch else 0


def skip_epochs(data, stream, rng, shuffle, batch_size: int, num_steps: int,
                skipped: int) -> None:
    """Advance the shuffling past `skipped` epochs the interrupted run finished."""
    if skipped <= 0 or not isinstance(data, ArrayData):
        return
    if stream is not None:  # epochs shorter than the data: a stream of batches across epochs
        next(itertools.islice(stream, skipped * num_steps, skipped * num_steps), None)
        return
    for _ in range(skipped):
        data.order(shuffle, rng, batch_size)


def skip_batches(batches, first: int):
    """A source's batches after its first `first` ones (read and discarded); closing the
    result closes the source's batches too."""
    if not first:
        return batches

    def rest():
        try:
            yield from itertools.islice(batches, first, None)
        finally:
            batches.close()
    return rest()
