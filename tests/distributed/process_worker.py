"""One process of a multi-process run (tests/test_distribution.py starts several on
127.0.0.1). Usage: process_worker.py ENGINE RANK WORLD PORT OUT_DIR [parallel]
('parallel': only the DataParallel and ModelParallel cases).

Every process joins through nhanh.distribution.initialize (JAX: jax.distributed with gloo
CPU collectives; PyTorch: torch.distributed on gloo), trains under DataParallel, then trains
the same model with the same seed and global batch without a distribution, and checks that
what a user sees is the same. Each passed case prints 'PASSED <name>'; a failure raises.
"""

import os
import sys

ENGINE, RANK, WORLD, PORT, OUT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4], sys.argv[5]
ALL_CASES = len(sys.argv) < 7 or sys.argv[6] != "parallel"
if ENGINE == "jax":  # two host devices per process: a mesh that spans processes and devices
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"

import numpy as np  # noqa: E402

import nhanh  # noqa: E402
from nhanh import distribution as D  # noqa: E402
from nhanh import layers  # noqa: E402

nhanh.config.set_backend(ENGINE)
D.initialize(f"127.0.0.1:{PORT}", WORLD, RANK)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(100, 6)).astype("float32")
Y = RNG.normal(size=(100, 4)).astype("float32")


