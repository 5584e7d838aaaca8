"""Loading files from strangers (issue 11): one attack file per Keras CVE and per way a config
could make the loader run code, read or write outside the file, or exhaust the stack.

Each attack is built as the CVE built it (a real `.keras` zip with a crafted config.json and/or
weights, made here, no network) and loaded through the public API the CVE went through. Each
test checks that (a) the error says what was refused and why, (b) nothing ran: the canary file
the payload would create does not exist, no environment variable was set, the secret file's
bytes show up nowhere (error, weights, any file), and nothing was written outside, and (c) the
process-wide unsafe switch is still off. Where it is cheap, the attack file is shown to be real
(running its payload the unsafe way does create the canary). The storage layer's own attack
files (HDF5 links, zip bombs, ...) are in test_saving_files.py.
"""

import base64
import builtins
import io
import json
import marshal
import os
import pickle
import shutil
import tracemalloc
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import nhanh
from nhanh import config, layers, ops
from nhanh.saving.serialization_lib import UnsafeObjectError, deserialize_keras_object

os.environ.setdefault("KERAS_BACKEND", "jax")
independent = pytest.mark.engine_independent
X = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
SECRET = b"TOP-SECRET-7f3a9c do not leak\n" * 64  # 1920 bytes: room for a (2, 3) float32 read


# --- building attack files ------------------------------------------------------------------
@pytest.fixture
def canary(tmp_path):
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "the payload ran: the canary file was created"


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_bytes(SECRET)
    return path


@pytest.fixture(autouse=True)
def unsafe_switch_stays_off(monkeypatch):
    """Every test starts with the process-wide switch off and must leave it off."""
    monkeypatch.setattr(config, "_unsafe_deserialization", False)
    yield
    assert not config.is_unsafe_deserialization_enabled(), "a file switched safe mode off"


@pytest.fixture
def opened(monkeypatch):
    """Paths opened through Python's open() while the test runs."""
    seen, real_open = [], builtins.open

    def spy(file, *args, **kwargs):
        seen.append(os.fspath(file) if isinstance(file, (str, os.PathLike)) else file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    return seen


def tiny_model():
    return nhanh.Sequential([nhanh.Input((3,)), layers.Dense(2, name="dense")],
                            name="victim")


def weights_bytes(tmp_path) -> bytes:
    """model.weights.h5 of a real tiny model (what an attack file carries beside its config)."""
    path = tmp_path / "real.keras"
    tiny_model().save(path)
    with zipfile.ZipFile(path) as zf:
        return zf.read("model.weights.h5")


def write_keras(path, config_, weights: bytes | None = b"", members=()):
    """A .keras zip as Keras writes it: metadata.json, config.json, model.weights.h5."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        if config_ is not None:
            zf.writestr("config.json", config_ if isinstance(config_, (bytes, str))
                        else json.dumps(config_))
        if weights is not None:
            zf.writestr("model.weights.h5", weights or _empty_h5())
        for name, data in members:
            zf.writestr(name, data)
    return path


def _empty_h5() -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w"):
        pass
    return buffer.getvalue()


def layer_entry(class_name, config_, module="keras.layers", **extra):
    return {"module": module, "class_name": class_name, "config": config_,
            "registered_name": None, **extra}


def sequential(*entries, width=3):
    inputs = layer_entry("InputLayer", {"batch_shape": [None, width], "dtype": "float32",
                                        "name": "input_layer"})
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": "victim", "layers": [inputs, *entries]}, "registered_name": None}


def functional(*entries, width=3):
    """A Functional config whose layers are called as `entries` say (Keras's inbound_nodes:
    the CVEs pass a layer's `inputs` as a plain value in `kwargs`)."""
    inputs = layer_entry("InputLayer", {"batch_shape": [None, width], "dtype": "float32",
                                        "name": "x"}, name="x", inbound_nodes=[])
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": "victim", "layers": [inputs, *entries],
                       "input_layers": ["x", 0, 0], "output_layers": ["x", 0, 0]},
            "registered_name": "Functional"}


def lambda_calling(module, name, arguments=None, inputs=(), layer="evil"):
    """A Lambda whose function is `module.name`, called at load time as
    `name(inputs, **arguments)` (how CVE-2025-8747 and CVE-2025-9906 reached their gadgets)."""
    fn = {"module": module, "class_name": "function", "config": name, "registered_name": name}
    return layer_entry("Lambda", {"name": layer, "function": fn, "output_shape": [3],
                                  "arguments": arguments or {}},
                       name=layer, inbound_nodes=[{"args": [], "kwargs": {
                           "inputs": list(inputs) if isinstance(inputs, tuple) else inputs}}])


