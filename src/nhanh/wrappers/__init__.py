"""Wrappers that let nhanh models take part in other libraries' APIs (Keras 3's
`keras.wrappers`): scikit-learn's estimators, for `cross_val_score`, `GridSearchCV` and
`Pipeline`. Importing this package does not need scikit-learn; using its classes does."""

from nhanh.wrappers.sklearn_wrapper import (SKLearnClassifier, SKLearnRegressor,
                                            SKLearnTransformer)

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


from nhanh import keras_names as _keras_names  # noqa: E402

__getattr__ = _keras_names.module_getattr(__name__)  # Keras names nhanh lacks say so
