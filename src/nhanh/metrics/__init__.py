"""Metrics, with Keras 3's names, arguments and defaults.

Every metric keeps its accumulators in Variables and changes them only by assignment, so
`update_state` can run inside a compiled, pure training step. `get` resolves names as Keras
does (a class name or its snake_case form gives an instance); `get_for_output` is what
compile() uses, because 'accuracy' depends on the output it measures.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from nhanh import losses as _losses
from nhanh import registry
from nhanh.losses import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from nhanh.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from nhanh.metrics.loss_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    RootMeanSquaredError,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    cosine_similarity,
)
from nhanh.metrics.metric import Metric
from nhanh.metrics.auc import AUC
from nhanh.metrics.confusion_metrics import (
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from nhanh.metrics.correlation_metrics import (
    ConcordanceCorrelation,
    PearsonCorrelation,
    concordance_correlation,
    pearson_correlation,
)
from nhanh.metrics.f_score_metrics import F1Score, FBetaScore
from nhanh.metrics.iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from nhanh.metrics.r2_score import R2Score
from nhanh.metrics.reduction import Mean, MeanMetricWrapper, Sum
from nhanh.metrics.selection import get_for_output, label_kind
from nhanh.naming import to_snake_case

CLASSES: dict[str, type] = {c.__name__: c for c in (
    Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, RootMeanSquaredError, LogCoshError, CosineSimilarity,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
    Poisson, Hinge, SquaredHinge, CategoricalHinge,
    AUC, Precision, Recall, TruePositives, TrueNegatives, FalsePositives, FalseNegatives,
    PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
    F1Score, FBetaScore, IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU, R2Score,
    PearsonCorrelation, ConcordanceCorrelation,
)}
_GETTABLE = {k: v for k, v in CLASSES.items() if v is not MeanMetricWrapper}
_TABLE: dict[str, type] = {
    **{k.lower(): v for k, v in _GETTABLE.items()},
    **{to_snake_case(k): v for k, v in _GETTABLE.items()},
    "mse": MeanSquaredError, "mae": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "rmse": RootMeanSquaredError,
    "bce": BinaryCrossentropy, "kld": KLDivergence, "logcosh": LogCoshError,
}
FUNCTIONS: dict[str, Callable] = {
    **_losses.FUNCTIONS,
    **{f.__name__: f for f in (
        accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
        top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, cosine_similarity,
        pearson_correlation, concordance_correlation,
    )},
}
_NEEDS_OUTPUT = ("acc", "crossentropy", "ce")


def function_by_name(name: str) -> Callable:
    """A metric function (accuracies, or any loss function) by name.

    Args:
        name: The function's name or a loss alias (e.g. `"mse"`).

    Returns:
        The function `(y_true, y_pred) -> values`.
    """
    return registry.lookup("metric function", name,
                           {**FUNCTIONS, **_losses.ALIASES})


def serialize(metric: Metric | Callable) -> dict | str:
    """A Metric as {'class_name', 'config'}; a built-in function as its name.

    Args:
        metric: A `Metric` instance or a built-in metric function.

    Returns:
        A config dict, or the function's name.
    """
    if isinstance(metric, Metric):
        return registry.serialize(metric)
    name = getattr(metric, "__name__", None)
    if name in FUNCTIONS:
        return name
    if callable(metric) and name is not None:  # the user's function, as Keras writes it
        return registry.serialize(metric)
    raise ValueError(f"Cannot serialize metric {metric!r}: expected a Metric or a "
                     "function.")


def deserialize(config: dict | str) -> Metric | Callable:
    """The inverse of `serialize`.

    Args:
        config: A `{'class_name', 'config'}` dict, or a metric or function name.

    Returns:
        A `Metric` instance, or a metric function.
    """
    if isinstance(config, str):
        return function_by_name(config) if config in FUNCTIONS else get(config)
    if config.get("class_name") == "function":  # Keras's form for a plain function
        found = registry.user_object(config)
        return found if found is not None else deserialize(config["config"])
    return registry.deserialize("metric", config, CLASSES)


def get(identifier: Any) -> Metric | Callable | None:
    """A metric from a name, a config dict, a Metric class or instance, or a function.

    Names give Metric instances named as their class names them ('mse' ->
    MeanSquaredError named 'mean_squared_error'); compile() renames them through
    get_for_output. 'acc', 'crossentropy' and 'ce' depend on the output: use
    get_for_output.

    Args:
        identifier: A name, a config dict, a `Metric` class (instantiated with its defaults) or
            instance, a function, or `None`.

    Returns:
        A `Metric`, a function, or `None` for `None`.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.lower() in _NEEDS_OUTPUT:
            raise ValueError(
                f"Metric {identifier!r} depends on the model output (binary, sparse or "
                "categorical labels): pass it to compile(metrics=...), or use "
                "nhanh.metrics.get_for_output(identifier, loss, y_true_shape, y_pred_shape)."
            )
        obj = registry.lookup("metric", identifier, _TABLE)
    else:
        obj = identifier
    if inspect.isclass(obj):
        required = [n for n, p in inspect.signature(obj).parameters.items()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                           p.KEYWORD_ONLY)]
        if required:
            raise ValueError(f"Metric {identifier!r} needs arguments ({', '.join(required)}): "
                             f"pass an instance, e.g. metrics=[nhanh.metrics.{obj.__name__}("
                             f"{', '.join(f'{n}=...' for n in required)})].")
        obj = obj()
    if not callable(obj) and not isinstance(obj, Metric):
        raise ValueError(f"Could not interpret metric identifier {identifier!r}: expected a "
                         "metric name, a Metric, a function (y_true, y_pred) or a config dict.")
    return obj


__all__ = [
    "Metric", *CLASSES, *FUNCTIONS, "get", "get_for_output", "label_kind", "serialize",
    "deserialize", "function_by_name",
]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
