"""Losses, with Keras 3's names, arguments and defaults.

`get` turns what users write in `compile(loss=...)` into something callable: a string names
a function ('mse', 'binary_crossentropy') or a class ('MeanSquaredError', instantiated), as
in Keras; a typo raises at once with the close matches.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from nhanh import registry
from nhanh.losses.categorical_hinge import CategoricalHinge, categorical_hinge
from nhanh.losses.circle import Circle, circle
from nhanh.losses.ctc import CTC, ctc
from nhanh.losses.focal import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
)
from nhanh.losses.generalized_crossentropy import (
    CategoricalGeneralizedCrossEntropy,
    categorical_generalized_cross_entropy,
)
from nhanh.losses.hinge import Hinge, SquaredHinge, hinge, squared_hinge
from nhanh.losses.loss import (
    Loss,
    LossFunctionWrapper,
    reduce_values,
    reduce_weighted_values,
    standardize_reduction,
)
from nhanh.losses.probabilistic import (
    BCE,
    KLD,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    bce,
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    kld,
    kullback_leibler_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from nhanh.losses.regression import (
    MAE,
    MAPE,
    MSE,
    MSLE,
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    log_cosh,
    logcosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
)
from nhanh.losses.segmentation import Dice, Tversky, dice, tversky
from nhanh.losses.shapes import pair_shapes

CLASSES: dict[str, type] = {c.__name__: c for c in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Huber, LogCosh, CosineSimilarity, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge,
    SquaredHinge, BinaryFocalCrossentropy, CategoricalFocalCrossentropy, CategoricalHinge,
    CategoricalGeneralizedCrossEntropy, Circle, CTC, Dice, Tversky,
)}
FUNCTIONS: dict[str, Callable] = {f.__name__: f for f in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, huber, log_cosh, cosine_similarity, binary_crossentropy,
    categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson, hinge,
    squared_hinge, binary_focal_crossentropy, categorical_focal_crossentropy,
    categorical_hinge, categorical_generalized_cross_entropy, circle, ctc, dice, tversky,
)}
ALIASES: dict[str, Callable] = {
    "mse": mean_squared_error, "mae": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
    "bce": binary_crossentropy, "kld": kl_divergence,
    "kullback_leibler_divergence": kl_divergence, "logcosh": log_cosh, "huber_loss": huber,
}
_TABLE: dict[str, Any] = {
    **{k.lower(): v for k, v in CLASSES.items()}, **FUNCTIONS, **ALIASES,
}


def serialize(loss) -> dict | str:
    """A Loss as {'class_name', 'config'}; a built-in loss function as its name.

    Args:
        loss: A `Loss` instance, one of nhanh's loss functions (`nhanh.losses.mse`, ...), or
            a function of yours (saved by its registered name; loading needs it registered
            or passed as a custom object).

    Returns:
        A dict for a `Loss` or your function, the function's name for a built-in one.
    """
    if isinstance(loss, Loss):
        return registry.serialize(loss)
    name = getattr(loss, "__name__", None)
    if name in FUNCTIONS:
        return name
    if callable(loss) and name is not None:  # the user's function, as Keras writes it
        return registry.serialize(loss)
    raise ValueError(f"Cannot serialize loss {loss!r}: expected a Loss or a function.")


def deserialize(config: dict | str) -> Loss | Callable:
    """The inverse of `serialize`.

    Args:
        config: A loss name, a `{'class_name', 'config'}` dict from `serialize`, or Keras's
            `{'class_name': 'function', 'config': name}` form for a plain function.

    Returns:
        A `Loss` instance, or the named loss function.
    """
    if isinstance(config, str):
        return get(config)
    if config.get("class_name") == "function":  # Keras's form for plain functions
        found = registry.user_object(config)
        return found if found is not None else get(config["config"])
    return registry.deserialize("loss", config, {**CLASSES, "LossFunctionWrapper":
                                                 LossFunctionWrapper})


def get(identifier) -> Loss | Callable | None:
    """A loss from a name, a config dict, a Loss class or instance, or a function.

    This is what `compile(loss=...)` accepts.

    Args:
        identifier: A name, looked up case-insensitively ('mse', 'binary_crossentropy',
            'MeanSquaredError'; a typo raises a ValueError naming the close matches); a
            config dict (see `deserialize`); a `Loss` class, instantiated with its defaults;
            a `Loss` instance or any callable `(y_true, y_pred)`, returned as is; or `None`.

    Returns:
        A callable loss: the function a function's name stands for, an instance for a
        class or a class's name, the identifier itself for a callable; `None` for `None`.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        obj = registry.lookup("loss", identifier, _TABLE)
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret loss identifier {identifier!r}: expected a loss "
                         "name, a Loss, a function (y_true, y_pred) or a config dict.")
    return obj


__all__ = [
    "Loss", "LossFunctionWrapper", *CLASSES, *FUNCTIONS, "mse", "mae", "mape", "msle", "bce",
    "kld", "kullback_leibler_divergence", "logcosh", "MSE", "MAE", "MAPE", "MSLE", "BCE",
    "KLD", "get", "serialize", "deserialize", "pair_shapes", "reduce_values",
    "reduce_weighted_values", "standardize_reduction",
]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
