"""Regularizers and constraints against NumPy, plus name lookup and serialization."""

import numpy as np
import pytest

import nhanh
from nhanh import constraints, ops, regularizers

to_numpy = ops.convert_to_numpy


@pytest.fixture
def weight():
    return np.random.default_rng(0).normal(size=(5, 4)).astype("float32")


def _value(reg, w):
    out = reg(ops.convert_to_tensor(w))
    assert ops.is_tensor(out) and ops.shape(out) == ()
    return float(to_numpy(out))


def test_l1_l2_values(weight):
    w = weight.astype("float64")
    assert _value(regularizers.L1(), weight) == pytest.approx(0.01 * np.abs(w).sum(), rel=1e-5)
    assert _value(regularizers.L2(), weight) == pytest.approx(0.01 * (w ** 2).sum(), rel=1e-5)
    assert _value(regularizers.L1(0.3), weight) == pytest.approx(0.3 * np.abs(w).sum(), rel=1e-5)
    assert _value(regularizers.L2(l2=0.2), weight) == pytest.approx(0.2 * (w ** 2).sum(), rel=1e-5)
    both = regularizers.L1L2(l1=0.1, l2=0.05)
    assert _value(both, weight) == pytest.approx(
        0.1 * np.abs(w).sum() + 0.05 * (w ** 2).sum(), rel=1e-5)
    assert _value(regularizers.L1L2(), weight) == 0.0
    assert regularizers.l1_l2(l2=0.5).get_config() == {"l1": 0.0, "l2": 0.5}


def test_l2_gradient_is_two_l2_w(weight):
    reg = regularizers.L2(0.3)
    _, grads = nhanh.backend.get().value_and_grad(lambda p: reg(p[0]))(
        [ops.convert_to_tensor(weight)])
    np.testing.assert_allclose(to_numpy(grads[0]), 0.6 * weight, rtol=1e-5)


def _orthogonal_reference(w, factor, mode):
    vectors = w if mode == "rows" else w.T
    units = [v / np.linalg.norm(v) for v in vectors]
    n = len(units)
    total = sum(abs(units[i] @ units[j]) for i in range(n) for j in range(n) if i != j)
    return factor * 0.5 * total / (n * (n - 1) / 2)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer(weight, mode):
    reg = regularizers.OrthogonalRegularizer(factor=0.2, mode=mode)
    expected = _orthogonal_reference(weight.astype("float64"), 0.2, mode)
    assert _value(reg, weight) == pytest.approx(expected, rel=1e-5)
    q = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))[0].astype("float32")
    assert _value(reg, 3.0 * q) == pytest.approx(0.0, abs=1e-6)  # scale does not matter
    with pytest.raises(ValueError, match="2D"):
        reg(ops.convert_to_tensor(np.ones((2, 2, 2), "float32")))


def test_regularizer_argument_errors():
    with pytest.raises(ValueError, match="l1"):
        regularizers.L1(-0.1)
    with pytest.raises(ValueError, match="l2"):
        regularizers.L2(float("nan"))
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")


@pytest.mark.parametrize("name, cls", [
    ("l1", regularizers.L1), ("l2", regularizers.L2), ("l1_l2", regularizers.L1L2),
    ("L1L2", regularizers.L1L2), ("orthogonal_regularizer", regularizers.OrthogonalRegularizer),
    ("OrthogonalRegularizer", regularizers.OrthogonalRegularizer),
])
def test_regularizer_get(name, cls):
    assert type(regularizers.get(name)) is cls


