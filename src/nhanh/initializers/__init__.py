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
_BY_NAME: dict[str, type] = {
    "constant": Constant, "identity": Identity, "ones": Ones, "zeros": Zeros,
    "glorot_normal": GlorotNormal, "glorot_uniform": GlorotUniform, "he_normal": HeNormal,
    "he_uniform": HeUniform, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    # Keras aliases
    "normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros,
}


_FAMILY = registry.Family("initializer", _BY_NAME, _CLASSES, "glorot_uniform",
                         {"identityinitializer": Identity, "orthogonalinitializer": Orthogonal})
serialize, deserialize, get = _FAMILY.serialize, _FAMILY.deserialize, _FAMILY.get


__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomInitializer", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros", "compute_fans", "deserialize", "get",
    "serialize",
]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
