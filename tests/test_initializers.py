"""Initializers: statistics against the closed-form variances, orthogonality, identity, seeds
(repeatable, and bit-identical across backends), name lookup and serialization."""

import importlib.util
import math

import numpy as np
import pytest

import nhanh
from nhanh import config, initializers, ops
from nhanh.initializers import compute_fans
from nhanh.variables import Variable

to_numpy = ops.convert_to_numpy
TRUNC_STD = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]


def _draw(init, shape, dtype=None):
    out = init(shape, dtype=dtype)
    assert ops.is_tensor(out), "initializers return arrays of the current backend"
    assert ops.shape(out) == tuple(shape)
    assert ops.dtype(out) == (dtype or config.floatx())
    return to_numpy(out).astype("float64")


@pytest.mark.parametrize("shape, fans", [
    ((), (1, 1)), ((7,), (7, 7)), ((3, 5), (3, 5)),
    ((3, 3, 16, 32), (144, 288)), ((2, 3, 4, 5, 6), (120, 144)),
])
def test_compute_fans(shape, fans):
    assert compute_fans(shape) == fans


# Large kernels so the sample variance is within ~1% of the true one.
DENSE, CONV = (300, 700), (5, 5, 64, 128)


@pytest.mark.parametrize("shape", [DENSE, CONV])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_statistics(shape, mode, distribution):
    scale = 1.7
    fan_in, fan_out = compute_fans(shape)
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = scale / fan
    w = _draw(initializers.VarianceScaling(scale, mode, distribution, seed=5), shape)
    assert abs(w.mean()) < 0.02 * math.sqrt(variance)
    assert w.var() == pytest.approx(variance, rel=0.03)
    if distribution == "uniform":
        limit = math.sqrt(3 * variance)
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.999 * limit
    elif distribution == "truncated_normal":
        bound = 2 * math.sqrt(variance) / TRUNC_STD
        assert np.abs(w).max() <= bound * (1 + 1e-6) and np.abs(w).max() > 0.99 * bound
    else:
        assert np.abs(w).max() > 4 * math.sqrt(variance)  # tails are not cut


@pytest.mark.parametrize("cls, scale, mode, uniform", [
    (initializers.GlorotUniform, 1.0, "fan_avg", True),
    (initializers.GlorotNormal, 1.0, "fan_avg", False),
    (initializers.HeUniform, 2.0, "fan_in", True),
    (initializers.HeNormal, 2.0, "fan_in", False),
    (initializers.LecunUniform, 1.0, "fan_in", True),
    (initializers.LecunNormal, 1.0, "fan_in", False),
])
def test_presets(cls, scale, mode, uniform):
    fan_in, fan_out = 300, 700
    variance = scale / (fan_in if mode == "fan_in" else (fan_in + fan_out) / 2)
    w = _draw(cls(seed=3), (fan_in, fan_out))
    assert w.var() == pytest.approx(variance, rel=0.03)
    bound = math.sqrt(3 * variance) if uniform else 2 * math.sqrt(variance) / TRUNC_STD
    assert np.abs(w).max() <= bound * (1 + 1e-6) and np.abs(w).max() > 0.99 * bound
    assert cls(seed=3).get_config() == {"seed": 3, "input_axes": None, "output_axes": None}


def test_random_normal_uniform_truncated():
    w = _draw(initializers.RandomNormal(mean=1.5, stddev=0.3, seed=1), (400, 500))
    assert w.mean() == pytest.approx(1.5, abs=3e-3) and w.std() == pytest.approx(0.3, rel=0.01)
    w = _draw(initializers.RandomUniform(minval=-2.0, maxval=1.0, seed=1), (400, 500))
    assert w.min() >= -2.0 and w.max() <= 1.0
    assert w.mean() == pytest.approx(-0.5, abs=0.01) and w.var() == pytest.approx(0.75, rel=0.01)
    w = _draw(initializers.TruncatedNormal(mean=-1.0, stddev=0.5, seed=1), (400, 500))
    assert w.min() >= -2.0 - 1e-6 and w.max() <= 1e-6  # mean ± 2 stddev
    assert w.mean() == pytest.approx(-1.0, abs=3e-3)
    assert w.std() == pytest.approx(0.5 * TRUNC_STD, rel=0.01)


