"""The CUDA paths, on a machine with an NVIDIA GPU (each engine's own test of it: PyTorch's
CUDA build, JAX's CUDA plugin). Elsewhere every test here is skipped, saying so: CI and this
project's development machine have no GPU. `bash benchmarks/gpu.sh` runs this file first.

Each checks numbers against an independent reference computed on the host in float64 (NumPy),
and that the work really ran on the GPU:
- training captured on CUDA (PyTorch: the recorded graph replays; JAX: the fused loop);
- batches copied through page-locked memory without waiting (the host array may change the
  moment the call returns);
- data larger than the share of free device memory nhanh keeps for data (streamed batch by
  batch), against the same fit with the data resident;
- fused attention (PyTorch's scaled_dot_product_attention kernels, JAX's) in half precision;
- mixed precision training (bfloat16, and float16 with loss scaling).
"""

import numpy as np
import pytest

import nhanh
from nhanh import layers, ops


def _gpu_or_skip(backend: str) -> None:
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return
    else:
        import jax

        if jax.devices()[0].platform == "gpu":
            return
    pytest.skip(f"no GPU for {backend} on this machine (run on one: bash benchmarks/gpu.sh)")


def _on_gpu(value) -> bool:
    device = getattr(value, "device", None)
    if device is not None and hasattr(device, "type"):  # a torch tensor
        return device.type == "cuda"
    return all(d.platform == "gpu" for d in value.devices())  # a jax.Array


def _sgd_reference(x, y, w, b, lr, batch, epochs):
    """Plain minibatch SGD on mean squared error, in float64, batches in order."""
    w, b = w.astype(np.float64), b.astype(np.float64)
    for _ in range(epochs):
        for i in range(0, len(x), batch):
            xb, yb = x[i:i + batch].astype(np.float64), y[i:i + batch].astype(np.float64)
            err = xb @ w + b - yb
            w = w - lr * 2 * xb.T @ err / err.size
            b = b - lr * 2 * err.sum(0) / err.size
    return w, b


def _linear(w, b):
    model = nhanh.Sequential([nhanh.Input((w.shape[0],)), layers.Dense(w.shape[1])])
    model.set_weights([w, b])
    model.compile(optimizer=nhanh.optimizers.SGD(learning_rate=0.05), loss="mse")
    return model


def test_training_runs_captured_on_the_gpu(backend):
    _gpu_or_skip(backend)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(256, 8)).astype("float32"), rng.normal(size=(256, 3)).astype("float32")
    w, b = rng.normal(size=(8, 3)).astype("float32") * 0.1, np.zeros(3, "float32")
    model = _linear(w, b)
    model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    assert _on_gpu(model.layers[0].kernel.value)
    steps = model._steps
    assert steps.mode != "eager" and sum(steps.trace_counts.values()) <= 2, steps.trace_counts
    ref_w, ref_b = _sgd_reference(x, y, w, b, 0.05, 32, 3)
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), ref_w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.layers[0].bias.numpy(), ref_b, rtol=1e-4, atol=1e-5)


@pytest.mark.engines("torch")
def test_pinned_copies_do_not_wait_and_keep_the_values(backend):
    _gpu_or_skip(backend)
    import torch

    arrays = [np.full((1 << 20,), i, "float32") for i in range(8)]
    tensors = [ops.convert_to_tensor(a) for a in arrays]
    for a in arrays:  # the host arrays change at once; the copies must not
        a += 100.0
    torch.cuda.synchronize()
    assert all(t.device.type == "cuda" for t in tensors)
    for i, t in enumerate(tensors):
        assert float(t.min()) == float(t.max()) == float(i)


def test_data_larger_than_free_device_memory_streams(backend, monkeypatch):
    """With the device's free memory reported as 1 MiB, the 4 MiB of data cannot stay on the
    device: fit streams it batch by batch, and gives what the resident fit gives."""
    _gpu_or_skip(backend)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8192, 128)).astype("float32")
    y = rng.normal(size=(8192, 4)).astype("float32")
    w, b = rng.normal(size=(128, 4)).astype("float32") * 0.05, np.zeros(4, "float32")
    resident = _linear(w, b)
    resident.fit(x, y, batch_size=256, epochs=2, shuffle=False, verbose=0)
    engine = nhanh.backend.get()
    monkeypatch.setattr(engine, "device_memory_free", lambda: 1 << 20)
    from nhanh.training.data import ArrayData

    assert not ArrayData(x, y).fits_on_device()
    streamed = _linear(w, b)
    history = streamed.fit(x, y, batch_size=256, epochs=2, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    for a, c in zip(resident.get_weights(), streamed.get_weights()):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("is_causal", [False, True])
def test_fused_attention_in_half_precision(backend, dtype, is_causal):
    _gpu_or_skip(backend)
    rng = np.random.default_rng(2)
    q, k, v = (rng.normal(size=(2, 128, 4, 64)).astype("float32") for _ in range(3))
    out = ops.dot_product_attention(*(ops.cast(ops.convert_to_tensor(a), dtype)
                                      for a in (q, k, v)), is_causal=is_causal)
    assert _on_gpu(out)
    logits = np.einsum("btnh,bsnh->bnts", q.astype(np.float64), k) / np.sqrt(64)
    if is_causal:
        logits = np.where(np.tril(np.ones((128, 128), bool)), logits, -np.inf)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    expected = np.einsum("bnts,bsnh->btnh", weights, v)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.cast(out, "float32")), expected,
                               atol=3e-2 if dtype == "bfloat16" else 5e-3)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_training_on_the_gpu(backend, policy):
    """A classifier trained under the policy ends near the float32 run's loss; the weights
    stay float32 and on the GPU (float16 trains through compile's LossScaleOptimizer)."""
    _gpu_or_skip(backend)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2048, 32)).astype("float32")
    y = (x[:, :4].sum(1) > 0).astype("int32")

    def train(name):
        nhanh.mixed_precision.set_global_policy(name)
        try:
            nhanh.utils.set_random_seed(5)
            model = nhanh.Sequential([nhanh.Input((32,)), layers.Dense(64, activation="relu"),
                                      layers.Dense(2, activation="softmax", dtype="float32")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            loss = model.fit(x, y, batch_size=128, epochs=3, verbose=0).history["loss"][-1]
        finally:
            nhanh.mixed_precision.set_global_policy("float32")
        return model, loss

    full_model, full = train("float32")
    model, mixed = train(policy)
    assert model.layers[0].kernel.dtype == "float32" and _on_gpu(model.layers[0].kernel.value)
    assert ops.dtype(model.layers[0](ops.convert_to_tensor(x[:4]))) == policy.split("_")[1]
    assert abs(mixed - full) < 0.05 * full + 0.01, (mixed, full)
