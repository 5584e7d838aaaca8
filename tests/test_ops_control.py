"""Control flow, segment and scatter ops (nhanh.ops' control group) on every engine: values
against NumPy and plain Python loops, gradients against closed forms and finite differences,
the same results inside compiled (JAX) / captured (PyTorch) steps, and a custom layer that
uses them trained with fit."""

import logging

import numpy as np
import pytest

import nhanh
from nhanh import backend, layers, ops


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _grad(fn, *xs):
    """d fn(*xs) / d xs, through the engine's autodiff."""
    value_and_grad = backend.get().value_and_grad(lambda params: fn(*params))
    _, grads = value_and_grad([ops.convert_to_tensor(np.asarray(x, "float32")) for x in xs])
    return [_np(g) for g in grads]


def _numeric_grad(fn, x, eps=1e-3):
    x = np.asarray(x, "float64")
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        out[i] = (float(_np(fn(ops.convert_to_tensor(up.astype("float32"))))) -
                  float(_np(fn(ops.convert_to_tensor(down.astype("float32")))))) / (2 * eps)
    return out


def _compiled(fn):
    """fn run as the engine compiles a training step (jax.jit; PyTorch's captured graph)."""
    step = backend.get().compile_step(lambda state, *args: fn(*args))
    return lambda *args: step((), *[ops.convert_to_tensor(a) for a in args])


def _fallbacks(caplog) -> list:
    return [r for r in caplog.records if r.name == "nhanh" and "could not be captured"
            in r.getMessage()]


# --- cond / switch ---------------------------------------------------------------------------
def _branchy(w, x):
    """sum(w * x) if sum(x) > 0 else sum(w^2 * x)."""
    return ops.cond(ops.sum(x) > 0, lambda: ops.sum(w * x), lambda: ops.sum(w * w * x))


def test_cond_takes_one_branch_and_differentiates_through_it():
    w, x = np.array([1.0, 2.0], "float32"), np.array([3.0, -4.0], "float32")
    assert float(_np(_branchy(ops.convert_to_tensor(w), ops.convert_to_tensor(x)))) == \
        pytest.approx(np.sum(w * w * x))
    assert float(_np(_branchy(ops.convert_to_tensor(w), ops.convert_to_tensor(-x)))) == \
        pytest.approx(np.sum(-w * x))
    np.testing.assert_allclose(_grad(_branchy, w, x)[0], 2 * w * x, rtol=1e-6)
    np.testing.assert_allclose(_grad(_branchy, w, -x)[0], -x, rtol=1e-6)
    assert _np(ops.cond(False, lambda: ops.ones(2), lambda: ops.zeros(2))).tolist() == [0, 0]
    branches = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b]
    for index, expected in {-2: 5.0, 0: 5.0, 1: 1.0, 2: 6.0, 7: 6.0}.items():  # clamped
        got = ops.switch(ops.convert_to_tensor(index), branches, ops.convert_to_tensor(3.0), 2.0)
        assert float(_np(got)) == expected


def test_cond_and_switch_pick_each_branch_inside_a_compiled_step(caplog):
    """One compiled (captured) program serves both branches: the branch is picked at run time,
    not baked in when the step is traced, and the gradient is the taken branch's."""
    caplog.set_level(logging.WARNING, logger="nhanh")

    def loss_and_grad(w, x, i):
        value_and_grad = backend.get().value_and_grad(lambda p: _branchy(p[0], x) + ops.switch(
            i, [lambda v: ops.sum(v), lambda v: ops.sum(3.0 * v), lambda v: ops.sum(v * v)],
            p[0]))
        value, grads = value_and_grad([w])
        return value, grads[0]

    run = _compiled(loss_and_grad)
    w, x = np.array([1.0, 2.0], "float32"), np.array([3.0, -4.0], "float32")
    for sign in (1.0, -1.0):
        for index, (branch, branch_grad) in {-4: (w.sum(), 1.0), 1: (3 * w.sum(), 3.0),
                                             9: ((w * w).sum(), 2 * w)}.items():
            xs = sign * x
            value, grad = run(w, xs, np.int32(index))
            taken = (w * xs).sum() if xs.sum() > 0 else (w * w * xs).sum()
            taken_grad = xs if xs.sum() > 0 else 2 * w * xs
            assert float(_np(value)) == pytest.approx(taken + branch, rel=1e-6)
            np.testing.assert_allclose(_np(grad), taken_grad + branch_grad, rtol=1e-6)
    assert not _fallbacks(caplog)


