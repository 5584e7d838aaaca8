"""plot_model / model_to_dot against real Keras 3's: the same architectures (layers named
explicitly, since default names differ between libraries) must give the same boxes, label
texts, arrows between named layers and clusters; files must be real PNG / SVG / PDF; a
missing pydot or Graphviz must raise a clear error before any file is written."""

import os
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import nhanh
from nhanh.utils.model_visualization import model_to_dot, plot_model

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
pytest.importorskip("pydot")


def _sequential(L):
    return L.Sequential([L.Input((4,)), L.layers.Dense(8, activation="relu", name="d1"),
                         L.layers.Dropout(0.5, name="drop"),
                         L.layers.Dense(3, activation="softmax", name="d2")], name="seq")


def _multi_io_shared(L):
    a, b = L.Input((3,), name="a"), L.Input((4,), name="b")
    x = L.layers.Concatenate(name="cat")([a, b])
    y = L.layers.Dense(3, activation="tanh", name="e")(x)
    shared = L.layers.Dense(3, name="shared", trainable=False)
    y2 = shared(shared(y))
    z = L.layers.Add(name="add")([y2, L.layers.Dense(3, name="side")(b)])
    return L.Model([a, b], [z, y], name="multi")


def _conv(L):
    inp = L.Input((8, 8, 1), name="img")
    x = L.layers.Conv2D(2, 3, activation="relu", name="conv")(inp)
    x = L.layers.MaxPooling2D(name="pool")(x)
    x = L.layers.Flatten(name="flat")(x)
    return L.Model(inp, L.layers.Dense(2, name="out")(x), name="convnet")


def _nested(L):
    inner_seq = L.Sequential([L.Input((5,)), L.layers.Dense(4, name="s1"),
                              L.layers.Dense(3, name="s2")], name="inner_seq")
    p, q = L.Input((3,), name="p"), L.Input((3,), name="q")
    f = L.layers.Dense(3, name="f")(q)
    inner_fn = L.Model([p, q], [L.layers.Add(name="plus")([p, f]), f], name="inner_fn")
    i = L.Input((5,), name="i")
    h = inner_seq(i)
    k = L.layers.Dense(3, name="k")(i)
    out, second = inner_fn([h, k])  # the second output comes from `f` inside
    return L.Model(i, [L.layers.Dense(1, name="head")(out), L.layers.Dense(2, name="tail")(second)],
                   name="outer")


def _shared_shapes(L):
    """A layer shared across inputs of different shapes shows its first call's shapes."""
    inp = L.Input((3,), name="inp")
    shared = L.layers.Dense(2, name="shared")
    wide = shared(L.layers.Reshape((1, 3), name="r")(inp))
    twice = L.layers.Add(name="twice")([inp, inp])  # one arrow, as in Keras
    return L.Model(inp, [wide, shared(inp), twice], name="shapes")


def _seq_in_seq(L):
    inner = L.Sequential([L.Input((4,)), L.layers.Dense(3, name="in1"),
                          L.layers.Dense(2, name="in2")], name="inner")
    return L.Sequential([L.Input((4,)), inner, L.layers.Dense(1, name="last")], name="outer_seq")


ARCHS = [_sequential, _multi_io_shared, _conv, _nested, _seq_in_seq, _shared_shapes]


def _text(label: str) -> str:
    return re.sub(r"<[^>]*>", "", label[1:-1]) if label.startswith("<<") else label


def _nodes(graph) -> dict:
    return {n.get_name(): _text(n.get("label")) for n in graph.get_nodes()
            if n.get_name() not in ("node", "edge", "graph")}


def _describe(dot) -> dict:
    """Boxes (label text by layer name), arrows between layer names, clusters' members."""
    ids, clusters, edges = {}, {}, []

    def walk(graph, cluster):
        for node_id, text in _nodes(graph).items():
            name = re.match(r"(\S+)", text).group(1)
            ids[node_id] = text
            if cluster is not None:
                clusters.setdefault(cluster, set()).add(name)
        edges.extend((e.get_source(), e.get_destination()) for e in graph.get_edges())
        for sub in graph.get_subgraphs():
            walk(sub, sub.get_name())

    walk(dot, None)
    name = {i: re.match(r"(\S+)", t).group(1) for i, t in ids.items()}
    return {"labels": sorted(ids.values()), "edges": sorted((name[s], name[d]) for s, d in edges),
            "clusters": {k: sorted(v) for k, v in clusters.items()},
            "graph": {k: dot.get(k) for k in ("rankdir", "dpi", "splines", "concentrate")}}


OPTIONS = [
    {},
    {"show_shapes": True},
    {"show_shapes": True, "show_dtype": True, "show_layer_activations": True,
     "show_trainable": True, "rankdir": "LR", "dpi": 96},
    {"show_layer_names": False, "show_dtype": True},
    {"expand_nested": True},
    {"expand_nested": True, "show_shapes": True, "show_trainable": True},
]
_KERAS: dict = {}


