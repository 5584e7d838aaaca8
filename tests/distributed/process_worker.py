"""One process of a multi-process run (tests/test_distribution.py starts several on
127.0.0.1). Usage: process_worker.py ENGINE RANK WORLD PORT OUT_DIR [first]
('first': only the first case, DataParallel).

Every process joins through nhanh.distribution.initialize (JAX: jax.distributed with gloo
CPU collectives; PyTorch: torch.distributed on gloo), trains under DataParallel, then trains
the same model with the same seed and global batch without a distribution, and checks that
what a user sees is the same. Each passed case prints 'PASSED <name>'; a failure raises.
"""

import os
import sys

ENGINE, RANK, WORLD, PORT, OUT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4], sys.argv[5]
ONLY_FIRST = len(sys.argv) > 6 and sys.argv[6] == "first"  # the DataParallel case alone
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
if ONLY_FIRST:
    sys.exit(0)

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
    # In a step split over processes, random layers draw a stream of their own on each
    # process (the same masks on every process's rows would correlate them); elsewhere every
    # process draws what one device draws.
    import torch
    import torch.distributed as torch_dist

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

if ENGINE == "torch":  # splitting variables over processes needs DTensor: not done yet
    mesh = D.DeviceMesh((1, WORLD), ("batch", "model"), devices)
    layout_map = D.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    D.set_distribution(D.ModelParallel(layout_map=layout_map))
    try:
        mlp()
        raise AssertionError("ModelParallel on PyTorch should have said it is not supported")
    except NotImplementedError as e:
        assert "DTensor" in str(e)
    D.set_distribution(None)
    passed("model_parallel_refused")

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
