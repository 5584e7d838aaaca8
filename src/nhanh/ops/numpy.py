"""keras.ops.numpy's names: the same functions as in nhanh.ops, grouped as Keras groups them.

Keras 3 exposes each op twice, as `keras.ops.X` and as `keras.ops.numpy.X`; code written either
way runs. The list is the one Keras publishes (nhanh's keras_api_names.json), so a name nhanh.ops
gains appears here too, and one it lacks says so.
"""

from nhanh.ops import _grouped

__all__ = _grouped.export(__name__, globals())

from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
