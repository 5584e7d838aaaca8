"""scikit-learn estimators around nhanh models: Keras 3's `keras.wrappers` classes.

`SKLearnClassifier`, `SKLearnRegressor` and `SKLearnTransformer` take `model` (a compiled
`Model`, or a function `model(X=..., y=..., **model_kwargs)` that builds and compiles one),
`warm_start`, `model_kwargs` and `fit_kwargs`, as in Keras 3, so a model drops into
`cross_val_score`, `GridSearchCV` and `Pipeline`. scikit-learn stays optional: this module
imports without it, and building an estimator without it says how to install it.

Where nhanh does better than Keras 3.15, deliberately:

- Classifier targets follow the model. The builder receives one-hot `y` (n, n_classes), as
  in Keras; then `fit` passes the model integer class indices when its loss is sparse
  categorical crossentropy, a 0/1 column when there are two classes and the model has one
  output unit (sigmoid, or logits with `from_logits=True`), and the one-hot `y` otherwise.
  `predict` maps the outputs back to the labels in `classes_` (argmax, or the 0.5 / 0
  threshold of one unit). Keras always passes one-hot targets, which those two models
  cannot train on.
- `warm_start=True` reuses `model_` on the next `fit` (Keras documents this but refits
  from scratch).
- `sklearn.base.clone` keeps `fit_kwargs` (Keras drops them), and a `Model` given as
  `model` is copied with its weights, so clones never train each other's model.
- `history_` is the dict of per-epoch logs (`History.history`), as Keras documents it;
  `epoch_` counts the epochs `model_` has been trained for.
- `predict`/`transform` run the model quietly (`verbose=0`), as scikit-learn estimators do.
- A bad target raises before any model is built, and a failed `fit` changes no attribute.
- The regressor and the transformer accept 2-D targets (several outputs). The regressor
  does not claim scikit-learn's `multi_output` tag: its predictions keep the model's
  float32, where scikit-learn's multi-output checks want float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the classes exist; building one says how to install scikit-learn
    sklearn = None

    class BaseEstimator:  # type: ignore[no-redef]
        pass

    class ClassifierMixin:  # type: ignore[no-redef]
        pass

    class RegressorMixin:  # type: ignore[no-redef]
        pass

    class TransformerMixin:  # type: ignore[no-redef]
        pass


def _require_sklearn(name: str) -> None:
    if sklearn is None:
        raise ImportError(f"{name} needs scikit-learn, which is not installed. Install it "
                          "with `pip install scikit-learn`.")


def _validate_data(estimator, X, y=None, reset: bool = True, **kwargs):
    """scikit-learn's input checks (array conversion, n_features_in_), any version."""
    try:
        from sklearn.utils.validation import validate_data  # scikit-learn >= 1.6
    except ImportError:
        if y is None:
            return estimator._validate_data(X, reset=reset, **kwargs)
        return estimator._validate_data(X, y, reset=reset, **kwargs)
    if y is None:
        return validate_data(estimator, X, reset=reset, **kwargs)
    return validate_data(estimator, X, y, reset=reset, **kwargs)


def _target_type(y) -> str:
    from sklearn.utils.multiclass import type_of_target

    return type_of_target(y)


def _output_units(model, X: np.ndarray) -> int | None:
    """The last axis of the model's output for X, or None when it is not one known int."""
    try:
        shape = model.compute_output_shape((None, *X.shape[1:]))
    except Exception:  # a subclassed model without shape inference: skip the check
        return None
    if isinstance(shape, (tuple, list)) and shape and all(
            d is None or isinstance(d, int) for d in shape):
        return shape[-1]
    return None


def _loss_of(model):
    """The model's single resolved loss object or function (None for several outputs)."""
    from nhanh import losses

    loss = model.loss
    if isinstance(loss, (list, tuple)) and len(loss) == 1:
        loss = loss[0]
    if isinstance(loss, (list, tuple, dict)):
        return None
    return losses.get(loss)


