"""The Metric base class: accumulators that live in Variables.

Every number a metric accumulates is a non-trainable Variable changed only through
`assign`/`assign_add`. Inside a StatelessScope those assignments are recorded instead of
applied, so the trainer can run `update_state` inside one compiled, pure training step and
keep the accumulators on the device, with no host sync and no Python-side state.
"""

from __future__ import annotations

from typing import Any, Sequence

from nhanh import config, ops
from nhanh.naming import to_snake_case
from nhanh.variables import StatelessScope, Variable, bind


class Metric:
    """Base of every metric: `update_state` accumulates, `result` reads, `reset_state` clears.

    Args:
        name: Name of the metric; `None` derives one from the class name (snake_case).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, name: str | None = None, dtype: str | None = None):
        self.name = name or to_snake_case(type(self).__name__)
        self.dtype = dtype or config.floatx()
        self._variables: list[Variable] = []
        self._initial_values: list[Any] = []

    # --- state -------------------------------------------------------------------------
    def add_variable(self, shape: Sequence[int] = (), initializer: Any = "zeros",
                     dtype: str | None = None, aggregation: str = "sum",
                     name: str | None = None) -> Variable:
        """A non-trainable Variable tracked in `self.variables` and restored by reset_state.

        `initializer` is 'zeros', 'ones', an initializer (called with shape and dtype) or a
        value. `aggregation` is accepted for Keras compatibility.
        """
        shape = tuple(shape)
        dtype = dtype or self.dtype
        value = _initial_value(initializer, shape, dtype)
        variable = Variable(value, shape=shape, dtype=dtype, trainable=False,
                            name=f"{self.name}/{name or f'variable_{len(self._variables)}'}")
        self._variables.append(variable)
        # A host copy, so engines that update Variables in place cannot change it.
        self._initial_values.append(ops.convert_to_numpy(value))
        return variable

    def add_weight(self, name: str | None = None, shape: Sequence[int] = (),
                   initializer: Any = "zeros", dtype: str | None = None) -> Variable:
        """Keras 2's spelling of add_variable (custom metrics written for tf.keras use it)."""
        return self.add_variable(shape, initializer, dtype, name=name)

    @property
    def variables(self) -> list[Variable]:
        return list(self._variables)

    def reset_state(self) -> None:
        """Put every accumulator back to its initial value (through assign)."""
        for variable, value in zip(self._variables, self._initial_values):
            variable.assign(value)

    # --- the API subclasses fill in --------------------------------------------------
    def update_state(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def __call__(self, *args, **kwargs):
        """Update with one batch, then return the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    # --- pure forms, for compiled steps ---------------------------------------------
    def stateless_update_state(self, metric_variables: Sequence, *args, **kwargs) -> list:
        """`update_state(*args, **kwargs)` as a pure function: returns the new values of
        `self.variables` (in that order) from `metric_variables`, touching no Variable."""
        mapping = bind(self._variables, metric_variables,
                       f"{type(self).__name__}.stateless_update_state", "metric_variables",
                       f"{self.name}.variables")
        with StatelessScope(mapping) as scope:
            self.update_state(*args, **kwargs)
        return [scope.get(v) for v in self._variables]

    def stateless_result(self, metric_variables: Sequence):
        """`result()` computed from `metric_variables` instead of the Variables."""
        mapping = bind(self._variables, metric_variables,
                       f"{type(self).__name__}.stateless_result", "metric_variables",
                       f"{self.name}.variables")
        with StatelessScope(mapping):
            return self.result()

    def stateless_reset_state(self) -> list:
        """The values `reset_state()` would give `self.variables`, without assigning them
        (a subclass's own reset_state is honoured)."""
        with StatelessScope() as scope:
            self.reset_state()
        return [scope.get(v) for v in self._variables]

    # --- config ------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> "Metric":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def _initial_value(initializer: Any, shape: tuple, dtype: str):
    if isinstance(initializer, str):
        key = initializer.lower()
        if key in ("zeros", "zero"):
            return ops.zeros(shape, dtype=dtype)
        if key in ("ones", "one"):
            return ops.ones(shape, dtype=dtype)
        from nhanh import initializers  # other named initializers, e.g. 'glorot_uniform'

        initializer = initializers.get(initializer)
    if callable(initializer):
        return ops.convert_to_tensor(initializer(shape, dtype=dtype), dtype)
    return ops.broadcast_to(ops.convert_to_tensor(initializer, dtype), shape)
