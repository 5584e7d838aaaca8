"""model.export: ONNX, jax.export and torch.export files that run without nhanh.

Each exported file is run by its own runtime only (onnxruntime, jax.export.deserialize,
torch.export.load) and compared with the model's `predict`, at two batch sizes from the same
file. The models are trained a little first, so BatchNormalization's moving statistics differ
from a batch's own (an export in training mode would not match). Exports are slow to compile,
so each engine's models and ONNX files are made once per module (`_trained`, `_artifacts`).
"""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

import nhanh
from nhanh import config, layers

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "serve_onnx.py"
RNG = np.random.default_rng(0)


def _mlp():
    model = nhanh.Sequential([layers.Input((6,), name="features"),
                              layers.Dense(8, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    x = RNG.normal(size=(5, 6)).astype("float32")
    return model, x, RNG.integers(0, 3, (5,)), "sparse_categorical_crossentropy"


def _two_in_two_out():
    image = layers.Input((6,), name="pixels")
    meta = layers.Input((3,), name="meta")
    h = layers.Concatenate()([layers.Dense(8, activation="tanh")(image), meta])
    score = layers.Dense(2, name="score")(h)
    flag = layers.Dense(1, activation="sigmoid", name="flag")(h)
    model = nhanh.Model([image, meta], [score, flag])
    x = [RNG.normal(size=(5, 6)).astype("float32"), RNG.normal(size=(5, 3)).astype("float32")]
    y = [RNG.normal(size=(5, 2)).astype("float32"), RNG.random((5, 1)).astype("float32")]
    return model, x, y, ["mse", "mse"]


def _convnet():
    model = nhanh.Sequential([layers.Input((8, 8, 2), name="image"),
                              layers.Conv2D(4, 3, padding="same"),
                              layers.BatchNormalization(),
                              layers.Activation("relu"),
                              layers.MaxPooling2D(),
                              layers.Flatten(),
                              layers.Dense(3)])
    x = RNG.normal(size=(5, 8, 8, 2)).astype("float32")
    return model, x, RNG.normal(size=(5, 3)).astype("float32"), "mse"


MODELS = {"mlp": _mlp, "two_in_two_out": _two_in_two_out, "convnet": _convnet}
_CACHE: dict = {}


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


def _trained(kind: str, engine: str) -> dict:
    """The model `kind` trained a little on `engine`, its inputs and its predictions."""
    key = (kind, engine)
    if key not in _CACHE:
        model, x, y, loss = MODELS[kind]()
        model.compile(optimizer=nhanh.optimizers.SGD(0.1), loss=loss)
        model.fit(x, y, epochs=2, batch_size=5, verbose=0)
        _CACHE[key] = {"model": model, "x": x if isinstance(x, list) else [x],
                       "expected": model.predict(x, verbose=0)}
    return _CACHE[key]


def _artifacts(kind: str, engine: str, folder: Path) -> dict:
    """`_trained(kind, engine)` with its ONNX file (exported once)."""
    art = _trained(kind, engine)
    if "onnx" not in art:
        path = folder / f"{kind}-{engine}.onnx"
        art["model"].export(path, format="onnx", verbose=False)
        art["onnx"] = str(path)
    return art


def _as_list(outputs) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


@pytest.mark.parametrize("kind", list(MODELS))
def test_onnx_matches_predict_at_two_batch_sizes(backend, kind, export_dir):
    art = _artifacts(kind, backend, export_dir)
    session = onnxruntime.InferenceSession(art["onnx"], providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == [t.name for t in art["model"].inputs]  # as Keras names them
    assert all(isinstance(i.shape[0], str) for i in session.get_inputs())  # free batch
    expected = _as_list(art["expected"])
    for rows in (slice(0, 1), slice(0, 5)):
        got = session.run(None, {n: x[rows] for n, x in zip(names, art["x"])})
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e[rows], rtol=0, atol=1e-5)
    assert config.backend() == backend  # exporting did not switch the user's engine


def test_onnx_output_names_follow_the_model(backend, export_dir):
    art = _artifacts("two_in_two_out", backend, export_dir)
    session = onnxruntime.InferenceSession(art["onnx"], providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["score", "flag"]
    assert [o.shape[1] for o in session.get_outputs()] == [2, 1]


def test_jax_export_round_trip_without_nhanh(backend, export_dir):
    art = _trained("two_in_two_out", backend)
    path = export_dir / f"two-{backend}.jax"
    art["model"].export(path, format="jax_export", verbose=False)
    exported = jax.export.deserialize(bytearray(path.read_bytes()))
    assert [str(a.shape[0]) for a in exported.in_avals] == ["batch", "batch"]  # symbolic
    for n in (1, 5):
        got = exported.call(*[x[:n] for x in art["x"]])
        for g, e in zip(got, art["expected"]):
            np.testing.assert_allclose(np.asarray(g), e[:n], rtol=0, atol=1e-5)


def test_torch_export_round_trip_without_nhanh(backend, export_dir):
    art = _trained("convnet", backend)
    path = export_dir / f"conv-{backend}.pt2"
    art["model"].export(path, format="torch_export", verbose=False)
    module = torch.export.load(str(path)).module()
    for n in (1, 5):
        with torch.no_grad():
            got = module(torch.from_numpy(art["x"][0][:n]))
        np.testing.assert_allclose(got.numpy(), art["expected"][:n], rtol=0, atol=1e-5)


def test_keras_torch_format_name_and_input_signature(backend, export_dir, capsys):
    art = _trained("mlp", backend)
    path = export_dir / f"mlp-{backend}.pt2"
    art["model"].export(path, format="torch", input_signature=[((None, 6), "float32")])
    assert f"Saved artifact at '{path}'" in capsys.readouterr().out
    program = torch.export.load(str(path))
    got = program.module()(torch.from_numpy(art["x"][0][:3])).detach().numpy()
    np.testing.assert_allclose(got, art["expected"][:3], rtol=0, atol=1e-5)


def test_subclassed_model_exports_from_the_shape_it_was_called_with(backend, tmp_path):
    class Net(nhanh.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = layers.Dense(4, activation="relu")
            self.out = layers.Dense(2)

        def call(self, x):
            return self.out(self.hidden(x))

    model = Net()
    x = RNG.normal(size=(3, 5)).astype("float32")
    expected = model.predict(x, verbose=0)  # builds it for (None, 5)
    model.export(tmp_path / "net.jax", format="jax_export", verbose=False)
    exported = jax.export.deserialize(bytearray((tmp_path / "net.jax").read_bytes()))
    np.testing.assert_allclose(np.asarray(exported.call(x)), expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(exported.call(x[:1])), expected[:1], rtol=0,
                               atol=1e-5)


@pytest.mark.engine_independent
@pytest.mark.parametrize("fmt", ["tf_saved_model", "litert", "openvino", "savedmodel"])
def test_other_formats_are_refused_clearly(backend, fmt, tmp_path):
    model = nhanh.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError) as info:
        model.export(tmp_path / "m", format=fmt)
    message = str(info.value)
    assert repr(fmt) in message
    for name in ("'onnx'", "'jax_export'", "'torch_export'"):
        assert name in message
    if fmt != "savedmodel":
        assert "TensorFlow" in message
    assert os.listdir(tmp_path) == []


@pytest.mark.engine_independent
def test_bad_arguments_say_what_to_pass(backend, tmp_path):
    model = nhanh.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"must end with '\.pt2'"):
        model.export(tmp_path / "m.bin", format="torch_export")
    with pytest.raises(TypeError, match=r"input_signature\[1\].*\(shape, dtype\)"):
        model.export(tmp_path / "m", format="jax_export",
                     input_signature=[((None, 2), "float32"), 3])
    with pytest.raises(TypeError, match="unknown keyword arguments.*'opset'"):
        model.export(tmp_path / "m.onnx", opset=17)
    with pytest.raises(TypeError, match="unknown keyword arguments.*'strictly'"):
        model.export(tmp_path / "m.pt2", format="torch_export", strictly=True)
    strings = nhanh.Sequential([layers.Input((1,), dtype="string"),
                                layers.StringLookup(vocabulary=["a", "b"]), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"compute on the host.*'string_lookup(_\d+)?'"):
        strings.export(tmp_path / "s.onnx")

    class Plain(nhanh.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="has not been built.*input_signature"):
        Plain().export(tmp_path / "p", format="jax_export")
    assert os.listdir(tmp_path) == []


@pytest.mark.engine_independent
def test_failed_write_keeps_the_previous_file(backend, tmp_path, monkeypatch):
    model, x, _, _ = _mlp()
    path = tmp_path / "model.pt2"
    model.export(path, format="torch_export", verbose=False)
    before = path.read_bytes()

    def half_then_fail(program, f, *args, **kwargs):
        with open(f, "wb") as out:
            out.write(before[: len(before) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(torch.export, "save", half_then_fail)
    other = nhanh.Sequential([layers.Input((6,)), layers.Dense(2)])
    with pytest.raises(OSError, match="disk full"):
        other.export(path, format="torch_export", verbose=False)
    assert os.listdir(tmp_path) == ["model.pt2"]  # no temporary file left
    assert path.read_bytes() == before
    monkeypatch.undo()
    got = torch.export.load(str(path)).module()(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=0, atol=1e-5)


@pytest.mark.engine_independent  # the ONNX tests above cover a model from each engine
def test_serve_onnx_example(backend, capsys):
    spec = importlib.util.spec_from_file_location("serve_onnx_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    seen = example.main(epochs=20)
    assert seen["agreement"] == 1.0
    assert seen["difference"] < 1e-5
    assert seen["accuracy"] >= 0.8
    assert "agreement with predict: 1.0000" in capsys.readouterr().out