def _is_sparse_loss(loss) -> bool:
    from nhanh import losses

    fn = getattr(loss, "fn", loss)
    return isinstance(loss, losses.SparseCategoricalCrossentropy) or \
        fn is losses.sparse_categorical_crossentropy


def _from_logits(loss) -> bool:
    try:
        return bool(loss.get_config().get("from_logits", False))
    except Exception:  # a plain function: probabilities
        return False


class SKLBase(BaseEstimator):
    """What the three wrappers share: building the model, fitting it, checking inputs.

    Args:
        model: A compiled nhanh `Model` (copied before each fit unless `warm_start`), or a
            callable `model(X=X, y=y, **model_kwargs)` returning a compiled `Model`, called
            with the validated X and the encoded y (2-D; one-hot for the classifier).
        warm_start: If True, the given `Model` is trained itself (not a copy), and each
            later `fit` continues training `model_` instead of starting again.
        model_kwargs: Keyword arguments for `model` when it is a callable.
        fit_kwargs: Keyword arguments for `Model.fit` (`epochs`, `batch_size`, `verbose`,
            ...); those given to `fit` itself take precedence.

    Attributes:
        model_: The fitted `Model`.
        history_: Dict of per-epoch logs of the last `fit` (`History.history`).
        n_features_in_: Number of features seen in `fit`.
    """

    def __init__(self, model: Any, warm_start: bool = False,
                 model_kwargs: dict | None = None, fit_kwargs: dict | None = None):
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # weights start random; fits differ run to run
        return tags

    def __sklearn_clone__(self):
        """A new, unfitted estimator with copies of the parameters; a `Model` given as
        `model` is copied with its weights, so the clone never trains the original."""
        from sklearn.base import clone

        from nhanh.models import Model
        from nhanh.wrappers.model_cloning import clone_compiled

        params = {}
        for name, value in self.get_params(deep=False).items():
            if name == "model" and isinstance(value, Model):
                params[name] = clone_compiled(value, copy_weights=True,
                                              owner=type(self).__name__)
            else:
                params[name] = clone(value, safe=False)
        return type(self)(**params)

    @property
    def epoch_(self) -> int:
        """How many epochs `model_` has been trained for (over warm-started fits too)."""
        return getattr(self, "_epochs_trained", 0)

    # --- fitting ---------------------------------------------------------------------------
    def _reuse_model(self) -> bool:
        return bool(self.warm_start) and hasattr(self, "model_")

    def _get_model(self, X, y):
        from nhanh.models import Model
        from nhanh.wrappers.model_cloning import clone_compiled

        name = type(self).__name__
        if self._reuse_model():
            return self.model_
        if isinstance(self.model, Model):
            return self.model if self.warm_start else clone_compiled(self.model, owner=name)
        if not callable(self.model):
            raise TypeError(f"{name}(model=...) must be a compiled nhanh Model or a function "
                            f"model(X, y, **model_kwargs) returning one; got "
                            f"{type(self.model).__name__}: {self.model!r}.")
        built = self.model(X=X, y=y, **(self.model_kwargs or {}))
        if not isinstance(built, Model):
            raise TypeError(f"{name}: the model function {getattr(self.model, '__name__', '')}"
                            f" must return a compiled nhanh Model; it returned "
                            f"{type(built).__name__}.")
        return built

    def _check_model(self, model) -> None:
        if not getattr(model, "compiled", False) or not model.loss or not model.optimizer:
            raise RuntimeError(f"{type(self).__name__}: the model {model.name!r} must be "
                               "compiled with a loss and an optimizer before fitting; call "
                               "model.compile(optimizer=..., loss=...) where it is built.")

    def _check_y(self, y) -> None:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None: fit(X, y) trains the model on targets y.")
        target_type = _target_type(y)
        if target_type == "unknown":
            raise ValueError(f"Unknown label type for y: {type(self).__name__} cannot use "
                             f"targets of shape {np.shape(y)} and dtype "
                             f"{np.asarray(y).dtype}; give one value (or one row) per sample.")

    def _validate_fit(self, X, y):
        return _validate_data(self, X, y, multi_output=True)

    def _encode(self, y) -> tuple[np.ndarray, dict]:
        """The targets the model function sees, and the attributes a good fit sets."""
        return (y.reshape(-1, 1) if y.ndim == 1 else y), {"_y_ndim": y.ndim}

    def _fit_targets(self, model, X, y, encoded, attrs: dict):
        """The targets given to Model.fit: those the model function saw, unless a subclass
        adapts them to the built model."""
        return encoded

    def fit(self, X, y, **kwargs) -> "SKLBase":
        """Build (or copy, or reuse) the model and train it on X, y.

        Args:
            X: Array-like (n_samples, n_features).
            y: Array-like (n_samples,) or (n_samples, n_outputs): the targets.
            **kwargs: Keyword arguments for `Model.fit`, over `fit_kwargs`.

        Returns:
            self.
        """
        self._check_y(y)
        X, y = self._validate_fit(X, y)
        encoded, attrs = self._encode(y)
        model = self._get_model(X, encoded)
        self._check_model(model)
        targets = self._fit_targets(model, X, y, encoded, attrs)
        history = model.fit(X, targets, **{**(self.fit_kwargs or {}), **kwargs})
        epochs = len(history.epoch) + (self.epoch_ if self._reuse_model() else 0)
        for name, value in attrs.items():  # only now: a failed fit changes nothing
            setattr(self, name, value)
        self.model_ = model
        self.history_ = dict(history.history)
        self._epochs_trained = epochs
        return self

    def _raw_output(self, X) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate_data(self, X, reset=False)
        return np.asarray(self.model_.predict(X, verbose=0))

    def predict(self, X) -> np.ndarray:
        """The model's predictions for X, shaped like the targets it was fitted on."""
        out = self._raw_output(X)
        if self._y_ndim == 1 and out.ndim == 2 and out.shape[1] == 1:
            return out[:, 0]
        return out


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """scikit-learn classifier around an nhanh model (Keras 3's `keras.wrappers`).

    The model function receives `y` one-hot encoded (n_samples, n_classes), so
    `y.shape[1]` gives the output size. See the module docstring for the targets `fit`
    passes (one-hot, class indices for a sparse loss, a 0/1 column for one output unit).

    Args:
        model: A compiled `Model`, or a callable `model(X=X, y=y, **model_kwargs)` returning
            one.
        warm_start: If True, later fits continue training `model_`.
        model_kwargs: Keyword arguments for `model` when it is a callable.
        fit_kwargs: Keyword arguments for `Model.fit`; `fit`'s own take precedence.

    Attributes:
        model_: The fitted `Model`.
        history_: Dict of per-epoch logs of the last `fit`.
        classes_: The class labels, sorted (`np.unique(y)`).

    Example:

    ```python
    def build(X, y, hidden=16):
        model = nhanh.Sequential([nhanh.Input((X.shape[1],)),
                                  nhanh.layers.Dense(hidden, activation="relu"),
                                  nhanh.layers.Dense(y.shape[1], activation="softmax")])
        model.compile(loss="categorical_crossentropy", optimizer="adam")
        return model

    clf = SKLearnClassifier(build, model_kwargs={"hidden": 32}, fit_kwargs={"epochs": 20})
    cross_val_score(clf, X, y, cv=3)
    ```
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _check_y(self, y) -> None:
        super()._check_y(y)
        target_type = _target_type(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"Unknown label type: {type(self).__name__} supports binary and multiclass "
                f"targets (one label per sample), got {target_type!r} targets of shape "
                f"{np.shape(y)}. For continuous targets use SKLearnRegressor; for one-hot "
                "labels pass y.argmax(axis=1).")

    def _validate_fit(self, X, y):
        return _validate_data(self, X, y)

    def _encode(self, y) -> tuple[np.ndarray, dict]:
        if self._reuse_model():
            classes = self.classes_
            unseen = np.setdiff1d(np.unique(y), classes)
            if unseen.size:
                raise ValueError(f"{type(self).__name__} with warm_start=True was first fitted "
                                 f"on classes {classes.tolist()}; y now has new classes "
                                 f"{unseen.tolist()}. Set warm_start=False to start again.")
        else:
            classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes in y to train; "
                             f"y has only one class, {classes.tolist()}.")
        one_hot = np.eye(len(classes), dtype="float32")[np.searchsorted(classes, y)]
        return one_hot, {"classes_": classes}

    def _fit_targets(self, model, X, y, encoded, attrs: dict):
        classes = attrs["classes_"]
        codes = np.searchsorted(classes, y)
        loss, units, n = _loss_of(model), _output_units(model, X), len(classes)
        attrs["_threshold"] = 0.0 if _from_logits(loss) else 0.5
        if _is_sparse_loss(loss):
            targets, what = codes.astype("int32"), "class indices"
        elif n == 2 and units == 1:
            return codes.astype("float32")[:, None]
        else:
            targets, what = encoded, f"one-hot, {n} columns"
        if units is not None and units != n:
            raise ValueError(
                f"{type(self).__name__}: the model's output has {units} unit(s), but y has "
                f"{n} classes {classes.tolist()} (targets passed as {what}). Give the last "
                "layer y.shape[1] units (the model function receives y one-hot), or one "
                "sigmoid unit for two classes.")
        return targets

    def decision_function(self, X) -> np.ndarray:
        """The model's raw outputs for X (probabilities or logits, as the model gives)."""
        return self._raw_output(X)

    def predict(self, X) -> np.ndarray:
        """The predicted class labels, from `classes_`."""
        out = self._raw_output(X)
        if out.ndim == 1 or out.shape[-1] == 1:
            index = (out.reshape(len(out)) > self._threshold).astype(int)
        else:
            index = out.argmax(axis=-1)
        return self.classes_[index]


