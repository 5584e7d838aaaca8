"""Layers as torch.nn.Modules on the PyTorch engine, so Keras's PyTorch workflow runs as it is.

Keras's PyTorch users write `loss.backward()`, `model.zero_grad()`,
`torch.optim.Adam(model.parameters())`, `model.to(device)` and `model.state_dict()`. nhanh
chooses its engine at run time, so `Layer` cannot inherit `torch.nn.Module` when it is
imported. Instead, a layer made while PyTorch is the engine is an instance of a subclass of its
own class with `TorchModule` (below) mixed in: `isinstance(layer, torch.nn.Module)` holds,
`type(layer).__name__` and `__module__` stay the class's, and a layer made on JAX stays a
plain object. The mixed classes are made once per class (`module_class`).

The module's state is computed from the layer's, never copied: `_parameters` are the layer's
own trainable Variables' storage (core.variable_storage: each is a `torch.nn.Parameter`
that `assign` and `fit` update in place, so a torch optimizer holding them sees every
change), `_buffers` its other Variables (non-trainable weights, seed states), `_modules` its
sub-layers. torch.nn.Module's own methods then work on them: parameters(), named_*,
state_dict(), zero_grad(), train()/eval(), requires_grad_(), apply(). Three are replaced:
`load_state_dict` assigns through the Variables, `_apply` (behind `to()`, `float()`, ...)
converts the Variables' storage, and `forward` is the layer's call.

`train()`/`eval()` set the torch flag `training` only; nhanh's layers follow their `training`
argument, as Keras's do on PyTorch. Calls go through the layer's own `__call__`, so torch's
forward hooks (register_forward_hook) do not run. Trainable weights require gradients, as in
Keras: an eager call under torch's grad mode records the autograd graph (wrap inference in
`torch.no_grad()`, or use predict(), which runs under it).
"""

from __future__ import annotations

import copyreg
from collections import OrderedDict, namedtuple

import torch

_MIXED: dict[type, type] = {}


class TorchFormStep(RuntimeError):
    """zero_grad() inside nhanh's compiled (stateless) training step: the step is Keras's
    PyTorch form (zero_grad / backward / optimizer.apply) and must run eagerly on the
    Variables themselves. fit() catches it and does so."""


def module_class(cls: type) -> type:
    """`cls` with TorchModule mixed in (made once per class)."""
    if issubclass(cls, torch.nn.Module):
        return cls
    mixed = _MIXED.get(cls)
    if mixed is None:
        mixed = type(cls.__name__, (cls, TorchModule),
                     {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                      "_nhanh_base": cls})
        _MIXED[cls] = mixed
    return mixed


def new_layer(cls: type):
    """A new, not yet initialised instance of `cls` that is also a torch.nn.Module."""
    obj = object.__new__(module_class(cls))
    torch.nn.Module.__init__(obj)
    return obj


def _short_name(variable, taken: set) -> str:
    """The variable's name inside its layer ('kernel'), unique there; torch's names have no
    dots."""
    name = variable.name.rsplit("/", 1)[-1].replace(".", "_") or "variable"
    unique, i = name, 1
    while unique in taken:
        unique, i = f"{name}_{i}", i + 1
    taken.add(unique)
    return unique


def _is_parameter(variable) -> bool:
    return isinstance(variable._value, torch.nn.Parameter)


class _Computed:
    """A module dict (`_parameters`, ...) read from the layer each time; writes are ignored
    (torch.nn.Module.__init__ sets them)."""

    def __init__(self, compute):
        self.compute = compute

    def __get__(self, obj, owner=None):
        return self if obj is None else self.compute(obj)

    def __set__(self, obj, value):
        pass


def _own_variables(layer) -> list:
    own = list(layer._own_weights) + [g.state for g in layer._seed_generators]
    seen: set = set()
    return [v for v in own if not (id(v) in seen or seen.add(id(v)))]


