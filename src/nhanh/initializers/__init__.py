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
from nhanh.initializers.stft_initializer import STFT, STFTInitializer

_CLASSES = (Constant, Identity, Ones, Zeros, GlorotNormal, GlorotUniform, HeNormal, HeUniform,
            LecunNormal, LecunUniform, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling, STFT)
_BY_NAME: dict[str, type] = {
    "constant": Constant, "identity": Identity, "ones": Ones, "zeros": Zeros,
    "glorot_normal": GlorotNormal, "glorot_uniform": GlorotUniform, "he_normal": HeNormal,
    "he_uniform": HeUniform, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling, "stft": STFT,
    # Keras aliases
    "normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros,
}


_FAMILY = registry.Family("initializer", _BY_NAME, _CLASSES, "glorot_uniform",
                         {"identityinitializer": Identity, "orthogonalinitializer": Orthogonal,
                          "stftinitializer": STFT})
serialize, deserialize, get = _FAMILY.serialize, _FAMILY.deserialize, _FAMILY.get

# Keras 3's lowercase names are the classes themselves (keras.initializers.glorot_uniform is
# GlorotUniform), so `glorot_uniform(seed=1)` makes an initializer, as Keras 2 code writes it.
constant, identity, ones, zeros = Constant, Identity, Ones, Zeros
glorot_normal, glorot_uniform, he_normal, he_uniform = (GlorotNormal, GlorotUniform, HeNormal,
                                                        HeUniform)
lecun_normal, lecun_uniform, orthogonal = LecunNormal, LecunUniform, Orthogonal
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, stft = VarianceScaling, STFT


__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomInitializer", "RandomNormal", "RandomUniform", "STFT",
    "STFTInitializer", "TruncatedNormal", "VarianceScaling", "Zeros", "compute_fans",
    "constant", "deserialize", "get", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "identity", "lecun_normal", "lecun_uniform", "ones", "orthogonal",
    "random_normal", "random_uniform", "serialize", "stft", "truncated_normal",
    "variance_scaling", "zeros",
]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
