"""Checks written for mutants that survived tools/mutate.py (see tools/MUTATION.md)."""

import numpy as np
import pytest

from nhanh import optimizers
from nhanh.variables import Variable


def test_apply_without_variables_needs_build_then_uses_the_built_ones():
    """Mutant: `if not self.built` flipped in apply(), when no variables are passed."""
    w = Variable(np.array([1.0, -2.0], "float32"))
    opt = optimizers.SGD(learning_rate=0.5)
    with pytest.raises(ValueError, match="call build\\(\\) first"):
        opt.apply([np.ones(2, "float32")])
    np.testing.assert_array_equal(w.numpy(), [1.0, -2.0])
    opt.build([w])
    opt.apply([np.array([1.0, 2.0], "float32")])  # Keras: the variables given to build()
    np.testing.assert_allclose(w.numpy(), [0.5, -3.0], rtol=1e-6)
