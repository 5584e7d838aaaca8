"""timeseries_dataset_from_array: sliding windows over an array, as batches.

Window i starts at row `start_index + p_i` of `data`, with p_i = 0, sequence_stride,
2 * sequence_stride, ..., and takes `sequence_length` rows `sampling_rate` apart; its target is
`targets[start_index + p_i]`. Windows end before `end_index`, and there are never more of them
than targets. With shuffle=True the start positions are first shuffled with
`np.random.RandomState(seed)` as in Keras 3; nhanh's BatchedDataset then visits the windows in
a new order each epoch (tf.data shuffles within a buffer of 8 batches). Windows are cut from
the host array when a batch is taken, so the windows are never all in memory at once. Arrays
keep their dtype.
"""

from __future__ import annotations

import numpy as np

from nhanh.utils.batched_dataset import BatchedDataset, from_samples


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value <= 0:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    return int(value)


def timeseries_dataset_from_array(data, targets, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128,
                                  shuffle: bool = False, seed: int | None = None,
                                  start_index: int | None = None, end_index: int | None = None,
                                  format: str = "tf"):
    """Batches of windows over `data` (and their targets).

    Args:
        data: Array (or list) of rows, the time axis first.
        targets: One target per row (the target of a window is that of its first row), or
            None for windows alone.
        sequence_length: Rows per window.
        sequence_stride: Rows between the starts of successive windows.
        sampling_rate: Take every `sampling_rate`-th row inside a window.
        batch_size: Windows per batch; None yields one window at a time.
        shuffle: Shuffle the windows (anew each epoch for format='tf').
        seed: Seed of the shuffling; None draws one.
        start_index: First row windows may use (default 0).
        end_index: Rows from here on are not used (default: all rows).
        format: 'tf' (nhanh's BatchedDataset, in place of tf.data) or 'grain'.

    Returns:
        A dataset yielding `(windows, targets)` (or windows alone): windows of shape
        (batch, sequence_length, *row_shape).
    """
    n = len(data)
    if start_index:
        if start_index < 0 or start_index >= n:
            raise ValueError(f"`start_index` must lie in [0, {n - 1}] for data of {n} rows, "
                             f"got {start_index}.")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` ({end_index}) must be greater than `start_index` "
                             f"({start_index}).")
        if end_index >= n or end_index <= 0:
            raise ValueError(f"`end_index` must lie in [1, {n - 1}] for data of {n} rows (None "
                             f"uses all rows), got {end_index}.")
    sequence_length = _positive_int(sequence_length, "sequence_length")
    sampling_rate = _positive_int(sampling_rate, "sampling_rate")
    sequence_stride = _positive_int(sequence_stride, "sequence_stride")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value >= n:
            raise ValueError(f"`{name}` must be smaller than the number of rows ({n}), got "
                             f"{value}.")
    if format not in ("tf", "grain"):
        raise ValueError(f"`format` must be 'tf' or 'grain', got {format!r}.")
    start = start_index or 0
    stop = n if end_index is None else end_index
    rows = np.asarray(data)[start:stop]
    ends = None if targets is None else np.asarray(targets)[start:]
    count = stop - start - (sequence_length - 1) * sampling_rate
    if ends is not None:
        count = min(count, len(ends))
    positions = np.arange(0, max(count, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(positions)
    if len(positions) == 0:
        raise ValueError(f"No window of {sequence_length} rows {sampling_rate} apart fits in rows "
                         f"[{start}, {stop}) of the data; shorten the windows or give more rows.")
    offsets = np.arange(sequence_length) * sampling_rate

    if format == "grain":
        return from_samples(len(positions), lambda i: rows[positions[i] + offsets], np.stack,
                            None if ends is None else ends[positions], batch_size, shuffle,
                            seed, format="grain")

    def load(batch_rows):
        starts = positions[batch_rows]
        windows = rows[starts[:, None] + offsets]
        return windows if ends is None else (windows, ends[starts])

    return BatchedDataset(len(positions), load, batch_size, shuffle, seed)