def payload_code(canary_path) -> str:
    """Keras's base64 marshal of a lambda that creates the canary when it runs."""
    fn = eval(f"lambda x: (open({str(canary_path)!r}, 'w').write('pwned'), x)[1]")  # noqa: S307
    return base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")


def lambda_bytecode(canary_path, name="payload"):
    """CVE-2024-3660's Lambda: its function is bytecode that runs when the layer is called."""
    record = {"class_name": "__lambda__", "config": {"code": payload_code(canary_path),
                                                     "defaults": None, "closure": None}}
    return layer_entry("Lambda", {"name": name, "function": record, "arguments": {}},
                       build_config={"input_shape": [None, 3]})


def refused_with_peak(load, error=ValueError):
    """(the `error` that `load` raises, the peak bytes Python allocated meanwhile)."""
    tracemalloc.start()
    try:
        with pytest.raises(error) as e:
            load()
        return e, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def refused(exc_info, *words):
    message = str(exc_info.value)
    assert "RecursionError" not in type(exc_info.value).__name__
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in the error: {message}"
    return message


def assert_no_secret_anywhere(root, *texts):
    """The secret's bytes are in none of `texts` and in no file under `root` but its own."""
    for text in texts:
        assert SECRET[:18] not in (text.encode() if isinstance(text, str) else text)
    for folder, _, files in os.walk(root) if root is not None else ():
        for name in files:
            path = os.path.join(folder, name)
            if name == "secret.txt":
                continue
            with open(path, "rb") as f:
                assert SECRET[:18] not in f.read(), f"the secret's bytes were copied to {path}"


# --- CVE-2024-3660: a Lambda's bytecode runs on load ----------------------------------------
@independent
def test_cve_2024_3660_lambda_bytecode_refused_by_default(tmp_path, canary):
    path = write_keras(tmp_path / "m.keras", sequential(lambda_bytecode(canary)))
    for load in (lambda: nhanh.models.load_model(path),
                 lambda: nhanh.models.load_model(path, safe_mode=True),
                 lambda: nhanh.models.model_from_json(json.dumps(sequential(
                     lambda_bytecode(canary)))),
                 lambda: deserialize_keras_object(sequential(lambda_bytecode(canary)))):
        with pytest.raises(UnsafeObjectError) as e:
            load()
        refused(e, "lambda", "bytecode", "safe_mode=False")
    # Keras's other spelling: a bare lambda (`{"value": [code, defaults, closure]}`), as a
    # config entry of its own and as an activation (which follows the loader's safe mode).
    bare = {"class_name": "__lambda__", "config": {"value": [payload_code(canary), None, None]}}
    with pytest.raises(UnsafeObjectError) as e:
        deserialize_keras_object([bare])
    refused(e, "lambda", "safe_mode=False")
    dense = layer_entry("Dense", {"units": 2, "activation": bare})
    with pytest.raises(UnsafeObjectError, match="safe_mode=False"):
        nhanh.models.load_model(write_keras(tmp_path / "d.keras", sequential(dense)))
    assert not canary.exists()


@independent
def test_cve_2024_3660_attack_file_is_real(tmp_path):
    """The same file, loaded by a caller who turned safe mode off, runs its payload."""
    canary = tmp_path / "canary"
    path = write_keras(tmp_path / "m.keras", sequential(lambda_bytecode(canary)),
                       weights=None)
    with pytest.raises(ValueError, match="model.weights.h5"):
        nhanh.models.load_model(path, safe_mode=False)
    assert canary.exists()


def test_lambda_made_by_nhanh_loads_only_with_safe_mode_false(tmp_path):
    scale = 2.0  # a closure, saved as Keras saves it
    model = nhanh.Sequential([nhanh.Input((3,)), layers.Dense(3, name="dense"),
                              layers.Lambda(lambda t: ops.square(t) * scale + 1.0, name="lam")])
    with pytest.warns(UserWarning, match="bytecode"):
        model.save(tmp_path / "m.keras")
    with pytest.raises(UnsafeObjectError) as e:
        nhanh.models.load_model(tmp_path / "m.keras")
    refused(e, "'lam'", "lambda", "safe_mode=False")
    loaded = nhanh.models.load_model(tmp_path / "m.keras", safe_mode=False)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)
    assert not config.is_unsafe_deserialization_enabled()  # the argument is not a switch
    with pytest.raises(UnsafeObjectError):  # and the next load is safe again
        nhanh.models.load_model(tmp_path / "m.keras")
    config.enable_unsafe_deserialization()  # the caller's process-wide switch works too
    try:
        nhanh.models.load_model(tmp_path / "m.keras")
    finally:
        config._unsafe_deserialization = False