# --- loops ------------------------------------------------------------------------------------
def test_while_loop_matches_a_python_loop_and_stops_at_maximum_iterations():
    def cond(i, total):
        return i < 6

    def body(i, total):
        return i + 1, total + i * i

    i, total = ops.while_loop(cond, body, (ops.convert_to_tensor(0),
                                           ops.convert_to_tensor(0)))
    assert (int(_np(i)), int(_np(total))) == (6, sum(k * k for k in range(6)))
    i, total = ops.while_loop(cond, body, (ops.convert_to_tensor(0), ops.convert_to_tensor(0)),
                              maximum_iterations=3)
    assert (int(_np(i)), int(_np(total))) == (3, 0 + 1 + 4)
    single = ops.while_loop(lambda v: ops.sum(v) < 100.0, lambda v: v * 2.0,
                            ops.convert_to_tensor([1.0, 2.0]))
    np.testing.assert_allclose(_np(single), [64.0, 128.0])  # sums 3, 6, ..., 96, 192


def test_while_loop_gradient_is_that_of_every_iteration():
    """y = w^3 x after three iterations: d/dw = 3 w^2 x, not the last iteration's w^2 x.
    (JAX differentiates a while_loop in reverse mode only with maximum_iterations.)"""
    def fn(w):
        _, y = ops.while_loop(lambda n, y: n < 3, lambda n, y: (n + 1, y * w),
                              (ops.convert_to_tensor(0), ops.convert_to_tensor([3.0, -4.0])),
                              maximum_iterations=10)
        return ops.sum(y)

    w = np.array([1.5, 2.0], "float32")
    np.testing.assert_allclose(_grad(fn, w)[0], 3 * w ** 2 * np.array([3.0, -4.0]), rtol=1e-5)


def test_while_loop_runs_inside_a_compiled_step():
    run = _compiled(lambda x: ops.while_loop(lambda v: ops.sum(v) < 50.0, lambda v: v * 3.0, x))
    np.testing.assert_allclose(_np(run(np.array([1.0, 1.0], "float32"))), [27.0, 27.0])
    np.testing.assert_allclose(_np(run(np.array([10.0, 10.0], "float32"))), [30.0, 30.0])


def test_map_and_vectorized_map_match_a_python_loop():
    xs = np.arange(12, dtype="float32").reshape(4, 3)
    out = ops.map(lambda x: {"square": x * x, "total": ops.sum(x)}, ops.convert_to_tensor(xs))
    np.testing.assert_allclose(_np(out["square"]), xs ** 2)
    np.testing.assert_allclose(_np(out["total"]), xs.sum(1))
    w = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]], "float32")
    expected = np.stack([np.outer(x, x).sum() + x @ w[:, 0] for x in xs])
    got = ops.vectorized_map(lambda x: ops.sum(x[:, None] * x[None, :]) + ops.matmul(x, w[:, 0]),
                             ops.convert_to_tensor(xs))
    np.testing.assert_allclose(_np(got), expected, rtol=1e-6)
    pairs = ops.vectorized_map(lambda e: e[0] * e[1],
                               [ops.convert_to_tensor(xs), ops.convert_to_tensor(xs + 1)])
    np.testing.assert_allclose(_np(pairs), xs * (xs + 1))


def test_map_gradient_matches_finite_differences():
    xs = np.array([[0.5, -1.0], [2.0, 0.3], [-0.7, 1.1]], "float32")

    def fn(x):
        return ops.sum(ops.map(lambda row: ops.sin(row) * ops.sum(row * row), x))

    np.testing.assert_allclose(_grad(fn, xs)[0], _numeric_grad(fn, xs), rtol=2e-3, atol=2e-3)


def _affine_scan(pairs, reverse=False):
    """Composition of affine maps x -> a x + b: not commutative, so a scan that swaps its
    operands gets it wrong. Reversed, the scan runs from the end with the accumulated later
    elements as the left operand (jax.lax.associative_scan's meaning)."""
    out, acc = [], None
    for a, b in (pairs[::-1] if reverse else pairs):
        acc = (a, b) if acc is None else (a * acc[0], a * acc[1] + b)
        out.append(acc)
    return out[::-1] if reverse else out


