"""Checks written for mutants that survived tools/mutate.py (see tools/MUTATION.md): each test
names the planted change it catches."""

import numpy as np
import pytest

from helpers import linear_data, linear_model


@pytest.mark.parametrize("method", ["evaluate", "predict"])
@pytest.mark.parametrize("verbose", [3, -1, "loud", True])
def test_evaluate_and_predict_check_verbose(method, verbose):
    """Mutant: evaluate() without its `verbose = _check_verbose(verbose)` line."""
    x, y = linear_data(8)
    model = linear_model()
    args = (x, y) if method == "evaluate" else (x,)
    with pytest.raises(ValueError, match="verbose must be 0, 1, 2 or 'auto'"):
        getattr(model, method)(*args, verbose=verbose)
    np.testing.assert_allclose(getattr(model, method)(*args, verbose=0),
                               getattr(model, method)(*args, verbose=0))


@pytest.mark.parametrize("split", [0.95, 1e-17])
def test_validation_split_that_leaves_one_side_empty_raises(split):
    """Mutant: `at == 0 or at == n` turned into `and` in ArrayData.split (10 samples: 0.95
    leaves no training rows, 1e-17 no validation rows)."""
    x, y = linear_data(10)
    model = linear_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=split, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