def test_lambda_made_by_keras_loads_only_with_safe_mode_false_and_back(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, name="dense"),
                              keras.layers.Lambda(lambda t: t * 2.0 + 1.0, name="lam")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "k.keras")
    with pytest.raises(UnsafeObjectError) as e:
        nhanh.models.load_model(tmp_path / "k.keras")
    refused(e, "'lam'", "lambda", "safe_mode=False")
    loaded = nhanh.models.load_model(tmp_path / "k.keras", safe_mode=False)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)
    # and the other way: nhanh writes Keras's record, so Keras refuses it and loads it alike
    scale = 2.0
    ours = nhanh.Sequential([nhanh.Input((3,)), layers.Dense(3, name="dense"),
                             layers.Lambda(lambda t: t * scale + 1.0, name="lam")])
    with pytest.warns(UserWarning, match="bytecode"):
        ours.save(tmp_path / "n.keras")
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(tmp_path / "n.keras")
    theirs = keras.models.load_model(tmp_path / "n.keras", safe_mode=False)
    np.testing.assert_allclose(theirs.predict(X, verbose=0), ours.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)


# --- CVE-2025-1550: a config's module/class_name imports and calls anything -----------------
GADGETS = [("os", "system"), ("subprocess", "check_call"), ("builtins", "exec"),
           ("builtins", "eval"), ("keras.utils", "get_file"),
           ("keras.src.utils.file_utils", "get_file"), ("nhanh.utils.file_utils", "get_file"),
           ("keras.config", "enable_unsafe_deserialization"),
           ("keras.src.saving.serialization_lib", "enable_unsafe_deserialization"),
           ("nhanh.config", "enable_unsafe_deserialization"), ("nhanh.saving.archive", "os"),
           ("nhanh.saving.archive", "os.system"), ("keras.layers", "os.system")]


@independent
@pytest.mark.parametrize("module,name", GADGETS)
def test_cve_2025_1550_module_paths_in_a_config_are_refused(module, name, tmp_path, canary):
    command = f"touch {canary}"
    as_layer = layer_entry(name, {"command": command, "source": command}, module=module)
    as_function = {"module": module, "class_name": "function", "config": name,
                   "registered_name": name}
    with pytest.raises(ValueError) as e:  # UnsafeObjectError, or an unknown keras.layers name
        nhanh.models.load_model(write_keras(tmp_path / "m.keras", sequential(as_layer)))
    refused(e, name)
    for entry in (as_layer, as_function, {**as_function, "registered_name": None}):
        with pytest.raises(UnsafeObjectError) as e:
            deserialize_keras_object([entry])
        refused(e, "refused", name, "nothing is imported")
    # As an activation, the name is looked up among nhanh's activations only.
    dense = layer_entry("Dense", {"units": 2, "activation": as_function})
    with pytest.raises(ValueError, match="activation"):
        nhanh.models.load_model(write_keras(tmp_path / "a.keras", sequential(dense)))


@independent
@pytest.mark.parametrize("module,name", GADGETS + [("nhanh.saving.archive", "os.environ.update"),
                                                   ("nhanh.models", "load_model")])
def test_lambda_functions_named_by_path_are_refused(module, name, tmp_path, canary):
    """A Lambda's function resolves only to nhanh's ops, activations, losses and metrics or to
    the caller's objects, never by walking the path a file gives: `os.environ.update([],
    **arguments)` reached through an nhanh module set any environment variable in safe mode."""
    entry = lambda_calling(module, name, {"NHANH_ATTACK_CANARY": "1"} if "environ" in name
                           else {"command": f"touch {canary}"})
    with pytest.raises(UnsafeObjectError) as e:
        nhanh.models.load_model(write_keras(tmp_path / "m.keras", functional(entry)))
    refused(e, "'evil'", "refused", "custom_objects")
    assert "NHANH_ATTACK_CANARY" not in os.environ


