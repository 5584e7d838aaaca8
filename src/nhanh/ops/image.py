"""keras.ops.image: image ops, found only here (as in Keras, not in nhanh.ops itself).

The colour ops are in image_color.py, the geometric ones in image_geometry.py; names Keras
also lists here that nhanh.ops has come from nhanh.ops.
"""

from nhanh.ops import _grouped, image_color, image_geometry
from nhanh.ops.image_color import *  # noqa: F401,F403
from nhanh.ops.image_geometry import *  # noqa: F401,F403

__all__ = sorted({*_grouped.export(__name__, globals()), *image_color.__all__,
                  *image_geometry.__all__})

from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
