"""BackupAndRestore: a run interrupted mid-epoch and started again ends with the weights, the
optimizer state and the History of a run never interrupted.

The main test kills a training process with SIGKILL in the middle of an epoch and runs the
same script again, in subprocesses; the reference is the same script with no callbacks (so
fit runs its fused loop there, step by step in the others). In-process tests cover the other
ways in: a resume on the fused loop mid-epoch, epochs shorter than the data, a backup write
that fails half-way, a corrupt latest backup with double_checkpoint, and the arguments.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nhanh
from nhanh.callbacks import BackupAndRestore, Callback

SCRIPT = textwrap.dedent('''
    import json, os, signal, sys
    import numpy as np
    import nhanh
    from nhanh.callbacks import BackupAndRestore

    mode, out, backup = sys.argv[1:4]
    nhanh.utils.set_random_seed(7)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [2.0], [-1.0]], "float32")
    model = nhanh.Sequential([nhanh.Input((3,)), nhanh.layers.Dense(4, activation="tanh"),
                              nhanh.layers.Dense(1)])
    model.compile(nhanh.optimizers.Adam(0.01), "mse", metrics=["mae"])

    class KillMidEpoch(nhanh.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == (1, 4) and mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no exception: gone

    callbacks = [] if mode == "plain" else [BackupAndRestore(backup, save_freq=3),
                                            KillMidEpoch()]
    history = model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=callbacks)
    np.savez(out + ".npz", *model.get_weights(),
             *[v.numpy() for v in model.optimizer.variables])
    with open(out + ".json", "w") as f:
        json.dump({"history": history.history, "epoch": history.epoch}, f)
''')


def start_script(tmp_path, backend, mode, name):
    env = {**os.environ, "NHANH_BACKEND": backend}
    return subprocess.Popen([sys.executable, str(tmp_path / "train.py"), mode,
                             str(tmp_path / name), str(tmp_path / "backup")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process):
    _, err = process.communicate(timeout=120)
    return process.returncode, err


def results(path):
    with open(f"{path}.json") as f:
        logged = json.load(f)
    with np.load(f"{path}.npz") as arrays:
        return [arrays[k] for k in sorted(arrays.files, key=lambda k: int(k.split("_")[1]))], \
            logged


def assert_same_run(got, want):
    (got_vars, got_logs), (want_vars, want_logs) = got, want
    assert got_logs["epoch"] == want_logs["epoch"]
    assert sorted(got_logs["history"]) == sorted(want_logs["history"])
    for key, values in want_logs["history"].items():
        np.testing.assert_allclose(got_logs["history"][key], values, rtol=1e-5, err_msg=key)
    assert len(got_vars) == len(want_vars)
    for a, b in zip(got_vars, want_vars):  # weights, then iterations and Adam's moments
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_run_killed_mid_epoch_resumes_as_if_never_interrupted(backend, tmp_path):
    (tmp_path / "train.py").write_text(SCRIPT)
    # The reference and the run to kill side by side (they share nothing but the script).
    plain, killed = (start_script(tmp_path, backend, mode, mode) for mode in ("plain", "kill"))
    code, err = finish(killed)
    assert code == -9, err  # really SIGKILLed
    with open(tmp_path / "backup" / "training_metadata.json") as f:
        saved = json.load(f)
    # Backed up every 3 batches: the last after batch 4 of epoch 2 (12 batches in all); the
    # 13th ran and was lost with the process.
    assert (saved["epoch"], saved["batch"]) == (1, 4)
    resumed = start_script(tmp_path, backend, "resume", "resumed")
    for process in (plain, resumed):
        code, err = finish(process)
        assert code == 0, err
    assert_same_run(results(tmp_path / "resumed"), results(tmp_path / "plain"))
    assert not (tmp_path / "backup").exists()  # delete_checkpoint


# --- in-process interruptions (an exception, or a failing write) ----------------------------

X = np.random.default_rng(1).normal(size=(48, 3)).astype("float32")
Y = X @ np.array([[0.5], [-1.0], [2.0]], "float32")


class Interrupt(Callback):
    """Raises after batch `at[1]` of epoch `at[0]`."""

    def __init__(self, at):
        super().__init__()
        self.at, self.epoch = at, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt("interrupted")


def train(callbacks, seed=3, x=X, y=Y, **fit_kwargs):
    nhanh.utils.set_random_seed(seed)
    m = nhanh.Sequential([nhanh.Input((3,)), nhanh.layers.Dense(3, activation="relu"),
                          nhanh.layers.Dense(1)])
    m.compile(nhanh.optimizers.Adam(0.02), "mse", metrics=["mae"])
    history = m.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=callbacks,
                    **fit_kwargs)
    return m, history


def state(m, history):
    return [*m.get_weights(), *[v.numpy() for v in m.optimizer.variables]], \
        {"history": history.history, "epoch": history.epoch}


def test_resuming_mid_epoch_on_the_fused_loop(backend, tmp_path):
    backup = str(tmp_path / "b")
    want = state(*train([]))
    with pytest.raises(KeyboardInterrupt):  # 6 batches an epoch, a backup every 4
        train([BackupAndRestore(backup, save_freq=4), Interrupt((1, 3))])
    with open(os.path.join(backup, "training_metadata.json")) as f:
        saved = json.load(f)
    assert (saved["epoch"], saved["batch"]) == (1, 2)  # after 8 batches; 10 ran
    # Backing up each epoch, fit keeps its fused loop. Another seed changes nothing: the
    # weights come from the backup, and the shuffling from the seed saved there.
    restore = BackupAndRestore(backup)
    m, history = train([restore], seed=99)
    assert not restore.wants_batch_logs()
    assert ("train", 8, None) in m._steps._loops
    assert_same_run(state(m, history), want)


def test_epochs_shorter_than_the_data_and_a_backup_write_that_fails(backend, tmp_path,
                                                                    monkeypatch):
    """steps_per_epoch=4 of 6 batches: each epoch goes on where the last stopped. The third
    backup's weights file is cut off half-way by a failing write: the second one is used."""
    backup = str(tmp_path / "b")
    want = state(*train([], steps_per_epoch=4))
    real_save, calls = nhanh.Model.save_weights, []

    def failing_save(self, filepath, overwrite=True):
        calls.append(filepath)
        if len(calls) == 3:
            with open(filepath, "wb") as f:
                f.write(b"\x89HDF\r\n\x1a\n half a file")
            raise OSError("disk full")
        return real_save(self, filepath, overwrite=overwrite)

    monkeypatch.setattr(nhanh.Model, "save_weights", failing_save)
    with pytest.raises(OSError, match="disk full"):  # backups after 3, 6, (9: fails) batches
        train([BackupAndRestore(backup, save_freq=3)], steps_per_epoch=4)
    monkeypatch.setattr(nhanh.Model, "save_weights", real_save)
    with open(os.path.join(backup, "training_metadata.json")) as f:
        saved = json.load(f)
    assert (saved["epoch"], saved["batch"]) == (1, 2)  # the 2nd backup names the 2nd file
    restore = BackupAndRestore(backup, save_freq=3, delete_checkpoint=False)
    assert_same_run(state(*train([restore], steps_per_epoch=4)), want)
    with open(os.path.join(backup, "training_metadata.json")) as f:
        assert json.load(f)["epoch"] == 3  # kept, and it says training is done