def mlp():
    model = nhanh.Sequential([nhanh.Input((6,)), layers.Dense(16, activation="relu"),
                              layers.BatchNormalization(), layers.Dense(4)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def train(dist, callbacks=(), batch_size=16):
    nhanh.utils.set_random_seed(3)
    D.set_distribution(dist)
    model = mlp()
    history = model.fit(X, Y, batch_size=batch_size, epochs=2, verbose=0,
                        callbacks=list(callbacks))
    out = (model, history.history, model.predict(X, batch_size=batch_size, verbose=0),
           model.evaluate(X, Y, batch_size=batch_size, verbose=0))
    D.set_distribution(None)
    return out


def assert_same(a, b):
    assert a[1].keys() == b[1].keys()
    for key in a[1]:
        np.testing.assert_allclose(a[1][key], b[1][key], rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(a[3], b[3], rtol=1e-5, atol=2e-6)
    for wa, wb in zip(a[0].get_weights(), b[0].get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=2e-6)
    # The metrics' accumulators (after evaluate: its totals and sample counts) as well.
    for va, vb in zip(*([v.numpy() for m in r[0].metrics for v in m.variables] for r in (a, b))):
        np.testing.assert_allclose(va, vb, rtol=1e-5, atol=2e-6)


def passed(name):
    print(f"PASSED {name}", flush=True)


devices = D.list_devices()
assert len(devices) == WORLD * (2 if ENGINE == "jax" else 1), devices
assert D.DataParallel().num_processes == WORLD

# DataParallel: the same numbers as one device on the same global batches (100 rows in
# batches of 16: the last, 4 rows, splits only where it divides), batch norm included.
single = train(None)
spread = train(D.DataParallel())
assert_same(single, spread)
passed("data_parallel")

if ALL_CASES:
    # Only process 0 writes checkpoints and logs; every process can read them back.
    folder = os.path.join(OUT, "run")
    checkpoint = nhanh.callbacks.ModelCheckpoint(os.path.join(folder, "model.keras"))
    log = nhanh.callbacks.CSVLogger(os.path.join(folder, "log.csv"))
    backup = nhanh.callbacks.BackupAndRestore(os.path.join(folder, "backup"),
                                              delete_checkpoint=False)
    os.makedirs(folder, exist_ok=True)
    model = train(D.DataParallel(), callbacks=[checkpoint, log, backup])[0]
    D.set_distribution(None)
    if RANK == 0:
        written = sorted(os.listdir(folder))
        assert written == ["backup", "log.csv", "model.keras"], written
        reloaded = nhanh.models.load_model(os.path.join(folder, "model.keras"))
        for a, b in zip(model.get_weights(), reloaded.get_weights()):
            np.testing.assert_array_equal(a, b)
        with open(os.path.join(folder, "log.csv")) as f:
            assert len(f.read().strip().splitlines()) == 3  # the header and two epochs
    passed("process_zero_writes")

    # auto_shard_dataset=False: each process passes its own rows, and global batch i is every
    # process's batch i side by side (checked against one device on those global batches).
    share = 16 // WORLD
    rows = np.concatenate([np.arange(b * 16 + RANK * share, b * 16 + (RANK + 1) * share)
                           for b in range(6)])
    nhanh.utils.set_random_seed(3)
    alone = mlp()
    alone_loss = alone.fit(X[:96], Y[:96], batch_size=16, epochs=2, shuffle=False,
                           verbose=0).history["loss"]
    nhanh.utils.set_random_seed(3)
    D.set_distribution(D.DataParallel(auto_shard_dataset=False))
    own = mlp()
    own_loss = own.fit(X[rows], Y[rows], batch_size=share, epochs=2, shuffle=False,
                       verbose=0).history["loss"]
    D.set_distribution(None)
    np.testing.assert_allclose(own_loss, alone_loss, rtol=1e-5)
    for a, b in zip(alone.get_weights(), own.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)
    passed("process_local_data")

if ENGINE == "torch":
    import torch
    import torch.distributed as torch_dist

if ENGINE == "torch" and ALL_CASES:
    # In a step split over processes, random layers draw a stream of their own on each
    # process (the same masks on every process's rows would correlate them); elsewhere every
    # process draws what one device draws.
    from nhanh.backend.torch import distribution as engine

    def draws(split):
        engine.begin_step(split)
        values = nhanh.random.uniform((6,), seed=nhanh.random.SeedGenerator(7))
        engine.begin_step(False)
        gathered = [torch.empty_like(values) for _ in range(WORLD)]
        torch_dist.all_gather(gathered, values)
        return [g.numpy() for g in gathered]

    split, plain = draws(True), draws(False)
    assert not np.allclose(split[0], split[1]) and np.array_equal(split[0], plain[0])
    assert all(np.array_equal(plain[0], p) for p in plain)
    passed("random_streams")

    # The gradients' all-reduce overlaps the backward pass: in a recorded step the first
    # bucket's all-reduce starts before backward's last matrix product (the first layer's
    # weight gradient), and the result is the mean of every process's gradients.
    from nhanh.backend.torch import core, recording

    gen = torch.Generator().manual_seed(RANK)
    x = torch.randn(8, 6, generator=gen)
    weights = [torch.randn(6, 512), torch.randn(512, 512), torch.randn(512, 4)]

    def loss(params):
        a, b, c = params
        return (torch.relu(torch.relu(x @ a) @ b) @ c).square().mean()

    def step(*params):
        engine.begin_step(True)
        _, grads = core.value_and_grad(loss)(list(params))
        out = engine.reduce_gradients(grads)
        engine.begin_step(False)
        return out

    graph, reduced = recording.record(step, weights)
    order = [str(node.target) for node in graph.graph.nodes]
    reduces = [i for i, t in enumerate(order) if "all_reduce" in t]
    products = [i for i, t in enumerate(order) if t.startswith("aten.mm")]
    assert len(reduces) == 2 and reduces[0] < products[-1], order
    local = core.value_and_grad(loss)(weights)[1]
    for mine, mean in zip(local, reduced):
        every = [torch.empty_like(mine) for _ in range(WORLD)]
        torch_dist.all_gather(every, mine)
        torch.testing.assert_close(mean, sum(every) / WORLD)
    passed("gradients_reduced_during_backward")

if ENGINE == "torch":
    # ModelParallel over processes: the kernels' columns and the biases split over the model
    # axis (DTensor shards), the batch rows over the batch axis ((1, 2) for 2 processes: every process
    # computes every row; (2, 2) for 4). Adam's slots are split like their kernels.
    mesh = D.DeviceMesh((WORLD // 2, 2), ("batch", "model"), devices)
    layout_map = D.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    layout_map[".*dense.*bias"] = ("model",)
    sharded = train(D.ModelParallel(layout_map=layout_map))
    assert_same(single, sharded)
    from torch.distributed.tensor import DTensor

    model = sharded[0]
    kernel = model.get_layer(index=0).kernel
    assert isinstance(kernel._value, DTensor) and kernel.shape == (6, 16)
    assert tuple(kernel._value.to_local().shape) == (6, 8)
    slots = [v for v in model.optimizer.variables if v.shape == (6, 16)]
    assert len(slots) == 2 and all(tuple(v._value.to_local().shape) == (6, 8) for v in slots)
    bias = model.get_layer(index=0).bias
    assert tuple(bias._value.to_local().shape) == (8,)
    assert not isinstance(model.get_layer(index=1).gamma._value, DTensor)  # (no layout)
    # A sharded model saves to an ordinary .keras file that loads under the layout (each
    # process reads its shards) and on one device.
    path = os.path.join(OUT, "sharded.keras")
    D.set_distribution(D.ModelParallel(layout_map=layout_map))
    model.save(path)
    torch_dist.barrier()
    again = nhanh.models.load_model(path)
    assert isinstance(again.get_layer(index=0).kernel._value, DTensor)
    np.testing.assert_allclose(again.predict(X, verbose=0), sharded[2], rtol=1e-5, atol=2e-6)
    D.set_distribution(None)
    alone = nhanh.models.load_model(path)
    for a, b in zip(alone.get_weights(), single[0].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)
    # Variables start from process 0's values, whatever each process's own seed would give.
    nhanh.utils.set_random_seed(100)
    expected = mlp().get_weights()
    nhanh.utils.set_random_seed(100 + RANK)
    D.set_distribution(D.ModelParallel(layout_map=layout_map))
    for a, b in zip(mlp().get_weights(), expected):
        np.testing.assert_array_equal(a, b)
    D.set_distribution(None)
    # A model built before the distribution was set is split when its steps are made.
    nhanh.utils.set_random_seed(3)
    early = mlp()
    D.set_distribution(D.ModelParallel(layout_map=layout_map))
    history = early.fit(X, Y, batch_size=16, epochs=2, verbose=0).history
    assert isinstance(early.get_layer(index=0).kernel._value, DTensor)
    D.set_distribution(None)
    np.testing.assert_allclose(history["loss"], single[1]["loss"], rtol=1e-5)
    for a, b in zip(early.get_weights(), single[0].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)
    passed("model_parallel")

if ENGINE == "jax":
    # A mesh of 2 processes x 2 devices: the kernels' columns split over the devices of
    # each process, rows of each batch over the processes. Predictions and weights that
    # span processes are gathered for the host.
    mesh = D.DeviceMesh((WORLD, 2), ("batch", "model"), devices)
    layout_map = D.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    sharded = train(D.ModelParallel(layout_map=layout_map))
    assert_same(single, sharded)
    kernel = sharded[0].get_layer(index=0).kernel
    assert not kernel._value.is_fully_addressable
    assert {tuple(s.data.shape) for s in kernel._value.addressable_shards} == {(6, 8)}
    passed("model_parallel")
