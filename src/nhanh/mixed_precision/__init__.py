"""keras.mixed_precision: the legacy home of the dtype-policy names, and LossScaleOptimizer.

`set_global_policy("mixed_float16")` (or `nhanh.config.set_dtype_policy`) makes new layers
compute in float16 with float32 weights; `compile` then wraps the optimizer in a
LossScaleOptimizer, so that small float16 gradients do not underflow.
"""

from nhanh import keras_names as _keras_names
from nhanh.dtype_policies.dtype_policy import DTypePolicy, dtype_policy, set_dtype_policy
from nhanh.optimizers.loss_scale_optimizer import LossScaleOptimizer

Policy = DTypePolicy
global_policy = dtype_policy
set_global_policy = set_dtype_policy

__all__ = ["DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy", "LossScaleOptimizer"]

__getattr__ = _keras_names.module_getattr(__name__)
