"""nhanh.distribution: Keras's API (checked against Keras 3's own classes), Keras's variable
paths, and training on several devices and processes compared with one device.

The multi-device runs need settings made before an engine starts, so they run in
subprocesses: JAX over 8 host devices (tests/distributed/jax_mesh_cases.py), and 2 or 4
processes joined on 127.0.0.1 (tests/distributed/process_worker.py): JAX through
jax.distributed, PyTorch through torch.distributed on gloo.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402

import nhanh  # noqa: E402
from nhanh import distribution as D  # noqa: E402
from nhanh import layers  # noqa: E402

HERE = Path(__file__).parent / "distributed"
ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def no_distribution():
    yield
    D.set_distribution(None)


# --- the API, on this process's one device ----------------------------------------------------
@pytest.mark.engine_independent
def test_layout_map_looks_up_as_keras_does():
    ours = D.LayoutMap(D.DeviceMesh((1,), ("model",)))
    theirs = keras.distribution.LayoutMap(keras.distribution.DeviceMesh(
        (1,), ("model",), keras.distribution.list_devices()[:1]))
    for layout_map in (ours, theirs):
        layout_map[".*dense.*kernel"] = (None, "model")
        layout_map[".*dense.*bias"] = ("model",)
        layout_map["conv/kernel"] = (None, None, None, "model")
    for path in ("dense_1/kernel", "sequential/dense_2/bias", "conv/kernel", "conv/bias",
                 "my_model/dense/kernel_1"):
        a, b = ours[path], theirs[path]
        assert (a is None) == (b is None), path
        if a is not None:
            assert a.axes == b.axes and a.device_mesh is not None
    for layout_map in (ours, theirs):
        layout_map[".*kernel"] = ("model", None)
        with pytest.raises(ValueError, match="matches"):
            layout_map["dense_1/kernel"]
        with pytest.raises(ValueError):
            layout_map["conv/kernel"] = ("model",)  # a key is set once
    assert len(ours) == len(theirs) == 4 and list(ours) == list(theirs)


@pytest.mark.engine_independent
def test_mesh_layout_and_distribution_arguments():
    mesh = D.DeviceMesh((1,), ("batch",))
    assert mesh.shape == (1,) and mesh.axis_names == ("batch",)
    assert mesh.devices.tolist() == [D.list_devices()[0]]
    with pytest.raises(ValueError, match="needs 2 devices"):
        D.DeviceMesh((2,), ("batch",), D.list_devices()[:1])
    with pytest.raises(ValueError, match="names 1"):
        D.DeviceMesh((1, 1), ("batch",))
    with pytest.raises(ValueError, match="unknown device"):
        D.DeviceMesh((1,), ("batch",), ["tpu:7"])
    with pytest.raises(ValueError, match="not in the mesh's axis names"):
        D.TensorLayout(("model",), mesh)
    with pytest.raises(ValueError, match="must be a LayoutMap"):
        D.ModelParallel(layout_map={"a": ("batch",)})
    with pytest.raises(ValueError, match="not an axis"):
        D.ModelParallel(layout_map=D.LayoutMap(mesh), batch_dim_name="data")
    with pytest.raises(ValueError, match="not both"):
        D.DataParallel(device_mesh=mesh, devices=D.list_devices())
    with pytest.raises(ValueError, match="device_type"):
        D.list_devices("npu")
    with pytest.raises(ValueError, match="process_id"):
        D.initialize("127.0.0.1:1", num_processes=2, process_id=2)
    with pytest.raises(ValueError, match="expected a Distribution"):
        D.set_distribution("data_parallel")
    data_parallel = D.DataParallel()
    assert data_parallel.batch_dim_name == "batch" and data_parallel.num_model_replicas == 1
    assert data_parallel.num_processes == 1 and data_parallel.data_shard_id == 0
    assert data_parallel.get_data_layout((8, 3)).axes == ("batch", None)
    assert D.distribution() is None
    with data_parallel.scope():
        assert D.distribution() is data_parallel
    assert D.distribution() is None
    assert D.get_device_count() == len(D.list_devices())


def test_one_device_distribution_trains_as_without(np_rng):
    # The whole machinery on a one-device mesh: the same numbers as no distribution.
    x = np_rng.normal(size=(40, 3)).astype("float32")
    y = np_rng.normal(size=(40, 2)).astype("float32")

    def run(dist):
        nhanh.utils.set_random_seed(1)
        D.set_distribution(dist)
        model = nhanh.Sequential([nhanh.Input((3,)), layers.Dense(4), layers.Dense(2)])
        model.compile(optimizer="adam", loss="mse")
        loss = model.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"]
        return loss, model.predict(x, verbose=0)

    (loss_a, pred_a), (loss_b, pred_b) = run(None), run(D.DataParallel())
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-6)
    np.testing.assert_allclose(pred_a, pred_b, rtol=1e-6, atol=1e-7)


@pytest.mark.engine_independent
def test_variable_paths_are_keras_paths():
    """LayoutMap keys match these paths, so they must be the ones Keras gives."""
    def paths(lib):
        class Sub(lib.Model):
            def __init__(self):
                super().__init__(name="sub")
                self.first, self.second = lib.layers.Dense(2), lib.layers.Dense(3)

            def call(self, x):
                return self.second(self.first(x))

        lib.utils.clear_session()
        sub = Sub()
        sub(np.zeros((1, 4), "float32"))
        inner = lib.Sequential([lib.layers.Dense(3)], name="inner")
        inputs = lib.Input((4,))
        functional = lib.Model(inputs, lib.layers.Dense(2, name="head")(inner(inputs)))
        seq = lib.Sequential([lib.Input((5, 4)), lib.layers.LSTM(2),
                              lib.layers.BatchNormalization()], name="seq")
        return [v.path for m in (sub, functional, seq) for v in m.weights
                if "seed" not in v.path]

    assert paths(nhanh) == paths(keras)


# --- several devices and processes (subprocesses) ---------------------------------------------
def _run(args, env=None, timeout=300):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.mark.engine_independent
def test_jax_over_eight_host_devices():
    done = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
                 "addopts=", str(HERE / "jax_mesh_cases.py")],
                env={"XLA_FLAGS": "--xla_force_host_platform_device_count=8",
                     "NHANH_TEST_BACKENDS": "jax"})
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes(engine: str, world: int, tmp_path, *options: str) -> list[str]:
    """Start `world` workers joined on 127.0.0.1; each one's output."""
    port = str(_free_port())
    workers = [subprocess.Popen([sys.executable, str(HERE / "process_worker.py"), engine,
                                 str(rank), str(world), port, str(tmp_path), *options],
                                cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for rank in range(world)]
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=300)[0])
    finally:
        for worker in workers:
            worker.kill()
    for rank, (worker, output) in enumerate(zip(workers, outputs)):
        assert worker.returncode == 0, f"process {rank}:\n{output[-5000:]}"
    return outputs


@pytest.mark.engines("jax")
def test_jax_two_processes(tmp_path):
    for output in _processes("jax", 2, tmp_path):
        assert output.count("PASSED") == 4, output


@pytest.mark.engines("torch")
def test_torch_two_processes(tmp_path):
    for output in _processes("torch", 2, tmp_path):
        assert output.count("PASSED") == 6, output


@pytest.mark.engines("torch")
def test_torch_four_processes(tmp_path):
    for output in _processes("torch", 4, tmp_path, "parallel"):
        assert output.count("PASSED") == 2, output


@pytest.mark.engines("torch")
def test_torch_mesh_needs_a_process_per_device():
    with pytest.raises(ValueError, match="torchrun --nproc-per-node"):
        D.DataParallel(devices=["cpu:0", "cpu:1"])
