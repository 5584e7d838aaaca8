"""Variables and the stateless scope that makes object-oriented layers pure underneath.

A Variable holds one changing array (a weight, an optimizer slot, a metric accumulator, a seed).
Inside a `StatelessScope`, reading a Variable returns the value the scope maps it to, and
assigning records the new value in the scope instead of touching the Variable. Training steps
run the user's layers inside such a scope, so `step(state, batch) -> (state, logs)` is a pure
function that the engine can compile, while layers still write `self.kernel`.
"""

from __future__ import annotations

import numpy as np

from nhanh import backend as _backend

_scopes: list["StatelessScope"] = []


class StatelessScope:
    """Maps Variables to values; assignments inside are recorded, not applied.

    `donated`: the mapped values belong to the scope's owner (a training step that was handed
    the state to replace), so an engine may update them in place instead of allocating.
    """

    def __init__(self, mapping=None, donated: bool = False):
        self.values: dict[Variable, object] = dict(mapping or {})
        self.assigned: dict[Variable, object] = {}
        self.donated = donated

    def owned_value(self, variable: "Variable"):
        """The value of `variable` if this scope may update it in place, else None."""
        if self.donated and variable not in self.assigned:
            return self.values.get(variable)
        return None

    def get(self, variable: "Variable"):
        if variable in self.assigned:
            return self.assigned[variable]
        if variable in self.values:
            return self.values[variable]
        for outer in reversed(_scopes[: _scopes.index(self)]):
            if variable in outer.assigned or variable in outer.values:
                return outer.get(variable)
        return variable._value

    def __enter__(self):
        _scopes.append(self)
        return self

    def __exit__(self, *exc):
        _scopes.remove(self)


def in_stateless_scope() -> bool:
    return bool(_scopes)


def current_scope() -> StatelessScope | None:
    return _scopes[-1] if _scopes else None


_name_counts: dict[str, int] = {}


class Variable:
    """A named, typed, mutable array of the current backend."""

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name="variable",
                 regularizer=None, constraint=None):
        from nhanh import config

        if _scopes:
            raise RuntimeError(
                f"Variable {name!r} was created inside a training step (a stateless scope). "
                "Weights made in call() -- including layers constructed there -- are not part "
                "of the trained state: create layers in __init__ and weights in build(), and "
                "build the model (call it once, or give it an input shape) before training.")
        self._backend = _backend.get()
        self.name = name
        self.trainable = trainable
        self.regularizer = regularizer
        self.constraint = constraint
        self.dtype = self._backend.standardize_dtype(dtype) if dtype else config.floatx()
        with self._backend.eager_scope():
            value = initializer(tuple(shape), dtype=self.dtype) if callable(initializer) \
                else initializer
            value = self._backend.convert_to_tensor(value, self.dtype)
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise ValueError(f"Variable {name!r}: initial value has shape {tuple(value.shape)}, "
                             f"expected {tuple(shape)}.")
        self._value = value
        # True while _value is a buffer this Variable alone holds because assign() made it from
        # host data (a training step may then take it over without copying it first).
        self._unshared = False

    @property
    def value(self):
        if _scopes:
            return _scopes[-1].get(self)
        return self._value

    @property
    def shape(self) -> tuple:
        return tuple(self._value.shape)

    @property
    def ndim(self) -> int:
        return len(self._value.shape)

    def assign(self, value) -> None:
        converted = self._backend.convert_to_tensor(value, self.dtype)
        if tuple(converted.shape) != self.shape:
            raise ValueError(f"Cannot assign a value of shape {tuple(converted.shape)} to "
                             f"variable {self.name!r} of shape {self.shape}.")
        if _scopes:
            _scopes[-1].assigned[self] = converted
        else:
            self._value = converted
            self._unshared = not self._backend.is_tensor(value) and \
                self._backend.transfer_copies()

    def assign_add(self, delta) -> None:
        self.assign(self.value + delta)

    def assign_sub(self, delta) -> None:
        self.assign(self.value - delta)

    def numpy(self) -> np.ndarray:
        return self._backend.convert_to_numpy(self.value)

    def __array__(self, dtype=None, copy=None):
        out = self.numpy()
        return out.astype(dtype) if dtype is not None else out

    def __repr__(self) -> str:
        return f"<Variable {self.name} shape={self.shape} dtype={self.dtype}>"

    # Arithmetic reads the current value, so `self.kernel * 2` works in layer code.
    def __add__(self, o): return self.value + _v(o)
    def __radd__(self, o): return _v(o) + self.value
    def __sub__(self, o): return self.value - _v(o)
    def __rsub__(self, o): return _v(o) - self.value
    def __mul__(self, o): return self.value * _v(o)
    def __rmul__(self, o): return _v(o) * self.value
    def __truediv__(self, o): return self.value / _v(o)
    def __rtruediv__(self, o): return _v(o) / self.value
    def __matmul__(self, o): return self.value @ _v(o)
    def __rmatmul__(self, o): return _v(o) @ self.value
    def __pow__(self, o): return self.value ** _v(o)
    def __neg__(self): return -self.value
    def __getitem__(self, i): return self.value[i]


def _v(x):
    return x.value if isinstance(x, Variable) else x


def unwrap(x):
    """A Variable's current value; anything else unchanged."""
    return x.value if isinstance(x, Variable) else x