class Batches:
    """A re-iterable source of batches (each epoch a fresh pass, in the same order)."""

    def __iter__(self):
        return iter([(X[i:i + 8], Y[i:i + 8]) for i in range(0, len(X), 8)])


def test_a_batch_source_resumes_after_the_batches_done(backend, tmp_path):
    backup = str(tmp_path / "b")
    train_on = {"x": Batches(), "y": None}
    want = state(*train([], **train_on))
    with pytest.raises(KeyboardInterrupt):
        train([BackupAndRestore(backup, save_freq=4), Interrupt((1, 3))], **train_on)
    assert_same_run(state(*train([BackupAndRestore(backup, save_freq=4)], **train_on)), want)


def test_double_checkpoint_falls_back_on_the_previous_backup(backend, tmp_path):
    backup = str(tmp_path / "b")
    want = state(*train([]))
    with pytest.raises(KeyboardInterrupt):
        train([BackupAndRestore(backup, double_checkpoint=True), Interrupt((2, 1))])
    with open(os.path.join(backup, "training_metadata.json")) as f:
        latest, previous = json.load(f)["checkpoints"]
    assert (latest["epoch"], previous["epoch"]) == (2, 1)
    with open(os.path.join(backup, latest["weights"]), "wb") as f:
        f.write(b"not an HDF5 file")  # the latest backup's weights are corrupt
    assert_same_run(state(*train([BackupAndRestore(backup)])), want)


@pytest.mark.engine_independent  # argument checks only
def test_arguments_are_checked_as_keras_does(backend, tmp_path):
    with pytest.raises(ValueError, match="Empty `backup_dir` argument passed"):
        BackupAndRestore("")
    for bad in ("batch", 0, 1.5):
        with pytest.raises(ValueError, match="Invalid value for argument `save_freq`"):
            BackupAndRestore(str(tmp_path), save_freq=bad)
    assert BackupAndRestore(str(tmp_path), save_freq=2).wants_batch_logs()
    assert not BackupAndRestore(str(tmp_path)).wants_batch_logs()
