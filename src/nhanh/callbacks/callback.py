"""Callback base and the list that dispatches to several callbacks."""

from __future__ import annotations

BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
               "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
               "on_batch_begin", "on_batch_end")


class Callback:
    """Hooks called by fit / evaluate / predict. Overriding a per-batch hook makes the engine
    step one batch at a time for this run, so that every batch's logs can be delivered."""

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def wants_batch_logs(self) -> bool:
        return any(getattr(type(self), hook) is not getattr(Callback, hook)
                   for hook in BATCH_HOOKS)

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)


class CallbackList:
    """Calls each hook on every callback, in order.

    Args:
        callbacks: List of `Callback` instances, or `None`.
        model: The model each callback is attached to (`set_model`).
        **params: Training parameters handed to each callback's `set_params` (e.g. `epochs`,
            `steps`, `verbose`).
    """

    def __init__(self, callbacks=None, model=None, **params):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {cb!r}.")
            cb.set_model(model)
            cb.set_params(params)

    @property
    def wants_batch_logs(self) -> bool:
        return any(cb.wants_batch_logs() for cb in self.callbacks)

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        arity = 2 if hook in BATCH_HOOKS or hook.startswith("on_epoch_") else 1

        def call(*args):
            # Keras hands every hook its logs positionally, {} when there are none yet, and
            # LambdaCallback functions are written for exactly that.
            args = args + ({},) * (arity - len(args))
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call