@independent
def test_lambda_functions_nhanh_owns_or_the_caller_gives_still_resolve(tmp_path):
    def triple(t):
        return t * 3.0

    for module, name in (("nhanh.ops", "square"), ("keras.src.ops.numpy", "square"),
                         ("keras.activations", "relu")):
        fn = {"module": module, "class_name": "function", "config": name,
              "registered_name": name}
        lam = layers.Lambda.from_config({"name": "ok", "function": fn})
        assert lam.function is getattr(nhanh.ops if "ops" in module else nhanh.activations,
                                       name)
    entry = layer_entry("Lambda", {"name": "mine", "function": {
        "module": "__main__", "class_name": "function", "config": "triple",
        "registered_name": "triple"}, "arguments": {}}, build_config={"input_shape": [None, 3]})
    path = write_keras(tmp_path / "m.keras", sequential(entry))
    with pytest.raises(UnsafeObjectError, match="custom_objects"):
        nhanh.models.load_model(path)
    model = nhanh.models.load_model(path, custom_objects={"triple": triple})
    np.testing.assert_allclose(model.predict(X, verbose=0), X * 3.0, rtol=1e-6)


# --- CVE-2025-8747: keras.utils.get_file reached from a config ------------------------------
@independent
def test_cve_2025_8747_get_file_from_a_config_downloads_nothing(tmp_path, secret, opened):
    cache = tmp_path / "cache"
    args = {"fname": "stolen.txt", "origin": secret.as_uri(), "cache_dir": str(cache),
            "cache_subdir": ".", "extract": False}
    attacks = [layer_entry("get_file", args, module="keras.utils"),
               layer_entry("get_file", args, module="nhanh.utils.file_utils"),
               lambda_calling("keras.utils", "get_file", {k: v for k, v in args.items()
                                                          if k != "fname"}, inputs="stolen"),
               lambda_calling("nhanh.utils.file_utils", "get_file",
                              {k: v for k, v in args.items() if k != "fname"}, inputs="x")]
    for i, entry in enumerate(attacks):
        build = sequential if "inbound_nodes" not in entry else functional
        with pytest.raises(UnsafeObjectError) as e:
            nhanh.models.load_model(write_keras(tmp_path / f"m{i}.keras", build(entry)))
        message = refused(e, "refused", "get_file")
        assert_no_secret_anywhere(tmp_path, message)
    assert not cache.exists()
    assert str(secret) not in opened


# --- CVE-2025-9905: legacy .h5 model files ignore safe_mode ---------------------------------
@independent
@pytest.mark.parametrize("suffix", [".h5", ".hdf5"])
def test_cve_2025_9905_legacy_h5_models_are_not_read(suffix, tmp_path, canary):
    """Keras 2's HDF5 model file: `model_config` holds a Lambda whose function is bytecode."""
    lam = {"class_name": "Lambda", "config": {
        "name": "payload", "function": [payload_code(canary), None, None],
        "function_type": "lambda", "arguments": {}}}
    model_config = {"class_name": "Sequential", "config": {"name": "victim", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3]}}, lam]}}
    path = tmp_path / f"m{suffix}"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config)
        f.create_group("model_weights")
    for kwargs in ({}, {"safe_mode": True}, {"compile": False}):
        with pytest.raises(ValueError) as e:
            nhanh.models.load_model(path, **kwargs)
        refused(e, "legacy", ".keras")
    with pytest.raises(ValueError, match="weights.h5"):
        tiny_model().load_weights(path)


# --- CVE-2025-9906: a config switches safe mode off, then runs a Lambda ---------------------
@independent
@pytest.mark.parametrize("module", ["keras.config", "keras.src.saving.serialization_lib",
                                    "nhanh.config", "nhanh.saving.serialization_lib._config"])
def test_cve_2025_9906_a_file_cannot_switch_safe_mode_off(module, tmp_path, canary):
    switch = lambda_calling(module, "enable_unsafe_deserialization", layer="switch")
    payload = {**lambda_bytecode(canary), "name": "payload",
               "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                   "shape": [None, 3], "dtype": "float32", "keras_history": ["x", 0, 0]}}],
                   "kwargs": {}}]}
    path = write_keras(tmp_path / "m.keras", functional(switch, payload))
    with pytest.raises(UnsafeObjectError) as e:
        nhanh.models.load_model(path)
    refused(e, "refused", "enable_unsafe_deserialization")
    # the switch as a plain function entry, and the payload alone after it
    as_fn = {"module": module, "class_name": "function",
             "config": "enable_unsafe_deserialization", "registered_name": None}
    with pytest.raises(UnsafeObjectError):
        deserialize_keras_object([as_fn, sequential(lambda_bytecode(canary))])