def _keras_graphs(arch) -> list:
    """Keras's descriptions for every option set (they do not depend on nhanh's engine, so
    they are computed once per session)."""
    if arch not in _KERAS:
        model = arch(keras)
        _KERAS[arch] = [_describe(keras.utils.model_to_dot(model, **o)) for o in OPTIONS]
    return _KERAS[arch]


@pytest.mark.parametrize("arch", ARCHS, ids=lambda f: f.__name__)
def test_model_to_dot_matches_keras(arch):
    model = arch(nhanh)
    for options, theirs in zip(OPTIONS, _keras_graphs(arch)):
        ours = _describe(model_to_dot(model, **options))
        assert ours == theirs, options
    if arch in (_nested, _seq_in_seq):  # nested models became clusters
        assert theirs["clusters"]


def test_details_a_user_sees():
    """Spot checks of what the Keras comparison covers, against known answers."""
    d = _describe(model_to_dot(_multi_io_shared(nhanh), show_shapes=True, show_trainable=True))
    assert ("shared", "shared") in d["edges"]  # a shared layer called on its own output
    assert ("b", "side") in d["edges"] and ("b", "cat") in d["edges"]
    assert "cat (Concatenate)Input shape: [(None, 3), (None, 4)]Output shape: (None, 7)" \
        in d["labels"]
    assert any(t.startswith("shared (Dense)") and t.endswith("Non-trainable")
               for t in d["labels"])
    assert len(d["labels"]) == 7


def test_subclassed_model_is_one_box_like_keras():
    def make(L):
        class Sub(L.Model):
            def __init__(self):
                super().__init__(name="sub")
                self.dense = L.layers.Dense(2, name="inner_dense")

            def call(self, x):
                return self.dense(x)

        model = Sub()
        model(np.ones((2, 3), "float32"))
        return model

    options = dict(show_shapes=True, show_dtype=True, show_trainable=True)
    ours = _describe(model_to_dot(make(nhanh), **options))
    assert ours == _describe(keras.utils.model_to_dot(make(keras), **options))
    assert ours["labels"] == ["sub (Sub)Input shape: ?Output shape: ?Output dtype: ?Trainable"]


def test_unbuilt_model_and_bad_arguments_raise():
    model = nhanh.Sequential([nhanh.layers.Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        model_to_dot(model)
    with pytest.raises(ValueError, match="not built"):
        plot_model(model)
    built = _sequential(nhanh)
    with pytest.raises(ValueError, match="layer_range"):
        model_to_dot(built, layer_range=["d1", "d2"])
    with pytest.raises(ValueError, match="unexpected keyword"):
        model_to_dot(built, show_shape=True)
    with pytest.raises(ValueError, match="rankdir"):
        model_to_dot(built, rankdir="sideways")


@pytest.mark.engine_independent
def test_plot_model_writes_real_files(tmp_path):
    from IPython import display

    model = _multi_io_shared(nhanh)
    png = plot_model(model, to_file=tmp_path / "m.png", show_shapes=True, dpi=50)
    data = (tmp_path / "m.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and isinstance(png, display.Image)
    svg = plot_model(model, to_file=str(tmp_path / "m.svg"), show_layer_names=True)
    root = ET.parse(tmp_path / "m.svg").getroot()
    assert root.tag.endswith("svg") and isinstance(svg, display.SVG)
    assert "shared" in (tmp_path / "m.svg").read_text()  # the layer names are drawn
    assert plot_model(model, to_file=tmp_path / "m.pdf") is None
    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")
    plot_model(model, to_file=tmp_path / "m.dot", expand_nested=True)
    assert "digraph" in (tmp_path / "m.dot").read_text()
    assert sorted(os.listdir(tmp_path)) == ["m.dot", "m.pdf", "m.png", "m.svg"]
    with pytest.raises(ValueError, match="format 'nonsense'"):
        plot_model(model, to_file=tmp_path / "m.nonsense")
    assert not any(n.startswith("m.nonsense") for n in os.listdir(tmp_path))


@pytest.mark.engine_independent
def test_missing_pydot_says_how_to_install(tmp_path, monkeypatch):
    model = _sequential(nhanh)
    monkeypatch.setitem(sys.modules, "pydot", None)  # `import pydot` now fails
    with pytest.raises(ImportError, match="pip install pydot"):
        plot_model(model, to_file=tmp_path / "m.png")
    with pytest.raises(ImportError, match="pip install pydot"):
        model_to_dot(model)
    assert os.listdir(tmp_path) == []


@pytest.mark.engine_independent
def test_missing_graphviz_says_how_to_install(tmp_path, monkeypatch):
    model = _sequential(nhanh)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` to be found
    with pytest.raises(ImportError, match="Graphviz") as err:
        plot_model(model, to_file=tmp_path / "m.png")
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install graphviz"):
        assert hint in str(err.value)
    assert os.listdir(tmp_path) == []
    assert model_to_dot(model) is not None  # building the graph needs no Graphviz