def test_keras_defaults():
    assert initializers.RandomNormal().get_config() == {"mean": 0.0, "stddev": 0.05, "seed": None}
    assert initializers.RandomUniform().get_config() == {
        "minval": -0.05, "maxval": 0.05, "seed": None}
    assert initializers.VarianceScaling().get_config() == {
        "scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal", "seed": None,
        "input_axes": None, "output_axes": None}
    assert initializers.Orthogonal().get_config() == {"gain": 1.0, "seed": None}
    assert initializers.Identity().get_config() == {"gain": 1.0}
    assert initializers.Constant().get_config() == {"value": 0.0}


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (3, 3, 2, 8)])
def test_orthogonal(shape):
    gain = 1.7
    w = _draw(initializers.Orthogonal(gain=gain, seed=4), shape).reshape(-1, shape[-1])
    small = min(w.shape)
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(small), atol=1e-5)
    with pytest.raises(ValueError, match="rank"):
        initializers.Orthogonal()((5,))


def test_identity_zeros_ones_constant():
    np.testing.assert_array_equal(_draw(initializers.Identity(gain=2.5), (2, 3)),
                                  2.5 * np.eye(2, 3))
    np.testing.assert_array_equal(_draw(initializers.IdentityInitializer(), (3, 3)), np.eye(3))
    with pytest.raises(ValueError, match="2D"):
        initializers.Identity()((2, 2, 2))
    np.testing.assert_array_equal(_draw(initializers.Zeros(), (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(_draw(initializers.Ones(), (4,)), np.ones(4))
    np.testing.assert_array_equal(_draw(initializers.Constant(0.25), (2, 2)), np.full((2, 2), 0.25))
    np.testing.assert_array_equal(_draw(initializers.Constant([1.0, 2.0]), (3, 2)),
                                  [[1, 2]] * 3)
    np.testing.assert_array_equal(_draw(initializers.Ones(), (3,), dtype="int32"), [1, 1, 1])
    np.testing.assert_array_equal(_draw(initializers.Constant(3), (2,), "float16"), [3, 3])


def test_seeds_repeat_and_differ():
    init = initializers.GlorotUniform(seed=11)
    a = _draw(init, (20, 30))
    np.testing.assert_array_equal(a, _draw(init, (20, 30)))  # an int seed repeats every call
    np.testing.assert_array_equal(a, _draw(initializers.GlorotUniform(seed=11), (20, 30)))
    assert not np.array_equal(a, _draw(initializers.GlorotUniform(seed=12), (20, 30)))
    unseeded = initializers.RandomNormal()
    first, second = _draw(unseeded, (50,)), _draw(unseeded, (50,))
    assert not np.array_equal(first, second)  # seed=None: fresh values each call
    nhanh.utils.set_random_seed(99)
    again = [_draw(unseeded, (50,)), _draw(unseeded, (50,))]
    nhanh.utils.set_random_seed(99)
    np.testing.assert_array_equal(again[0], _draw(unseeded, (50,)))
    np.testing.assert_array_equal(again[1], _draw(unseeded, (50,)))


CROSS_BACKEND = [
    initializers.GlorotUniform(seed=7), initializers.GlorotNormal(seed=7),
    initializers.HeNormal(seed=7), initializers.LecunUniform(seed=7),
    initializers.RandomNormal(0.1, 0.2, seed=7), initializers.RandomUniform(seed=7),
    initializers.TruncatedNormal(seed=7), initializers.Orthogonal(seed=7),
    initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=7),
    initializers.RandomNormal(),  # seed=None, drawn from set_random_seed's generator
]


@pytest.mark.engine_independent  # loops over the engines itself, or needs none
def test_same_seed_same_weights_on_jax_and_torch(backend):
    for engine in ("jax", "torch"):
        if importlib.util.find_spec(engine) is None:
            pytest.skip(f"{engine} is not installed")
    cases = [(init, dtype) for init in CROSS_BACKEND
             for dtype in ("float32", "float16", "bfloat16")]
    draws = {}
    try:
        for engine in ("jax", "torch"):
            config.set_backend(engine)
            assert config.backend() == engine
            nhanh.utils.set_random_seed(2024)
            draws[engine] = [_draw(init, (3, 3, 4, 6), dtype) for init, dtype in cases]
    finally:
        config.set_backend(backend)
    for case, a, b in zip(cases, draws["jax"], draws["torch"]):
        np.testing.assert_array_equal(a, b, err_msg=repr(case))


def test_works_as_variable_initializer():
    v = Variable(initializers.get("he_uniform"), shape=(8, 3))
    assert v.shape == (8, 3) and np.abs(v.numpy()).max() <= math.sqrt(6 / 8)


@pytest.mark.parametrize("name, cls", [
    ("glorot_uniform", initializers.GlorotUniform), ("glorot_normal", initializers.GlorotNormal),
    ("he_uniform", initializers.HeUniform), ("he_normal", initializers.HeNormal),
    ("lecun_uniform", initializers.LecunUniform), ("lecun_normal", initializers.LecunNormal),
    ("zeros", initializers.Zeros), ("ones", initializers.Ones),
    ("constant", initializers.Constant), ("identity", initializers.Identity),
    ("orthogonal", initializers.Orthogonal), ("random_normal", initializers.RandomNormal),
    ("random_uniform", initializers.RandomUniform),
    ("truncated_normal", initializers.TruncatedNormal),
    ("variance_scaling", initializers.VarianceScaling),
    ("GlorotUniform", initializers.GlorotUniform), ("IdentityInitializer", initializers.Identity),
    ("normal", initializers.RandomNormal), ("uniform", initializers.RandomUniform),
    ("zero", initializers.Zeros), ("one", initializers.Ones),
])
def test_get_by_name(name, cls):
    assert type(initializers.get(name)) is cls


def test_get_forms_and_serialize_round_trip():
    init = initializers.HeNormal(seed=1)
    assert initializers.get(init) is init
    assert type(initializers.get(initializers.Ones)) is initializers.Ones
    fn = lambda shape, dtype=None: ops.zeros(shape)  # noqa: E731
    assert initializers.get(fn) is fn
    assert initializers.get(None) is None
    made = initializers.get({"class_name": "RandomNormal",
                             "config": {"mean": 1.0, "stddev": 2.0, "seed": 3}})
    assert made.get_config() == {"mean": 1.0, "stddev": 2.0, "seed": 3}
    for original in CROSS_BACKEND + [initializers.Constant(0.5), initializers.Identity(3.0),
                                     initializers.VarianceScaling(0.5, "fan_avg", "uniform", 9)]:
        config_dict = initializers.serialize(original)
        assert config_dict["class_name"] == type(original).__name__
        copy = initializers.get(config_dict)
        assert type(copy) is type(original) and copy.get_config() == original.get_config()
        if original.get_config().get("seed", 0) is not None:
            np.testing.assert_array_equal(_draw(copy, (4, 5)), _draw(original, (4, 5)))


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="'glorot_uniform'"):
        initializers.get("glorot_unifrom")
    with pytest.raises(ValueError, match="'he_normal'"):
        initializers.get("HeNormall")
    with pytest.raises(ValueError, match="initializer"):
        initializers.get(3.5)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_sideways")
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=-1.0)
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="seed"):
        initializers.RandomNormal(seed="abc")
    with pytest.raises(ValueError, match="int32"):
        initializers.GlorotUniform()((2, 2), dtype="int32")
    with pytest.raises(ValueError, match="shape"):
        initializers.Zeros()((2, -1))
