"""Checks written for mutants that survived tools/mutate.py (see tools/MUTATION.md)."""

import numpy as np

from nhanh import metrics, ops


def test_categorical_crossentropy_metric_reduces_the_last_axis_of_rank_3_data():
    """Mutant: CategoricalCrossentropy's default axis=-1 changed to 1 (same on rank 2)."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, (2, 3))
    y_true = np.eye(4, dtype="float32")[labels]
    logits = rng.normal(size=(2, 3, 4))
    probs = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype("float32")
    m = metrics.CategoricalCrossentropy()
    m.update_state(y_true, probs)
    expected = -np.log(np.take_along_axis(probs, labels[..., None], -1)).mean()
    np.testing.assert_allclose(float(ops.convert_to_numpy(m.result())), expected, rtol=1e-5)