def test_regularizer_get_and_serialize(weight):
    assert regularizers.get(None) is None
    reg = regularizers.L2(0.5)
    assert regularizers.get(reg) is reg
    assert type(regularizers.get(regularizers.L1)) is regularizers.L1
    assert regularizers.get("l2").l2 == 0.01
    for original in [regularizers.L1(0.2), regularizers.L2(0.3), regularizers.L1L2(0.1, 0.4),
                     regularizers.OrthogonalRegularizer(0.5, "columns")]:
        copy = regularizers.get(regularizers.serialize(original))
        assert type(copy) is type(original) and copy.get_config() == original.get_config()
        assert _value(copy, weight) == pytest.approx(_value(original, weight))
    with pytest.raises(ValueError, match="'orthogonal_regularizer'"):
        regularizers.get("orthogonal_regulariser")
    with pytest.raises(ValueError, match="regularizer"):
        regularizers.get(12)


def _norms(w, axis):
    return np.sqrt((w.astype("float64") ** 2).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [0, 1, [0, 1]])
def test_max_norm(weight, axis):
    w = weight * np.array([0.1, 1.0, 3.0, 0.5], dtype="float32")  # some slices under, some over
    out = to_numpy(constraints.MaxNorm(max_value=1.5, axis=axis)(ops.convert_to_tensor(w)))
    norms = _norms(w, tuple(axis) if isinstance(axis, list) else axis)
    expected = np.where(norms > 1.5, w * 1.5 / norms, w)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert _norms(out, tuple(axis) if isinstance(axis, list) else axis).max() <= 1.5 + 1e-5


def test_non_neg(weight):
    out = to_numpy(constraints.NonNeg()(ops.convert_to_tensor(weight)))
    np.testing.assert_array_equal(out, np.where(weight < 0, 0.0, weight))


@pytest.mark.parametrize("axis", [0, 1])
def test_unit_norm(weight, axis):
    out = to_numpy(constraints.UnitNorm(axis=axis)(ops.convert_to_tensor(weight)))
    np.testing.assert_allclose(out, weight / _norms(weight, axis), rtol=1e-5)
    np.testing.assert_allclose(_norms(out, axis), 1.0, rtol=1e-5)


@pytest.mark.parametrize("rate", [1.0, 0.5])
def test_min_max_norm(weight, rate):
    w = weight * np.array([0.1, 1.0, 3.0, 0.5], dtype="float32")
    out = to_numpy(constraints.MinMaxNorm(min_value=1.0, max_value=2.0, rate=rate, axis=0)(
        ops.convert_to_tensor(w)))
    for j in range(w.shape[1]):
        column = w[:, j].astype("float64")
        norm = np.linalg.norm(column)
        target = rate * min(max(norm, 1.0), 2.0) + (1 - rate) * norm
        np.testing.assert_allclose(out[:, j], column * target / norm, rtol=1e-5)


def test_constraint_defaults_get_and_serialize(weight):
    assert constraints.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert constraints.MinMaxNorm().get_config() == {
        "min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert constraints.UnitNorm().get_config() == {"axis": 0}
    for name, cls in [("max_norm", constraints.MaxNorm), ("non_neg", constraints.NonNeg),
                      ("unit_norm", constraints.UnitNorm), ("MinMaxNorm", constraints.MinMaxNorm),
                      ("min_max_norm", constraints.MinMaxNorm)]:
        assert type(constraints.get(name)) is cls
    assert constraints.get(None) is None
    c = constraints.max_norm(3)
    assert constraints.get(c) is c and isinstance(c, constraints.MaxNorm)
    for original in [constraints.MaxNorm(1.2, axis=1), constraints.NonNeg(),
                     constraints.UnitNorm(axis=1), constraints.MinMaxNorm(0.5, 1.5, 0.3, 1)]:
        copy = constraints.get(constraints.serialize(original))
        assert type(copy) is type(original) and copy.get_config() == original.get_config()
        np.testing.assert_array_equal(to_numpy(copy(ops.convert_to_tensor(weight))),
                                      to_numpy(original(ops.convert_to_tensor(weight))))
    with pytest.raises(ValueError, match="'max_norm'"):
        constraints.get("max_nrom")
    with pytest.raises(ValueError, match="constraint"):
        constraints.get(1.5)