@pytest.mark.parametrize("n", [1, 2, 5, 8])
@pytest.mark.parametrize("reverse", [False, True])
def test_associative_scan_matches_a_sequential_scan(n, reverse):
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=(2, n, 3)).astype("float32")
    # elements along axis 1 of arrays of shape (3, n): f must keep the scanned axis in place
    compose = (lambda p, q: (q[0] * p[0], q[0] * p[1] + q[1]))
    got = ops.associative_scan(compose, (ops.convert_to_tensor(a.T), ops.convert_to_tensor(b.T)),
                               reverse=reverse, axis=1)
    expected = _affine_scan(list(zip(a, b)), reverse=reverse)
    np.testing.assert_allclose(_np(got[0]).T, [e[0] for e in expected], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(got[1]).T, [e[1] for e in expected], rtol=1e-5, atol=1e-6)
    sums = ops.associative_scan(lambda p, q: p + q, ops.convert_to_tensor(a), reverse=reverse)
    cumulative = np.cumsum(a[::-1], 0)[::-1] if reverse else np.cumsum(a, 0)
    np.testing.assert_allclose(_np(sums), cumulative, rtol=1e-5, atol=1e-6)


# --- custom_gradient ----------------------------------------------------------------------------
def test_custom_gradient_replaces_autodiff_in_each_keras_convention():
    """log(1 + e^x) with the stable gradient 1 - 1/(1 + e^x): autodiff of the naive formula
    gives NaN at x = 100, the custom one 1. Each grad_fn spelling Keras documents works."""
    def make(style):
        @ops.custom_gradient
        def log1pexp(x):
            e = ops.exp(x)

            def portable(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return upstream * (1.0 - 1.0 / (1.0 + e))

            def jax_style(upstream):
                return upstream * (1.0 - 1.0 / (1.0 + e))

            def torch_style(*args, upstream):
                return upstream * (1.0 - 1.0 / (1.0 + e))

            def any_name(dy):
                return dy * (1.0 - 1.0 / (1.0 + e))

            return ops.log(1.0 + e), {"portable": portable, "jax": jax_style,
                                      "torch": torch_style, "plain": any_name}[style]
        return log1pexp

    x = np.array([100.0, 0.0, -3.0], "float32")
    for style in ("portable", "jax", "torch", "plain"):
        fn = make(style)
        np.testing.assert_allclose(_np(fn(ops.convert_to_tensor(x[1:]))), np.log1p(np.exp(x[1:])),
                                   rtol=1e-6)
        np.testing.assert_allclose(_grad(lambda v: ops.sum(fn(v)), x)[0], 1 / (1 + np.exp(-x)),
                                   rtol=1e-6)


def test_custom_gradient_of_two_arguments_and_a_structured_output():
    @ops.custom_gradient
    def scaled(x, y):
        def grad(upstream):  # deliberately not the true gradient: 10x and -1
            return upstream[0] * 10.0, -upstream[1]
        return (x * y, y), grad

    x, y = np.array([1.0, 2.0], "float32"), np.array([3.0, 4.0], "float32")
    out = scaled(ops.convert_to_tensor(x), ops.convert_to_tensor(y))
    np.testing.assert_allclose(_np(out[0]), x * y)
    gx, gy = _grad(lambda a, b: ops.sum(scaled(a, b)[0]) + 2 * ops.sum(scaled(a, b)[1]), x, y)
    np.testing.assert_allclose(gx, [10.0, 10.0])
    np.testing.assert_allclose(gy, [-2.0, -2.0])


# --- segments, scatter, in_top_k, extract_sequences ---------------------------------------------
_SEGMENT_REFERENCES = {"segment_sum": (np.sum, 0.0), "segment_prod": (np.prod, 1.0),
                       "segment_max": (np.max, -np.inf), "segment_min": (np.min, np.inf)}


@pytest.mark.parametrize("name", sorted(_SEGMENT_REFERENCES))
def test_segment_reductions_match_numpy(name):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(7, 2)).astype("float32")
    ids = np.array([0, 3, 0, 1, 3, 9, -1], "int32")  # segment 2 empty; 9 and -1 dropped
    reduce, empty = _SEGMENT_REFERENCES[name]
    expected = np.stack([reduce(data[ids == s], 0) if (ids == s).any() else np.full(2, empty)
                         for s in range(4)])
    got = getattr(ops, name)(ops.convert_to_tensor(data), ops.convert_to_tensor(ids),
                             num_segments=4)
    np.testing.assert_allclose(_np(got), expected, rtol=1e-6)
    inferred = getattr(ops, name)(data[:5], ids[:5])  # num_segments = max id + 1 = 4
    np.testing.assert_allclose(_np(inferred)[[0, 1, 3]], expected[[0, 1, 3]], rtol=1e-6)
    ints = getattr(ops, name)(np.array([1, 2, 10, 20, 100, 200], "int32"),
                              np.array([0, 0, 1, 1, 2, 2], "int32"), num_segments=3)
    assert _np(ints).tolist() == {"segment_sum": [3, 30, 300], "segment_prod": [2, 200, 20000],
                                  "segment_max": [2, 20, 200], "segment_min": [1, 10, 100]}[name]


