"""Bad targets fail before training with a message that says what to change; NaN inputs
warn on every engine."""

import warnings

import numpy as np
import pytest

import nhanh
from nhanh import layers
from tests.helpers import assert_same, snapshot


def _classifier(loss="sparse_categorical_crossentropy"):
    model = nhanh.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


@pytest.mark.parametrize("label, match", [
    (7, r"class label 7.*3 classes.*\[0, 3\).*8 units"),
    (-1, r"class label -1.*start at 0"),
    (1.5, r"integer class labels.*1\.5"),
])
@pytest.mark.parametrize("where", ["y", "validation y"])
def test_sparse_labels_outside_the_classes_raise_before_training(label, match, where):
    rng = np.random.default_rng(0)
    x = rng.random((40, 4)).astype("float32")
    y = rng.integers(0, 3, 40).astype("float32")
    bad = y.copy()
    bad[5] = label
    model = _classifier()
    model.fit(x, y, epochs=1, verbose=0)
    before = snapshot(model)
    kwargs = {"validation_data": (x, bad)} if where == "validation y" else {}
    with pytest.raises(ValueError, match=f"^{where} .*" + match):
        model.fit(x, bad if where == "y" else y, epochs=1, verbose=0, **kwargs)
    assert_same(before, snapshot(model))


def test_sparse_labels_ignore_class_and_loss_objects():
    rng = np.random.default_rng(0)
    x = rng.random((40, 4)).astype("float32")
    y = rng.integers(0, 3, 40)
    y[:4] = -1  # ignored entries may lie outside the classes
    model = _classifier(nhanh.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"][0])
    y[7] = 3
    with pytest.raises(ValueError, match="class label 3"):
        model.evaluate(x, y, verbose=0)


def test_labels_within_range_train_as_before():
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 4)).astype("float32"), rng.integers(0, 3, (40, 1))
    history = _classifier().fit(x, y, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize("steps_per_execution", ["auto", 1])
@pytest.mark.parametrize("loss, units, activation", [
    ("mse", 1, None), ("binary_crossentropy", 1, "sigmoid"),
    ("sparse_categorical_crossentropy", 3, "softmax")])
def test_nan_in_the_inputs_warns_that_the_loss_diverged(loss, units, activation,
                                                       steps_per_execution):
    rng = np.random.default_rng(0)
    x = rng.random((48, 4)).astype("float32")
    x[7, 2] = np.nan
    y = rng.integers(0, units if units > 1 else 2, 48)
    model = nhanh.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
                              layers.Dense(units, activation=activation)])
    model.compile(optimizer="adam", loss=loss, steps_per_execution=steps_per_execution)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.isnan(history.history["loss"][0])
    messages = [str(w.message) for w in caught if "loss became nan" in str(w.message)]
    assert len(messages) == 1 and "epoch 1" in messages[0]
