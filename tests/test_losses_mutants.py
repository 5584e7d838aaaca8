"""Checks written for mutants that survived tools/mutate.py (see tools/MUTATION.md): losses
on rank-3 data, where axis=-1 and axis=1 differ (on (batch, features) data they do not)."""

import numpy as np
import pytest

from nhanh import losses, ops


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype=np.float64)


def _signed(y):
    return 2 * y - 1


PER_SAMPLE = {  # name: (function, kind of labels, NumPy over the last axis)
    "hinge": (losses.hinge, "binary",
              lambda t, p: np.maximum(1 - _signed(t) * p, 0).mean(-1)),
    "squared_hinge": (losses.squared_hinge, "binary",
                      lambda t, p: (np.maximum(1 - _signed(t) * p, 0) ** 2).mean(-1)),
    "mean_squared_error": (losses.mean_squared_error, "real",
                           lambda t, p: ((t - p) ** 2).mean(-1)),
    "mean_absolute_error": (losses.mean_absolute_error, "real",
                            lambda t, p: np.abs(t - p).mean(-1)),
    "log_cosh": (losses.log_cosh, "real", lambda t, p: np.log(np.cosh(p - t)).mean(-1)),
}


@pytest.mark.parametrize("name", sorted(PER_SAMPLE))
def test_losses_reduce_the_last_axis_of_rank_3_data(name):
    """Mutant: hinge's mean over axis=1 instead of axis=-1 (same on rank-2 data)."""
    fn, kind, reference = PER_SAMPLE[name]
    rng = np.random.default_rng(0)
    shape = (2, 3, 4)
    y_true = rng.integers(0, 2, shape).astype("float32") if kind == "binary" else \
        rng.normal(size=shape).astype("float32")
    y_pred = rng.normal(size=shape).astype("float32")
    out = _np(fn(y_true, y_pred))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, reference(y_true, y_pred), rtol=1e-5, atol=1e-6)


def test_sparse_crossentropy_shape_error_names_the_class_range():
    """Mutant: the message's class count read from pred[0] (the batch) instead of pred[-1]."""
    import nhanh

    model = nhanh.Sequential([nhanh.layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.zeros((32, 4), "float32")
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        model.fit(x, np.zeros((32, 2), "int32"), verbose=0)