def test_segment_sum_with_2d_ids_inside_a_compiled_step_and_its_gradient():
    data = np.arange(12, dtype="float32").reshape(2, 3, 2)
    ids = np.array([[0, 1, 0], [2, 1, 0]], "int32")
    expected = np.stack([data.reshape(6, 2)[ids.reshape(-1) == s].sum(0) for s in range(3)])
    run = _compiled(lambda d, i: ops.segment_sum(d, i, num_segments=3))
    np.testing.assert_allclose(_np(run(data, ids)), expected)
    weights = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]], "float32")
    grad = _grad(lambda d: ops.sum(ops.segment_max(d, ops.convert_to_tensor(ids[0]), 2) *
                                   ops.convert_to_tensor(weights[:2])), data[0])[0]
    winners = np.zeros_like(data[0])  # the max row of each segment takes the weight
    for s in range(2):
        rows = np.where(ids[0] == s)[0]
        for c in range(2):
            winners[rows[np.argmax(data[0][rows, c])], c] = weights[s, c]
    np.testing.assert_allclose(grad, winners)


def test_scatter_adds_repeated_indices_and_scatter_update_reduces():
    got = ops.scatter(np.array([[0, 1], [1, 1], [1, 1]], "int32"),
                      np.array([1.0, 2.0, 3.0], "float32"), (2, 2))
    np.testing.assert_allclose(_np(got), [[0.0, 1.0], [0.0, 5.0]])
    rows = ops.scatter(np.array([[2], [0]], "int32"), np.ones((2, 3), "float32"), (3, 3))
    np.testing.assert_allclose(_np(rows), [[1, 1, 1], [0, 0, 0], [1, 1, 1]])
    inputs = np.array([[1.0, 5.0], [2.0, 6.0]], "float32")
    indices = np.array([[0, 1], [0, 1], [1, 0]], "int32")
    updates = np.array([7.0, 3.0, -1.0], "float32")
    for reduction, combine in {None: lambda old, new: new, "add": np.add, "max": np.maximum,
                               "min": np.minimum, "mul": np.multiply}.items():
        expected = inputs.copy()
        for (r, c), u in zip(indices, updates):
            expected[r, c] = combine(expected[r, c], u)
        got = ops.scatter_update(inputs, indices, updates, reduction=reduction)
        np.testing.assert_allclose(_np(got), expected, err_msg=str(reduction))
    row_update = ops.scatter_update(inputs, np.array([[-1]], "int32"),
                                    np.array([[9.0, 9.0]], "float32"))
    np.testing.assert_allclose(_np(row_update), [[1.0, 5.0], [9.0, 9.0]])
    from_the_end = ops.scatter_update(inputs, np.array([[-1, -2]], "int32"),
                                      np.array([4.0], "float32"), reduction="max")
    np.testing.assert_allclose(_np(from_the_end), [[1.0, 5.0], [4.0, 6.0]])
    with pytest.raises(ValueError, match="reduction"):
        ops.scatter_update(inputs, indices, updates, reduction="mean")


def test_in_top_k_counts_ties_for_the_target_and_never_nan():
    predictions = np.array([[0.1, 0.5, 0.5, 0.2], [0.4, 0.3, 0.2, 0.1], [np.nan, 0.3, 0.2, 0.1],
                            [0.1, 0.2, 0.3, 0.4]], "float32")
    targets = np.array([2, 2, 0, 1], "int32")
    np.testing.assert_array_equal(_np(ops.in_top_k(targets, predictions, 1)),
                                  [True, False, False, False])
    np.testing.assert_array_equal(_np(ops.in_top_k(targets, predictions, 3)),
                                  [True, True, False, True])


