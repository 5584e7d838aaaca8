"""Variables and the stateless scope that makes object-oriented layers pure underneath.

A Variable holds one changing array (a weight, an optimizer slot, a metric accumulator, a seed).
Inside a `StatelessScope`, reading a Variable returns the value the scope maps it to, and
assigning records the new value in the scope instead of touching the Variable. Training steps
run the user's layers inside such a scope, so `step(state, batch) -> (state, logs)` is a pure
function that the engine can compile, while layers still write `self.kernel`.

The stack of open scopes is per thread: a data-loader thread, or a user's own thread, reads a
Variable's real value while the main thread is inside a training step's scope.

A Variable stands for its current value in arithmetic, comparisons, `int()`, `float()`,
`round()` and `np.asarray()`, giving what Keras 3's Variables give on the same engine.
Comparisons are elementwise, `==` and `!=` included (Keras 3's choice), yet a Variable stays
hashable by identity (Keras's are unhashable): state is kept in dicts keyed by Variable, and
distinct live objects never share an identity hash, so a dict or set never falls back to the
elementwise `==`. (`v in some_list` does compare with `==`: look Variables up in a dict or by
`id()`.) `bool(variable)` raises, as in Keras: its truth would be read from the device, and
would fail inside a compiled step. Where Keras falls short, nhanh does as NumPy does: `len()`
works, and iteration walks the first axis (Keras's has no len(), and iterating one on JAX
never ends, since out-of-range indices clamp). `np.asarray(v, copy=False)` raises: the value
is the engine's, and training replaces it.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from nhanh import backend as _backend
from nhanh.distribution import placement


class _ThreadScopes(threading.local):
    """Each thread's own stack of open StatelessScopes (innermost last)."""

    def __init__(self):
        self.stack: list[StatelessScope] = []
        self.autocast: str | None = None  # the dtype floating Variables read as (mixed policy)
        self.budget: list = []  # [bytes left, what] while a file's model is built (saving)
        self.skip_initializers = False  # weights start as zeros: a file overwrites them all


_thread = _ThreadScopes()


class StatelessScope:
    """Maps Variables to values; assignments inside are recorded, not applied.

    `donated`: the mapped values belong to the scope's owner (a training step that was handed
    the state to replace), so an engine may update them in place instead of allocating.
    """

    #: Whether Variables may be made while it is open (shape inference builds layers).
    allows_new_variables = False

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
        stack = _thread.stack
        below = stack[: stack.index(self)] if self in stack else []
        for outer in reversed(below):
            if variable in outer.assigned or variable in outer.values:
                return outer.get(variable)
        return variable._value

    def __enter__(self):
        _thread.stack.append(self)
        return self

    def __exit__(self, *exc):
        _thread.stack.remove(self)


def open_scopes() -> list[StatelessScope]:
    """This thread's open StatelessScopes, outermost first."""
    return list(_thread.stack)


@contextlib.contextmanager
def reentered(scopes: list[StatelessScope]):
    """Open again those of `scopes` that are closed now (for code replayed later, such as a
    checkpointed block recomputed in the backward pass)."""
    closed = [scope for scope in scopes if scope not in _thread.stack]
    for scope in closed:
        scope.__enter__()
    try:
        yield
    finally:
        for scope in reversed(closed):
            scope.__exit__(None, None, None)


def set_autocast_dtype(dtype: str | None) -> str | None:
    """Make this thread's floating Variables (those with `autocast` on) read as `dtype`, or as
    stored for None; returns the previous setting. A layer sets it around call() under a
    mixed dtype policy (Keras's AutocastScope), so float32 weights compute in float16."""
    previous, _thread.autocast = _thread.autocast, dtype
    return previous


def autocast_dtype() -> str | None:
    """The dtype this thread's floating Variables read as now (None: as stored)."""
    return _thread.autocast


class AllocationBudget:
    """Inside it, Variables may take at most `limit` bytes in all: a model built from a file's
    config is refused before it allocates more than the file could fill (a config cannot
    make the loader allocate without bound)."""

    def __init__(self, limit: int, what: str):
        self.limit, self.what = int(limit), what

    def __enter__(self):
        _thread.budget.append([self.limit, self.what])
        return self

    def __exit__(self, *exc):
        _thread.budget.pop()


