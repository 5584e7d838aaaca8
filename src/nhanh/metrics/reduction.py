"""Mean and Sum, and MeanMetricWrapper: the running average of a per-sample function.

Weighting follows Keras: values are first reduced to one number per sample (or to the rank
of `sample_weight`), multiplied by the weights, and the weights are summed into the count,
so `result()` is the weighted mean over every batch seen since the last reset.
"""

from __future__ import annotations

from typing import Any, Callable

from nhanh import ops
from nhanh.losses.shapes import pair_shapes
from nhanh.metrics.metric import Metric


def reduce_to_samplewise_values(values, sample_weight, reduce_fn: Callable, dtype: str):
    """(values per sample, weights per sample) from values and optional weights."""
    values = ops.cast(values, dtype)
    if sample_weight is not None:
        sample_weight = ops.cast(sample_weight, dtype)
        values, sample_weight = pair_shapes(values, sample_weight)
        weight_ndim, values_ndim = ops.ndim(sample_weight), ops.ndim(values)
        if values_ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values_ndim)))
        sample_weight = ops.broadcast_to(sample_weight, ops.shape(values))
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if ops.ndim(values) > 1:
        values = reduce_fn(values, axis=tuple(range(1, ops.ndim(values))))
    return values, sample_weight


class Sum(Metric):
    """Running (weighted) sum of the values passed to update_state.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, name: str = "sum", dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values, sample_weight=None) -> None:
        values, _ = reduce_to_samplewise_values(values, sample_weight, ops.sum, self.dtype)
        self.total.assign_add(ops.sum(values))

    def result(self):
        return ops.convert_to_tensor(self.total.value)


class Mean(Metric):
    """Running (weighted) mean of the values passed to update_state.

    Args:
        name: Name of the metric (the key in the training logs).
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
    """

    def __init__(self, name: str = "mean", dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, values, sample_weight=None) -> None:
        if isinstance(sample_weight, (int, float)) and ops.is_tensor(values) \
                and ops.ndim(values) == 0:
            # One number with a plain weight (a loss tracker's batch mean and batch size):
            # the same sums without the per-sample reshaping.
            self.total.assign_add(ops.cast(values, self.dtype) * sample_weight)
            self.count.assign_add(float(sample_weight))
            return
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, ops.mean,
                                                            self.dtype)
        self.total.assign_add(ops.sum(values))
        if sample_weight is not None:
            count = ops.sum(sample_weight)
        else:
            count = ops.shape(values)[0] if ops.ndim(values) >= 1 else 1
        self.count.assign_add(ops.cast(count, self.dtype))

    def result(self):
        return ops.safe_divide(self.total.value, self.count.value)


class MeanMetricWrapper(Mean):
    """The running mean of `fn(y_true, y_pred, **kwargs)`: turns any loss-like function
    into a metric.

    Args:
        fn: Callable `(y_true, y_pred, **kwargs)` returning one value per sample (or per entry).
        name: Name of the metric; `None` uses `fn`'s name.
        dtype: Dtype of the accumulators and the result; `None` uses `nhanh.config.floatx()`.
        **kwargs: Keyword arguments passed to `fn` on every update (and saved in the config).
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype: str | None = None,
                 **kwargs: Any):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"),
                         dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict:
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self._fn, "__name__", self._fn)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "MeanMetricWrapper":
        config = dict(config)
        if isinstance(config.get("fn"), str):
            from nhanh.metrics import function_by_name

            config["fn"] = function_by_name(config["fn"])
        return cls(**config)