def test_extract_sequences_matches_numpy_frames():
    x = np.arange(2 * 11, dtype="float32").reshape(2, 11)
    got = _np(ops.extract_sequences(x, 4, 3))
    expected = np.stack([x[:, s:s + 4] for s in range(0, 11 - 4 + 1, 3)], axis=1)
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="sequence_length"):
        ops.extract_sequences(x, 12, 1)


# --- in a model ---------------------------------------------------------------------------------
class ClippedScale(layers.Layer):
    """y = x * scale where sum(x) > 0, else x * scale^2 (cond, per sample through map),
    with a straight-through custom gradient on a rounding of the output."""

    def build(self, input_shape):
        self.scale = self.add_weight((input_shape[-1],), initializer="ones")

    def call(self, inputs):
        scale = ops.convert_to_tensor(self.scale)  # branches close over tensors, not Variables

        @ops.custom_gradient
        def rounded(v):
            return ops.round(v * 100.0) / 100.0, lambda upstream: upstream

        def per_sample(x):
            return ops.cond(ops.sum(x) > 0, lambda: x * scale, lambda: x * scale * scale)

        return rounded(ops.map(per_sample, inputs))


def test_a_layer_with_cond_map_and_custom_gradient_trains_with_fit(caplog):
    caplog.set_level(logging.WARNING, logger="nhanh")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    target = np.array([2.0, 0.5, 1.5], "float32")
    y = np.where(x.sum(1, keepdims=True) > 0, x * target, x * target ** 2).astype("float32")
    nhanh.utils.set_random_seed(0)
    model = nhanh.Sequential([layers.Input((3,)), ClippedScale()])
    model.compile(optimizer=nhanh.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=30, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.05 * losses[0]
    np.testing.assert_allclose(model.get_weights()[0], target, atol=0.1)
    assert not _fallbacks(caplog)  # PyTorch: the step stayed one captured graph


def test_unique_matches_numpy_and_pads_to_size():
    x = np.array([[3, 1], [2, 1], [3, 1], [0, 5]], "int32")
    for axis in (None, 0):
        got = ops.unique(x, return_index=True, return_inverse=True, return_counts=True,
                         axis=axis)
        expected = np.unique(x, return_index=True, return_inverse=True, return_counts=True,
                             axis=axis)
        for g, e in zip(got, expected):
            assert _np(g).shape == e.shape, axis
            np.testing.assert_array_equal(_np(g), e, err_msg=str(axis))
    np.testing.assert_array_equal(_np(ops.unique(np.array([3, 1, 2, 1], "int32"))), [1, 2, 3])
    values, index, counts = ops.unique(np.array([3, 1, 2, 1], "int32"), size=5,
                                       return_index=True, return_counts=True)
    assert (_np(values).tolist(), _np(index).tolist(), _np(counts).tolist()) == (
        [1, 2, 3, 0, 0], [1, 2, 0, 0, 0], [2, 1, 1, 0, 0])
    run = _compiled(lambda v: ops.unique(v, size=2, fill_value=-1))
    np.testing.assert_array_equal(_np(run(np.array([3, 1, 2, 1], "int32"))), [1, 2])
    np.testing.assert_array_equal(_np(run(np.array([3, 3, 3, 3], "int32"))), [3, -1])


def test_rearrange_splits_merges_and_reorders_axes_as_numpy_does():
    x = np.arange(2 * 6 * 5, dtype="float32").reshape(2, 6, 5)
    np.testing.assert_array_equal(_np(ops.rearrange(x, "b (h w) c -> b h w c", h=2)),
                                  x.reshape(2, 2, 3, 5))
    np.testing.assert_array_equal(_np(ops.rearrange(x, "b (h w) c -> c (b w) h", w=3)),
                                  x.reshape(2, 2, 3, 5).transpose(3, 0, 2, 1).reshape(5, 6, 2))
    np.testing.assert_array_equal(_np(ops.rearrange(x, "b n c -> (c b) n")),
                                  x.transpose(2, 0, 1).reshape(10, 6))
    with pytest.raises(ValueError, match="all but one"):
        ops.rearrange(x, "b (h w) c -> b h w c")
    with pytest.raises(ValueError, match="exactly once"):
        ops.rearrange(x, "b n c -> b n")