class SkipInitializers:
    """Inside it, layers' weights start as zeros instead of their initializers' draws: a
    model built to be filled from a file would draw them only to overwrite them (the draws
    cost time and, for a large kernel, two or three buffers of its size)."""

    def __enter__(self):
        self._previous, _thread.skip_initializers = _thread.skip_initializers, True
        return self

    def __exit__(self, *exc):
        _thread.skip_initializers = self._previous


def skipping_initializers() -> bool:
    return _thread.skip_initializers


def _charge(shape: tuple, dtype, name: str) -> None:
    size = 1
    for d in shape:
        size *= int(d)
    size *= np.dtype("float32" if dtype in (None, "bfloat16") else dtype).itemsize
    entry = _thread.budget[-1]
    entry[0] -= size
    if entry[0] < 0:
        raise ValueError(f"{entry[1]}: its config makes variables larger than its weights "
                         f"could fill (variable {name!r} of shape {shape} went past the "
                         "limit); refusing to build it.")


def in_stateless_scope() -> bool:
    """Whether this thread is inside a StatelessScope."""
    return bool(_thread.stack)


def current_scope() -> StatelessScope | None:
    """This thread's innermost StatelessScope, or None."""
    stack = _thread.stack
    return stack[-1] if stack else None


_name_counts: dict[str, int] = {}
_FLOATS = frozenset({"float16", "bfloat16", "float32", "float64"})


