"""Initializers, Keras 3 names: classes (`GlorotUniform(seed=1)`) and names ('glorot_uniform').

Random initializers draw on the host with NumPy, so the same seed gives bit-identical initial
weights on JAX and on PyTorch.
"""

from __future__ import annotations

from typing import Any, Callable

from nhanh import registry
from nhanh.initializers.constant_initializers import (
    Constant, Identity, IdentityInitializer, Ones, Zeros,
)
from nhanh.initializers.initializer import Initializer, RandomInitializer
from nhanh.initializers.random_initializers import (
    GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal,
    OrthogonalInitializer, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
    compute_fans,
)

_CLASSES = (Constant, Identity, Ones, Zeros, GlorotNormal, GlorotUniform, HeNormal, HeUniform,
            LecunNormal, LecunUniform, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling)
_BY_CLASS_NAME = {cls.__name__.lower(): cls for cls in _CLASSES}
_BY_CLASS_NAME.update(identityinitializer=Identity, orthogonalinitializer=Orthogonal)
_BY_NAME: dict[str, type] = {
    "constant": Constant, "identity": Identity, "ones": Ones, "zeros": Zeros,
    "glorot_normal": GlorotNormal, "glorot_uniform": GlorotUniform, "he_normal": HeNormal,
    "he_uniform": HeUniform, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    # Keras aliases
    "normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros,
}


def _class(name: str) -> type:
    return _BY_CLASS_NAME.get(name.lower()) or registry.lookup("initializer", name, _BY_NAME)


def serialize(initializer: Initializer) -> dict[str, Any]:
    """{'class_name', 'config'}, which `deserialize` (and `get`) turn back into an equal one."""
    return registry.serialize(initializer)


def deserialize(config: dict[str, Any] | str,
                custom_objects: dict[str, Callable] | None = None) -> Initializer:
    """An initializer from `serialize`'s dict, or from a name with default arguments."""
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _class(name)
    return cls.from_config(config.get("config") or {})


def get(identifier: Any) -> Callable | None:
    """A name, {'class_name', 'config'} dict, class, instance or callable -> an initializer."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier {identifier!r}: expected a "
                     f"name such as 'glorot_uniform', an Initializer, a callable or a dict.")


__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomInitializer", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros", "compute_fans", "deserialize", "get",
    "serialize",
]
