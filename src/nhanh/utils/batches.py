"""The shapes a batch comes in: x, (x,), (x, y) or (x, y, sample_weight).

Training, custom `train_step`s and data pipelines all take batches apart and put them back
together the same way; this module is the one place that knows how. It sits below layers and
training (it needs nothing from nhanh), so every level may use it.
"""

from __future__ import annotations

from typing import Any


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """(x, y, sample_weight) from a batch given as x, (x,), (x, y) or (x, y, sample_weight).

    Args:
        data: The batch. A list counts as a tuple; anything else (an array, a dict) is x
            alone. An empty tuple, or one of more than three items, raises a ValueError.

    Returns:
        The triple `(x, y, sample_weight)`, with `None` for the parts the batch lacks.
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"A batch is x, (x, y) or (x, y, sample_weight); got a {type(data).__name__}"
                     f" of {len(data)} items. Pack extra inputs into x (a tuple or dict).")


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The batch that unpack_x_y_sample_weight takes apart again into (x, y, sample_weight).

    An x that is itself a tuple or list is wrapped as (x,), so its items are not read as y.

    Args:
        x: The inputs.
        y: The targets, or `None`.
        sample_weight: The sample weights, or `None`. Dropped when `y` is `None`.

    Returns:
        x (or `(x,)`), `(x, y)` or `(x, y, sample_weight)`.
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)