@independent
def test_cve_2025_9906_inner_load_model_with_safe_mode_false_is_refused(tmp_path, canary):
    """The CVE's second step: a Lambda calling load_model(inner, safe_mode=False)."""
    inner = write_keras(tmp_path / "inner.keras", sequential(lambda_bytecode(canary)))
    for module in ("keras.models", "keras.saving", "nhanh.models", "nhanh.saving.saving_lib"):
        entry = lambda_calling(module, "load_model", {"safe_mode": False}, inputs=str(inner))
        with pytest.raises(UnsafeObjectError) as e:
            nhanh.models.load_model(write_keras(tmp_path / "outer.keras", functional(entry)))
        refused(e, "refused", "load_model")


# --- CVE-2025-49655: a pickle inside TorchModuleWrapper's config ----------------------------
class _Payload:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.engines("torch")
def test_cve_2025_49655_torch_module_pickle_is_never_unpickled(tmp_path, canary):
    """Keras's file: the wrapper's config holds `module`, a base64 torch.save pickle."""
    import torch

    real = nhanh.Sequential([nhanh.Input((3,)), layers.TorchModuleWrapper(
        torch.nn.Linear(3, 2), name="torch_module_wrapper")], name="victim")
    real.save(tmp_path / "real.keras")
    with zipfile.ZipFile(tmp_path / "real.keras") as zf:
        config_, weights = json.loads(zf.read("config.json")), zf.read("model.weights.h5")
    wrapper = config_["config"]["layers"][1]["config"]
    del wrapper["module_class"]
    wrapper["module"] = base64.b64encode(pickle.dumps(_Payload(canary))).decode("ascii")
    path = write_keras(tmp_path / "m.keras", config_, weights)
    for safe_mode in (True, False):  # not even for a caller who turned safe mode off
        with pytest.raises(UnsafeObjectError) as e:
            nhanh.models.load_model(path, safe_mode=safe_mode)
        refused(e, "pickle", "never", "custom_objects")
    # With the module given by the caller, the file loads and its pickle stays untouched.
    model = nhanh.models.load_model(path, custom_objects={
        "torch_module_wrapper": lambda: torch.nn.Linear(3, 2)}, compile=False)
    np.testing.assert_allclose(model.predict(X, verbose=0), real.predict(X, verbose=0),
                               rtol=1e-6)
    # The attack file is real: unpickling its module entry creates the canary.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(probe))).close()
    assert probe.exists()


@pytest.mark.engines("torch")
def test_torch_module_wrapper_saved_by_nhanh_holds_no_pickle(tmp_path):
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)

        def forward(self, x):
            return self.b(torch.tanh(self.a(x)))

    torch.manual_seed(0)
    model = nhanh.Sequential([nhanh.Input((3,)), layers.TorchModuleWrapper(Net(), name="tw")])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        entry = json.loads(zf.read("config.json"))["config"]["layers"][1]["config"]
    assert "module" not in entry and entry["module_class"] == "Net"
    with pytest.raises(UnsafeObjectError) as e:
        nhanh.models.load_model(tmp_path / "m.keras")
    refused(e, "'tw'", "custom_objects", "Net")
    # The module, its class, or a function making it; fresh weights that the file replaces.
    for objects in ({"tw": Net}, {"Net": Net}, {"tw": lambda: Net()}, {"Net": Net()}):
        loaded = nhanh.models.load_model(tmp_path / "m.keras", custom_objects=objects)
        np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                                   rtol=1e-6)


# --- CVE-2025-12058: a lookup layer's vocabulary read from a path named in the file ---------
VOCAB_LAYERS = [("StringLookup", {}), ("IntegerLookup", {}),
                ("TextVectorization", {"output_mode": "int"})]


@independent
@pytest.mark.parametrize("class_name,extra", VOCAB_LAYERS)
def test_cve_2025_12058_vocabulary_paths_in_a_config_are_not_read(class_name, extra, tmp_path,
                                                                  secret, opened):
    for vocabulary in (str(secret), secret.as_uri(), "https://example.invalid/vocab.txt"):
        entry = layer_entry(class_name, {"name": "lookup", "vocabulary": vocabulary, **extra})
        model = {"module": "keras", "class_name": "Sequential",
                 "config": {"name": "victim", "layers": [entry]}, "registered_name": None}
        with pytest.raises(UnsafeObjectError) as e:
            nhanh.models.load_model(write_keras(tmp_path / "m.keras", model))
        message = refused(e, "'lookup'", "vocabulary file", "safe_mode=False")
        assert_no_secret_anywhere(tmp_path, message)
        with pytest.raises(UnsafeObjectError):
            deserialize_keras_object(entry)
    assert str(secret) not in opened and secret.as_uri() not in opened