def _named_own(layer) -> list[tuple[str, object]]:
    taken: set = set()
    return [(_short_name(v, taken), v) for v in _own_variables(layer)]


class TorchModule(torch.nn.Module):
    """What a layer adds to torch.nn.Module; see the module docstring."""

    _parameters = _Computed(lambda self: OrderedDict(
        (n, v._value) for n, v in _named_own(self) if _is_parameter(v)))
    _buffers = _Computed(lambda self: OrderedDict(
        (n, v._value) for n, v in _named_own(self) if not _is_parameter(v)))
    _modules = _Computed(lambda self: OrderedDict(
        (layer.name, layer) for layer in self._layers if isinstance(layer, torch.nn.Module)))

    def __getattr__(self, name: str):
        """Reached when normal lookup failed. torch.nn.Module's version would answer with its
        own generic message; a layer's property that raised AttributeError (`model.inputs`
        before it is built) must raise its own, so the lookup runs again to raise that."""
        for klass in type(self).__mro__:
            attr = klass.__dict__.get(name)
            if attr is not None and hasattr(attr, "__get__") and klass is not TorchModule:
                return attr.__get__(self, type(self))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def forward(self, *args, **kwargs):
        """The layer's call (what `module(x)` runs too)."""
        return self.__call__(*args, **kwargs)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the parameters' gradients (torch's zero_grad). Inside nhanh's compiled step it
        marks the step as Keras's PyTorch form instead (see TorchFormStep)."""
        check = getattr(self, "_before_zero_grad", None)
        if check is not None:
            check()
        super().zero_grad(set_to_none=set_to_none)

    def named_variables(self, prefix: str = "") -> list[tuple[str, object]]:
        """(state_dict key, Variable) for every Variable of the layer and its sub-layers."""
        out, seen = [], set()
        for module_prefix, module in self.named_modules(prefix=prefix):
            if not isinstance(module, TorchModule):
                continue
            for name, v in _named_own(module):
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append((f"{module_prefix}.{name}" if module_prefix else name, v))
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Load a `state_dict()` through the Variables' `assign` (shapes checked, in place for
        parameters). With `strict`, missing or unexpected keys raise before any change."""
        named = dict(self.named_variables())
        missing = [k for k in named if k not in state_dict]
        unexpected = [k for k in state_dict if k not in named]
        if strict and (missing or unexpected):
            raise RuntimeError(
                f"load_state_dict for {type(self).__name__} {getattr(self, 'name', '')!r}: "
                f"missing keys {missing}, unexpected keys {unexpected}. Load a state_dict of "
                "a model with the same layers, or pass strict=False.")
        for key, value in state_dict.items():
            if key in named:
                v = named[key]
                if tuple(value.shape) != v.shape:
                    raise RuntimeError(f"load_state_dict: {key!r} has shape "
                                       f"{tuple(value.shape)}, the model's {v.shape}.")
        for key, value in state_dict.items():
            if key in named:
                named[key].assign(value.detach() if isinstance(value, torch.Tensor) else value)
        return _IncompatibleKeys(missing, unexpected)

    def _apply(self, fn, recurse: bool = True):
        """Convert every Variable's storage with `fn` (to(), cuda(), float(), ...); parameters
        keep their identity, so optimizers made before still hold them."""
        with torch.no_grad():
            for _, v in self.named_variables():
                value = v._value
                new = fn(value)
                if new is value:
                    continue
                if isinstance(value, torch.nn.Parameter):
                    value.data = new
                else:
                    v._value = new
        return self

    def __reduce_ex__(self, protocol):
        """Pickled as its own class (the mixed one is made again when loaded)."""
        reduced = super().__reduce_ex__(protocol)
        if isinstance(reduced, tuple) and reduced and reduced[0] is copyreg.__newobj__:
            args = (type(self)._nhanh_base,) + tuple(reduced[1][1:])
            return (reduced[0], args, *reduced[2:])
        return reduced


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
