"""R2Score: the coefficient of determination, 1 - SS_residual / SS_total, per output.

It needs the whole data's mean, which a running mean of per-batch R2 would not give, so it
accumulates sums (of y, y^2, squared residuals and weights) per output column and combines
them in `result()`. The columns are known from the model's output shape in `compile`, else
from the first batch.
"""

from __future__ import annotations

import math

from nhanh import ops
from nhanh.losses.shapes import pair_shapes
from nhanh.metrics.metric import Metric
from nhanh.variables import in_stateless_scope

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """R2 of each output column, aggregated, optionally adjusted for `num_regressors`.

    Args:
        class_aggregation: None (one score per column), 'uniform_average' (their mean) or
            'variance_weighted_average' (their mean weighted by each column's variance).
        num_regressors: Number of independent variables, for the adjusted R2
            1 - (1 - R2)(n - 1)/(n - p - 1); 0 gives the plain R2. As in Keras, n counts
            every entry of y_true, and the plain R2 is returned while p >= n - 1.
        name: Name of the metric.
        dtype: Dtype of the accumulators and the result.
    """

    _direction = "up"  # higher is better (EarlyStopping's mode="auto")

    def __init__(self, class_aggregation: str | None = "uniform_average",
                 num_regressors: int = 0, name: str = "r2_score", dtype: str | None = None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(f"Invalid value for argument `class_aggregation`: expected one of "
                             f"{list(_AGGREGATIONS)}; received {class_aggregation!r}.")
        if not isinstance(num_regressors, int) or num_regressors < 0:
            raise ValueError(f"Invalid value for argument `num_regressors`: expected an int "
                             f">= 0; received {num_regressors!r}.")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), "zeros", name="num_samples")
        self.built = False

    def build(self, y_true_shape, y_pred_shape) -> None:
        """Create the per-column sums (the last axis of y_pred)."""
        if self.built:
            return
        y_true_shape = y_pred_shape if y_true_shape is None else y_true_shape
        if len(y_pred_shape) == 1:
            y_pred_shape = (*y_pred_shape, 1)  # (batch,) labels against (batch, 1) outputs
        if len(y_pred_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(f"R2Score expects 2-D inputs of shape (batch_size, output_dim) "
                             f"with output_dim known; received y_true.shape="
                             f"{tuple(y_true_shape)} and y_pred.shape={tuple(y_pred_shape)}.")
        shape = (int(y_pred_shape[-1]),)
        self.squared_sum = self.add_variable(shape, "zeros", name="squared_sum")
        self.sum = self.add_variable(shape, "zeros", name="sum")
        self.total_mse = self.add_variable(shape, "zeros", name="residual")
        self.count = self.add_variable(shape, "zeros", name="count")
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = ops.convert_to_tensor(y_true, self.dtype)
        y_pred = ops.convert_to_tensor(y_pred, self.dtype)
        y_true, y_pred = pair_shapes(y_true, y_pred)
        if not self.built:
            if in_stateless_scope():
                raise RuntimeError("R2Score has no Variables yet inside a compiled step: call "
                                   "update_state once outside it.")
            self.build(ops.shape(y_true), ops.shape(y_pred))
        if ops.ndim(y_true) != 2:
            raise ValueError(f"R2Score expects 2-D inputs of shape (batch_size, output_dim); "
                             f"received y_true.shape={ops.shape(y_true)}.")
        weight = ops.convert_to_tensor(1.0 if sample_weight is None else sample_weight,
                                       self.dtype)
        if ops.ndim(weight) == 1:
            weight = ops.expand_dims(weight, 1)
        weight = ops.broadcast_to(weight, ops.shape(y_true))
        weighted = y_true * weight
        self.sum.assign_add(ops.sum(weighted, axis=0))
        self.squared_sum.assign_add(ops.sum(y_true * weighted, axis=0))
        self.total_mse.assign_add(ops.sum(ops.square(y_true - y_pred) * weight, axis=0))
        self.count.assign_add(ops.sum(weight, axis=0))
        self.num_samples.assign_add(float(math.prod(ops.shape(y_true))))

    def result(self):
        total_sum = ops.convert_to_tensor(self.sum)
        mean = total_sum / self.count
        total = self.squared_sum - total_sum * mean
        scores = 1 - self.total_mse / total
        scores = ops.where(ops.isinf(scores), 0.0, scores)
        if self.class_aggregation == "uniform_average":
            score = ops.mean(scores)
        elif self.class_aggregation == "variance_weighted_average":
            score = ops.sum(total * scores) / ops.sum(total)
        else:
            score = scores
        if self.num_regressors == 0:
            return score
        n, p = ops.convert_to_tensor(self.num_samples), float(self.num_regressors)
        adjusted = 1.0 - (1.0 - score) * (n - 1.0) / ops.where(p < n - 1.0, n - p - 1.0, 1.0)
        return ops.where(p < n - 1.0, adjusted, score)

    def get_config(self) -> dict:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