@independent
def test_a_users_own_vocabulary_file_still_works_and_saves_as_tokens(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("cat\ndog\nbird\n")
    lookup = layers.StringLookup(vocabulary=str(vocab), name="lookup")  # the user's own file
    assert lookup.get_vocabulary() == ["[UNK]", "cat", "dog", "bird"]
    config_ = lookup.get_config()
    assert config_["vocabulary"] == ["cat", "dog", "bird"]  # its tokens, not the path
    vocab.unlink()
    clone = layers.StringLookup.from_config(config_)
    np.testing.assert_array_equal(clone(np.array(["dog", "fish"])), [2, 0])


# --- CVE-2026-1462: TFSMLayer loads an external SavedModel named in the config --------------
@independent
def test_cve_2026_1462_tfsmlayer_path_is_refused(tmp_path, secret, opened):
    saved = tmp_path / "saved_model"
    saved.mkdir()
    shutil.copy(secret, saved / "saved_model.pb")
    opened.clear()
    entry = layer_entry("TFSMLayer", {"name": "tfsm", "filepath": str(saved),
                                      "call_endpoint": "serve", "trainable": False})
    with pytest.raises(ValueError) as e:  # nhanh has no TFSMLayer: an unknown layer class
        nhanh.models.load_model(write_keras(tmp_path / "m.keras", sequential(entry)))
    refused(e, "TFSMLayer")
    with pytest.raises(UnsafeObjectError) as e:
        deserialize_keras_object(entry)
    refused(e, "refused", "TFSMLayer", "nothing is imported")
    assert not any(str(saved) in str(p) for p in opened)


# --- CVE-2026-1669 / CVE-2026-0897: weights that read another file or declare huge shapes ---
def _attack_weights(tmp_path, make_kernel) -> bytes:
    """The real model's weights with `layers/dense/vars/0` replaced by `make_kernel(group)`."""
    path = tmp_path / "w.h5"
    path.write_bytes(weights_bytes(tmp_path))
    with h5py.File(path, "r+") as f:
        group = f["layers/dense/vars"]
        del group["0"]
        make_kernel(group)
    return path.read_bytes()


@independent
def test_cve_2026_1669_external_storage_never_reads_the_other_file(tmp_path, secret):
    weights = _attack_weights(tmp_path, lambda g: g.create_dataset(
        "0", shape=(3, 2), dtype="float32", external=[(str(secret), 0, 24)]))
    with h5py.File(io.BytesIO(weights), "r") as f:  # the attack is real: h5py reads the secret
        assert f["layers/dense/vars/0"][...].tobytes() == SECRET[:24]
    path = write_keras(tmp_path / "m.keras", json.loads(tiny_model().to_json()), weights)
    with pytest.raises(ValueError) as e:
        nhanh.models.load_model(path)
    message = refused(e, "external", "layers/dense/vars")
    model = tiny_model()
    before = [np.array(w) for w in model.get_weights()]
    (tmp_path / "m.weights.h5").write_bytes(weights)
    with pytest.raises(ValueError) as e:
        model.load_weights(tmp_path / "m.weights.h5")
    refused(e, "external")
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    assert_no_secret_anywhere(None, message, str(e.value),
                              b"".join(np.asarray(w).tobytes() for w in model.get_weights()))


@independent
def test_cve_2026_0897_huge_declared_shape_fails_fast(tmp_path):
    """A 6 GiB dataset declared in a tiny file: refused from its header, nothing allocated."""
    weights = _attack_weights(tmp_path, lambda g: g.create_dataset(
        "0", shape=(3, 1 << 29), dtype="float32", chunks=(1, 1 << 16)))
    assert len(weights) < 1 << 20
    path = write_keras(tmp_path / "m.keras", json.loads(tiny_model().to_json()), weights)
    e, peak = refused_with_peak(lambda: nhanh.models.load_model(path))
    refused(e, "layers/dense/vars")
    assert peak < 64 << 20, f"peak {peak} bytes while refusing a declared 6 GiB dataset"


# --- CVE-2026-12479: asset paths that leave the archive -------------------------------------
@independent
@pytest.mark.parametrize("member", ["assets/../../evil.txt", "../evil.txt", "/tmp/evil.txt",
                                    "assets/lookup/../../../evil.txt", "assets\\..\\evil.txt"])
def test_cve_2026_12479_asset_paths_outside_the_archive_refuse_the_file(member, tmp_path):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    path = write_keras(work / "m.keras", json.loads(tiny_model().to_json()),
                       weights_bytes(tmp_path), members=[(member, b"written by the file")])
    with pytest.raises(ValueError) as e:
        nhanh.models.load_model(path)
    refused(e, "m.keras", "evil.txt")  # the file, and the member it refused
    for folder, _, files in os.walk(tmp_path):
        assert "evil.txt" not in files
    assert not os.path.exists("/tmp/evil.txt")


# --- configs that would exhaust the stack, or are not what they claim ----------------------
@independent
def test_deeply_nested_configs_fail_fast_without_recursion_error(tmp_path):
    deep_json = b'{"class_name": "Dense", "config": ' + b'{"a": ' * 10_000 + b"1" + \
        b"}" * 10_001
    with pytest.raises(ValueError) as e:
        nhanh.models.load_model(write_keras(tmp_path / "m.keras", deep_json))
    refused(e, "config.json", "nested")
    with pytest.raises(ValueError) as e:
        nhanh.models.model_from_json("[" * 10_000 + "]" * 10_000)
    refused(e, "nested")
    deep = {"units": 2}
    for _ in range(10_000):
        deep = {"class_name": "Dense", "config": deep}
    with pytest.raises(ValueError) as e:
        deserialize_keras_object(deep)
    refused(e, "nested")


@independent
def test_self_referencing_configs_fail_fast():
    loop = {"class_name": "Dense", "module": "keras.layers"}
    loop["config"] = {"units": 2, "kernel_initializer": loop}
    with pytest.raises(ValueError) as e:
        deserialize_keras_object(loop)
    refused(e, "nested")
    chain = [1]
    chain.append(chain)
    with pytest.raises(ValueError):
        deserialize_keras_object({"class_name": "Sequential", "module": "keras",
                                  "config": {"layers": chain}})


def _call(layer, source):
    tensor = {"class_name": "__keras_tensor__", "config": {
        "shape": [None, 3], "dtype": "float32", "keras_history": [source, 0, 0]}}
    return [{"args": [tensor], "kwargs": {}}]


@independent
@pytest.mark.parametrize("cycle", [{"a": "a"}, {"a": "b", "b": "a"}, {"a": "c", "b": "a",
                                                                      "c": "b"}])
def test_cycles_in_a_functional_graph_fail_with_a_clear_error(cycle, tmp_path):
    entries = [layer_entry("Dense", {"name": name, "units": 3}, name=name,
                           inbound_nodes=_call(name, source)) for name, source in cycle.items()]
    config_ = functional(*entries)
    config_["config"]["output_layers"] = ["a", 0, 0]
    with pytest.raises(ValueError) as e:
        nhanh.models.load_model(write_keras(tmp_path / "m.keras", config_))
    refused(e, "cycle")


@independent
def test_typespec_and_unknown_special_entries_are_refused():
    spec = {"class_name": "__typespec__", "spec_name": "TensorSpec", "module": "os",
            "config": [[None, 3], "float32"], "registered_name": None}
    with pytest.raises(UnsafeObjectError) as e:
        deserialize_keras_object([spec])
    refused(e, "TypeSpec")
    with pytest.raises(ValueError, match="__typespec__"):  # not an initializer's name either
        deserialize_keras_object(layer_entry("Dense", {"units": 2, "kernel_initializer": spec}))


@independent
def test_huge_numbers_and_strings(tmp_path):
    digits = '{"module": "keras", "class_name": "Sequential", "config": {"name": ' \
        '"victim", "layers": [{"class_name": "Dense", "config": {"units": 1' + "0" * 100_000 \
        + "}}]}}"
    with pytest.raises(ValueError) as e:
        nhanh.models.load_model(write_keras(tmp_path / "m.keras", digits))
    refused(e, "config.json", "not valid JSON", "digits")
    overflow = sequential(layer_entry("Dense", {"units": 1e400}))
    with pytest.raises(ValueError) as e:
        nhanh.models.load_model(write_keras(tmp_path / "n.keras", json.dumps(overflow)))
    refused(e, "units")
    huge = tmp_path / "big.keras"  # a config.json past the 64 MiB cap, small on disk
    with zipfile.ZipFile(huge, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", b'{"class_name": "' + b"A" * (65 << 20) + b'"}')
        zf.writestr("model.weights.h5", _empty_h5())
    e, peak = refused_with_peak(lambda: nhanh.models.load_model(huge))
    refused(e, "config.json")
    assert peak < 32 << 20


@independent
@pytest.mark.parametrize("dtype", ["U30000000", "(30000000,)f4", "S120000000"])
def test_tiny_array_entries_declaring_huge_dtypes_are_refused(dtype, tmp_path):
    """80 bytes of JSON asking for gigabytes: an array entry's size is checked before it is
    built (here in compile_config, which loading deserializes)."""
    config_ = json.loads(tiny_model().to_json())
    config_["compile_config"] = {"optimizer": "sgd", "loss": "mse", "loss_weights": {
        "class_name": "__numpy__", "config": {"value": [0, 0], "dtype": dtype}}}
    path = write_keras(tmp_path / "m.keras", config_, weights_bytes(tmp_path))
    e, peak = refused_with_peak(lambda: nhanh.models.load_model(path), UnsafeObjectError)
    refused(e, repr(dtype), "bytes")
    assert peak < 16 << 20, f"peak {peak} bytes for an 80-byte array entry"
    small = {"class_name": "__numpy__", "config": {"value": [[1, 2]], "dtype": "float16"}}
    np.testing.assert_array_equal(deserialize_keras_object(small),
                                  np.array([[1, 2]], "float16"))


@independent
@pytest.mark.parametrize("data", [b"\x00\x01garbage", b"{'class_name': 'Dense'}", b"",
                                  b'{"class_name": "Dense", "config": {"units": 2}',
                                  b'{"class_name": "\xff\xfe"}'])
def test_config_json_that_is_not_json(data, tmp_path):
    with pytest.raises(ValueError) as e:
        nhanh.models.load_model(write_keras(tmp_path / "m.keras", data))
    refused(e, "config.json", "not valid JSON")


@independent
def test_missing_and_wrong_members(tmp_path):
    config_ = json.loads(tiny_model().to_json())
    with pytest.raises(ValueError) as e:
        nhanh.models.load_model(write_keras(tmp_path / "a.keras", None, weights_bytes(tmp_path)))
    refused(e, "config.json")
    with pytest.raises(ValueError) as e:
        nhanh.models.load_model(write_keras(tmp_path / "b.keras", config_, weights=None))
    refused(e, "model.weights.h5")
    with pytest.raises(ValueError) as e:  # a weights file with none of the model's variables
        nhanh.models.load_model(write_keras(tmp_path / "c.keras", config_, weights=b""))
    refused(e, "dense")
    (tmp_path / "e.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError):
        nhanh.models.load_model(tmp_path / "e.keras")


def test_failed_load_weights_leaves_the_model_unchanged(tmp_path):
    """The first variables fit, a later one does not: nothing is assigned."""
    source = nhanh.Sequential([nhanh.Input((3,)), layers.Dense(2, name="dense"),
                               layers.Dense(4, name="dense_1")])
    source.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r+") as f:
        del f["layers/dense_1/vars/1"]
        f["layers/dense_1/vars"].create_dataset("1", data=np.zeros(5, "float32"))
    target = nhanh.Sequential([nhanh.Input((3,)), layers.Dense(2, name="dense"),
                               layers.Dense(4, name="dense_1")])
    before = [np.array(w) for w in target.get_weights()]
    with pytest.raises(ValueError) as e:
        target.load_weights(tmp_path / "w.weights.h5")
    refused(e, "dense_1", "nothing was loaded")
    for got, want in zip(target.get_weights(), before):
        np.testing.assert_array_equal(got, want)


@independent
def test_a_config_cannot_make_the_loader_allocate_without_bound(tmp_path):
    """A tiny file whose config declares a 40 GB Dense: refused when the first variable goes
    past what the file's weights could fill, before it is allocated."""
    import resource

    huge = sequential(layer_entry("Dense", {"units": 100_000, "name": "big"},
                                  build_config={"input_shape": [None, 100_000]}),
                      width=100_000)
    path = write_keras(tmp_path / "big.keras", huge)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    e, peak = refused_with_peak(lambda: nhanh.models.load_model(path))
    refused(e, "config.json", "larger than its weights", "big/kernel")
    assert peak < 64 << 20
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 256 << 10  # KiB
