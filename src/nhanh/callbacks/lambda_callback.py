"""LambdaCallback: hooks given as plain functions."""

from __future__ import annotations

from nhanh.callbacks.callback import Callback

_HOOKS = {"on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_train_begin", "on_train_end"}


class LambdaCallback(Callback):
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