class Variable:
    """A named, typed, mutable array of the current backend.

    Variables are made outside training steps (a layer's `build`, an optimizer's `build`);
    creating one inside a step raises a RuntimeError that says where to move it.

    Args:
        initializer: A callable `(shape, dtype=...)` that returns the initial value (an
            initializer), or the initial value itself (array, nested list or number).
        shape: Tuple of ints; required with a callable initializer, and otherwise checked
            against the value's shape when given.
        dtype: Dtype of the variable; `None` uses `nhanh.config.floatx()` (also for an
            initial value of another dtype, which is converted).
        trainable: Whether training updates it (its layer lists it in `trainable_weights`).
        name: Name of the variable; not made unique.
        regularizer: Callable `value -> penalty`; a layer adds it to its `losses` for the
            weights it owns. Stored but unused on a variable outside a layer.
        constraint: Callable `value -> value` the optimizer applies after each update.
        autocast: Whether reads inside a mixed-precision layer's call() give the value cast to
            the layer's compute dtype (see `set_autocast_dtype`); off for statistics that must
            stay float32 (batch-norm moving averages).
        layout: A `nhanh.distribution.TensorLayout` for this variable under a distribution
            (default: the distribution's choice by path; an optimizer's slot takes its
            variable's).
        path: Keras's path ('sequential/dense/kernel'); default: the open name scopes + name.
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name="variable",
                 regularizer=None, constraint=None, autocast: bool = True, *,
                 layout=None, path: str | None = None):
        from nhanh import config

        if not all(scope.allows_new_variables for scope in _thread.stack):
            raise RuntimeError(
                f"Variable {name!r} was created inside a training step (a stateless scope). "
                "Weights made in call() -- including layers constructed there -- are not part "
                "of the trained state: create layers in __init__ and weights in build(), and "
                "build the model (call it once, or give it an input shape) before training.")
        if _thread.budget and shape is not None:
            _charge(tuple(shape), dtype, name)
        self._backend = _backend.get()
        self.name = name
        from nhanh.scopes import scoped_path  # Keras's path: open name_scopes + name

        self.path = path if path is not None else scoped_path(name)
        self.trainable = trainable
        self.regularizer = regularizer
        self.constraint = constraint
        self.autocast = autocast
        self.dtype = self._backend.standardize_dtype(dtype) if dtype else config.floatx()
        layout = None if shape is None and callable(initializer) else placement.variable_layout(
            self.path, tuple(shape if shape is not None else np.shape(initializer)), layout)
        self._layout = layout  # as Keras: the layout chosen when it was made, kept for good
        with self._backend.eager_scope():
            if layout is not None and callable(initializer):  # made directly in its shards
                value = placement.make_value(lambda: self._backend.convert_to_tensor(
                    initializer(tuple(shape), dtype=self.dtype), self.dtype), layout)
            else:
                value = initializer(tuple(shape), dtype=self.dtype) if callable(initializer) \
                    else initializer
                value = self._backend.convert_to_tensor(value, self.dtype)
                if layout is not None:
                    value = placement.place_value(value, layout)
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise ValueError(f"Variable {name!r}: initial value has shape {tuple(value.shape)}, "
                             f"expected {tuple(shape)}.")
        storage = getattr(self._backend, "variable_storage", None)  # PyTorch: Parameters
        self._value = value if storage is None else storage(value, trainable)
        # True while _value is a buffer this Variable alone holds because assign() made it from
        # host data (a training step may then take it over without copying it first).
        self._unshared = False

    @property
    def value(self):
        stack = _thread.stack
        if stack:
            value = stack[-1].get(self)
        else:  # (a variable split over processes reads whole: every process must read it)
            value = self._value if self._layout is None else placement.whole(self._value)
        cast_to = _thread.autocast
        if cast_to is not None and cast_to != self.dtype and self.autocast and \
                self.dtype in _FLOATS:
            return self._backend.cast(value, cast_to)
        return value

    @property
    def shape(self) -> tuple:
        return tuple(self._value.shape)

    @property
    def ndim(self) -> int:
        return len(self._value.shape)

    def assign(self, value) -> None:
        stack = _thread.stack  # (outside a step, a value spread over devices stays spread)
        converted = None if stack else placement.place_as(value, self._value, self.dtype)
        if converted is None:
            converted = self._backend.convert_to_tensor(value, self.dtype)
        elif self._backend.dtype_of(converted) != self.dtype:
            converted = self._backend.cast(converted, self.dtype)
        if tuple(converted.shape) != self.shape:
            raise ValueError(f"Cannot assign a value of shape {tuple(converted.shape)} to "
                             f"variable {self.name!r} of shape {self.shape}.")
        if stack:
            stack[-1].assigned[self] = converted
        else:
            write = getattr(self._backend, "write_storage", None)  # PyTorch: in place
            self._value = converted if write is None else write(self._value, converted)
            self._unshared = not self._backend.is_tensor(value) and \
                self._backend.transfer_copies()

    def assign_add(self, delta) -> None:
        self.assign(self.value + delta)

    def assign_sub(self, delta) -> None:
        self.assign(self.value - delta)

    def numpy(self) -> np.ndarray:
        """The current value as a NumPy array (a host copy)."""
        return self._backend.convert_to_numpy(self.value)

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError(
                f"np.asarray(variable, copy=False): variable {self.name!r} lives in the "
                "engine's memory and training replaces it, so NumPy cannot view it without a "
                "copy. Leave copy unset (or True), or call variable.numpy().")
        out = self.numpy()  # may be a read-only view of the engine's buffer (JAX on a CPU)
        if dtype is not None:
            return out.astype(dtype)
        return np.array(out, copy=True) if copy else out

    def __repr__(self) -> str:
        return f"<Variable {self.name} shape={self.shape} dtype={self.dtype}>"

    # --- Python's number protocol: the Variable stands for its current value ---------------
    def _scalar(self, kind: str):
        if self.ndim:
            raise TypeError(f"{kind}(variable) needs a scalar, but variable {self.name!r} has "
                            f"shape {self.shape}. Index it first, e.g. {kind}(variable[0]).")
        return self._backend.item(self.value)

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __bool__(self):
        raise TypeError(
            f"Variable {self.name!r} cannot be used as a boolean (as in Keras 3): its value lives "
            "on the device. Compare explicitly, e.g. `bool(variable.numpy() > 0)`, or test "
            "`variable is not None`.")

    def __len__(self) -> int:
        if not self.ndim:
            raise TypeError(f"len() of variable {self.name!r}, a scalar (shape ()), is "
                            "undefined.")
        return self.shape[0]

    def __iter__(self):
        if not self.ndim:
            raise TypeError(f"Variable {self.name!r} is a scalar (shape ()); it cannot be "
                            "iterated.")
        value = self.value
        return (value[i] for i in range(self.shape[0]))

    def __getitem__(self, i):
        return self.value[i]

    # Arithmetic and comparisons read the current value through the engine's numpy ops, so
    # `self.kernel * 2` works in layer code and gives an engine array, as in Keras.
    def _op(self, name: str, a, b):
        return getattr(self._backend.numpy, name)(_v(a), _v(b))

    def __add__(self, o): return self._op("add", self, o)
    def __radd__(self, o): return self._op("add", o, self)
    def __sub__(self, o): return self._op("subtract", self, o)
    def __rsub__(self, o): return self._op("subtract", o, self)
    def __mul__(self, o): return self._op("multiply", self, o)
    def __rmul__(self, o): return self._op("multiply", o, self)
    def __truediv__(self, o): return self._op("true_divide", self, o)
    def __rtruediv__(self, o): return self._op("true_divide", o, self)
    def __floordiv__(self, o): return self._op("floor_divide", self, o)
    def __rfloordiv__(self, o): return self._op("floor_divide", o, self)
    def __mod__(self, o): return self._op("mod", self, o)
    def __rmod__(self, o): return self._op("mod", o, self)
    def __pow__(self, o): return self._op("power", self, o)
    def __rpow__(self, o): return self._op("power", o, self)
    def __matmul__(self, o): return self._op("matmul", self, o)
    def __rmatmul__(self, o): return self._op("matmul", o, self)
    def __and__(self, o): return self._op("logical_and", self, o)
    def __rand__(self, o): return self._op("logical_and", o, self)
    def __or__(self, o): return self._op("logical_or", self, o)
    def __ror__(self, o): return self._op("logical_or", o, self)
    def __xor__(self, o): return _logical_xor(self._backend, self.value, _v(o))
    def __rxor__(self, o): return _logical_xor(self._backend, _v(o), self.value)
    def __eq__(self, o): return self._op("equal", self, o)
    def __ne__(self, o): return self._op("not_equal", self, o)
    def __lt__(self, o): return self._op("less", self, o)
    def __le__(self, o): return self._op("less_equal", self, o)
    def __gt__(self, o): return self._op("greater", self, o)
    def __ge__(self, o): return self._op("greater_equal", self, o)
    def __neg__(self): return self._backend.numpy.negative(self.value)
    def __pos__(self): return self.value
    def __abs__(self): return self._backend.numpy.abs(self.value)
    def __invert__(self): return ~self.value
    def __round__(self, ndigits=None): return self._backend.numpy.round(self.value, ndigits or 0)

    # Identity, not value: Variables key the state dicts (see the module docstring).
    __hash__ = object.__hash__


def _logical_xor(backend, a, b):
    """Elementwise exclusive or of truth values (the contract has no logical_xor)."""
    np_ = backend.numpy
    return np_.not_equal(np_.not_equal(a, False), np_.not_equal(b, False))


def _v(x):
    return x.value if isinstance(x, Variable) else x


def unwrap(x):
    """A Variable's current value; anything else unchanged."""
    return x.value if isinstance(x, Variable) else x


def bind(variables, values, owner: str, argument: str, source: str) -> dict:
    """{variable: value} for a stateless call (Keras's `stateless_*` methods): `values` pairs
    one to one, in order, with `variables` (listed by `source`); a Variable given as a value
    stands for its current value. Counts and shapes are checked, naming `argument`."""
    variables = list(variables)
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{owner}: `{argument}` must be a list of arrays, one per entry of "
                        f"{source}, got {type(values).__name__}.") from None
    if len(values) != len(variables):
        raise ValueError(
            f"{owner}: `{argument}` must hold one value per entry of {source} ({len(variables)}"
            f", in that order), but received {len(values)}. Pass the values of that list, "
            "`[v.value for v in ...]`, or the list a previous stateless call returned.")
    mapping = {}
    for variable, value in zip(variables, values):
        value = variable._backend.convert_to_tensor(unwrap(value), variable.dtype)
        if tuple(value.shape) != variable.shape:
            raise ValueError(f"{owner}: in `{argument}`, the value for {variable.name!r} has "
                             f"shape {tuple(value.shape)}, expected {variable.shape}.")
        mapping[variable] = value
    return mapping