class SKLearnRegressor(RegressorMixin, SKLBase):
    """scikit-learn regressor around an nhanh model (Keras 3's `keras.wrappers`).

    The model function receives `y` as a 2-D array (n_samples, n_outputs); `predict`
    returns 1-D predictions when `fit` was given 1-D targets.

    Args:
        model: A compiled `Model`, or a callable `model(X=X, y=y, **model_kwargs)` returning
            one.
        warm_start: If True, later fits continue training `model_`.
        model_kwargs: Keyword arguments for `model` when it is a callable.
        fit_kwargs: Keyword arguments for `Model.fit`; `fit`'s own take precedence.

    Attributes:
        model_: The fitted `Model`.
        history_: Dict of per-epoch logs of the last `fit`.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags

    def _check_y(self, y) -> None:
        super()._check_y(y)
        if np.asarray(y).dtype.kind in "OUS":
            raise ValueError(f"{type(self).__name__} needs numeric targets y; got "
                             f"{np.asarray(y).dtype} values such as {np.ravel(y)[:3].tolist()}."
                             " For class labels use SKLearnClassifier.")

    def _validate_fit(self, X, y):
        return _validate_data(self, X, y, multi_output=True, y_numeric=True)


class SKLearnTransformer(TransformerMixin, SKLBase):
    """scikit-learn transformer around an nhanh model (Keras 3's `keras.wrappers`):
    `transform(X)` is the model's output, e.g. an embedding for the next pipeline step.

    `fit` trains the model on (X, y) as the regressor does; for an autoencoder pass y=X.

    Args:
        model: A compiled `Model`, or a callable `model(X=X, y=y, **model_kwargs)` returning
            one.
        warm_start: If True, later fits continue training `model_`.
        model_kwargs: Keyword arguments for `model` when it is a callable.
        fit_kwargs: Keyword arguments for `Model.fit`; `fit`'s own take precedence.

    Attributes:
        model_: The fitted `Model`.
        history_: Dict of per-epoch logs of the last `fit`.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        tags.target_tags.required = True
        return tags

    def _check_y(self, y) -> None:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None: fit(X, y) trains the model on targets y; for an "
                             "autoencoder pass y=X.")
        super()._check_y(y)

    def transform(self, X) -> np.ndarray:
        """The model's outputs for X."""
        return self._raw_output(X)


__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
