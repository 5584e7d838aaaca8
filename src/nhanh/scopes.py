"""Keras's public scopes: name_scope (variable paths), StatelessScope (pure calls) and
SymbolicScope (shape-only tracing), each a context manager.

The stacks are per thread, like the training step's own StatelessScope stack in
variables.py: a data-loader thread does not see the scopes the main thread opened.
"""

from __future__ import annotations

import threading

from nhanh import variables as _variables


class _Stacks(threading.local):
    def __init__(self):
        self.names: list[name_scope] = []
        self.symbolic: list[SymbolicScope] = []


_stacks = _Stacks()


class name_scope:  # noqa: N801 - Keras's spelling
    """Prefix the paths of Variables created inside: `with name_scope("block"):` makes a
    Variable named "kernel" have `path == "block/kernel"`; scopes nest ("a/b/kernel").

    Args:
        name: One path component (a string without "/").
        caller: The object entering the scope (a layer, say); with `deduplicate`, entering
            the same name for the same caller twice in a row adds one component, not two.
        deduplicate: See `caller`.
        override_parent: An absolute path that replaces the enclosing scopes' path.
    """

    def __init__(self, name: str, caller=None, deduplicate: bool = True,
                 override_parent: str | None = None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"name_scope: `name` must be a string without '/', got {name!r}. "
                             "Nest two scopes for a two-part path.")
        self.name, self.caller, self.deduplicate = name, caller, deduplicate
        self.override_parent = override_parent
        self._pushed = False

    def __enter__(self):
        stack = _stacks.names
        top = stack[-1] if stack else None
        if self.deduplicate and top is not None and self.caller is not None \
                and top.caller is self.caller and top.name == self.name:
            return self
        stack.append(self)
        self._pushed = True
        return self

    def __exit__(self, *exc):
        if self._pushed:
            _stacks.names.remove(self)
            self._pushed = False


def current_path() -> str:
    """The open name scopes joined with "/" ("" outside any)."""
    parts: list[str] = []
    for scope in _stacks.names:
        if scope.override_parent is not None:
            parts = [p for p in scope.override_parent.split("/") if p]
        parts.append(scope.name)
    return "/".join(parts)


def scoped_path(name: str) -> str:
    """`name` under the open name scopes: the path a Variable created now gets."""
    prefix = current_path()
    return f"{prefix}/{name}" if prefix else name


class StatelessScope(_variables.StatelessScope):
    """Run code with Variables read from `state_mapping` and assignments recorded, not
    applied: the way to call a layer or an optimizer as a pure function.

    Inside, `variable.value` is the mapped value (or the Variable's own if unmapped) and
    `variable.assign(x)` changes only what the scope returns for it; the Variables
    themselves are untouched. Read the new values with `get_current_value`.

    Args:
        state_mapping: `(variable, value)` pairs (or a dict) giving the values to use.
        collect_losses: Keras gathers `add_loss` calls made inside into `scope.losses`;
            nhanh layers keep their losses on the layer (`layer.losses`), so this list
            stays empty. Accepted so Keras code runs.
        initialize_variables: Accepted for Keras compatibility; nhanh does not allow
            creating Variables inside the scope (build layers before entering it).
    """

    def __init__(self, state_mapping=None, collect_losses: bool = False,
                 initialize_variables: bool = True):
        pairs = state_mapping.items() if isinstance(state_mapping, dict) else \
            (state_mapping or ())
        mapping = {}
        for pair in pairs:
            try:
                variable, value = pair
            except (TypeError, ValueError):
                raise ValueError("StatelessScope: `state_mapping` must hold (variable, value) "
                                 f"pairs, got {pair!r}.") from None
            if not isinstance(variable, _variables.Variable):
                raise ValueError("StatelessScope: each key of `state_mapping` must be an "
                                 f"nhanh Variable, got {type(variable).__name__}.")
            mapping[variable] = variable._backend.convert_to_tensor(value, variable.dtype)
        super().__init__(mapping)
        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        self.losses: list = []

    def get_current_value(self, variable):
        """The value assigned inside the scope or given in `state_mapping`, else None."""
        if variable in self.assigned:
            return self.assigned[variable]
        return self.values.get(variable)

    def add_update(self, update) -> None:
        """Record `(variable, value)` as assigned inside the scope."""
        variable, value = update
        self.assigned[variable] = value

    def add_loss(self, loss) -> None:
        self.losses.append(loss)


def get_stateless_scope():
    """The innermost open StatelessScope, or None."""
    return _variables.current_scope()


def in_stateless_scope() -> bool:
    """Whether a StatelessScope is open in this thread."""
    return _variables.in_stateless_scope()


class SymbolicScope:
    """Marks code that runs only to infer shapes and dtypes (no real numbers), as Keras's
    does while building a functional model. Code may ask `in_symbolic_scope()` to skip
    work whose only use is numeric (updating statistics, drawing random numbers)."""

    def __enter__(self):
        _stacks.symbolic.append(self)
        return self

    def __exit__(self, *exc):
        _stacks.symbolic.remove(self)


def in_symbolic_scope() -> bool:
    """Whether a SymbolicScope is open in this thread."""
    return bool(_stacks.symbolic)


def get_symbolic_scope():
    """The innermost open SymbolicScope, or None."""
    return _stacks.symbolic[-1] if _stacks.symbolic else None
