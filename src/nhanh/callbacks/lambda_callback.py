"""LambdaCallback: hooks given as plain functions."""

from __future__ import annotations

from nhanh.callbacks.callback import Callback

_HOOKS = {"on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_train_begin", "on_train_end"}


class LambdaCallback(Callback):
    """A callback whose hooks are the functions passed by keyword.

    Args:
        **hooks: Functions by hook name: `on_epoch_begin` / `on_epoch_end` take
            `(epoch, logs)`, `on_batch_begin` / `on_batch_end` and `on_train_batch_begin` /
            `on_train_batch_end` take `(batch, logs)`, `on_train_begin` / `on_train_end` take
            `(logs)`. `None` leaves the hook empty; any other name raises a TypeError.
            Giving a batch hook makes training step one batch at a time.
    """

    def __init__(self, **hooks):
        super().__init__()
        unknown = set(hooks) - _HOOKS
        if unknown:
            raise TypeError(f"LambdaCallback got unknown hook(s) {sorted(unknown)}; "
                            f"known: {sorted(_HOOKS)}.")
        self._hooks = hooks
        for name, fn in hooks.items():
            if fn is not None:
                object.__setattr__(self, name, fn)

    def wants_batch_logs(self) -> bool:
        return any(self._hooks.get(h) for h in ("on_batch_begin", "on_batch_end",
                                                 "on_train_batch_begin", "on_train_batch_end"))
