"""model.summary() against real Keras 3's printed summary for the same architectures: the
same rows (name, type, output shape, parameter count, trainable flag, nested layers), the
same totals and sizes; and a table that stays aligned however long a layer name is."""

import os
import re

import numpy as np
import pytest

import nhanh
from nhanh.models import summary as summary_module


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich (Keras) and shutil (nhanh) both read it


def sequential(L):
    return L.Sequential([L.Input((2,)), L.layers.Dense(3, name="hidden"),
                         L.layers.BatchNormalization(name="norm"),
                         L.layers.Dense(1, name="out")], name="seq")


def two_inputs(L):
    a, b = L.Input((4,), name="a"), L.Input((3,), name="b")
    joined = L.layers.Concatenate(name="join")([a, b])
    return L.Model([a, b], L.layers.Dense(2, name="head")(joined), name="two")


def nested(L):
    inner = L.Sequential([L.Input((2,)), L.layers.Dense(500, name="wide"),
                          L.layers.Dense(1000, name="wider")], name="inner")
    inner.layers[0].trainable = False
    return L.Sequential([L.Input((2,)), inner, L.layers.Dense(1, name="last")],
                        name="outer")


def conv(L):
    return L.Sequential([L.Input((28, 28, 1)), L.layers.Conv2D(32, 3, name="conv"),
                         L.layers.Flatten(name="flat"), L.layers.Dense(10, name="cls")],
                        name="conv_net")


def text_of(model, **kwargs) -> str:
    out = []
    model.summary(print_fn=out.append, **kwargs)
    assert len(out) == 1  # one string, as Keras passes to a print_fn
    return out[0]


def keras_rows(text: str) -> list[tuple]:
    """(cells...) per row of Keras's rich table (rows here fit on one line)."""
    return [tuple(c.strip() for c in line.split("│")[1:-1])
            for line in text.splitlines() if line.startswith("│")]


def nhanh_rows(text: str, widths: list[int]) -> list[tuple]:
    lines = text.splitlines()
    first, last = [i for i, ln in enumerate(lines) if ln and set(ln) == {"="}]
    rows = []
    for line in lines[first + 1:last]:
        if line.strip():
            cuts = np.cumsum([0] + widths)
            rows.append(tuple(line[a:b].strip() for a, b in zip(cuts, cuts[1:])))
    return rows


def totals(text: str) -> list[str]:
    return [ln.rstrip() for ln in text.splitlines() if re.match(r" \w[\w-]* params: ", ln)]


def widths_of(header_cells: int, show_trainable: bool, chain: bool) -> list[int]:
    length = (88 if chain else 108) + (12 if show_trainable else 0)
    positions = [0.45, 0.80, 1.0] if chain else [0.3, 0.56, 0.74, 1.0]
    if show_trainable:
        positions = [p * 0.9 for p in positions] + [1.0]
    ends = [int(p * length) for p in positions]
    return [b - a for a, b in zip([0] + ends[:-1], ends)]


@pytest.mark.parametrize("build, kwargs", [
    (sequential, {}), (sequential, {"show_trainable": True}), (two_inputs, {}),
    (nested, {}), (nested, {"expand_nested": True, "show_trainable": True}), (conv, {}),
    (nested, {"layer_range": ["inner", "inner"]}),
])
def test_rows_and_totals_match_keras(build, kwargs, keras):
    want = text_of(build(keras), **kwargs)
    got = text_of(build(nhanh), **kwargs)
    chain = build is not two_inputs
    widths = widths_of(3, kwargs.get("show_trainable", False), chain)
    assert keras_rows(want) and nhanh_rows(got, widths) == keras_rows(want), (got, want)
    assert totals(got) == totals(want)
    assert got.splitlines()[0] == want.splitlines()[0]  # Model: "name"


def test_totals_count_optimizer_slots_after_training_as_keras(keras):
    def trained(L):
        model = sequential(L)
        model.compile(loss="mse", optimizer="adam")
        model.fit(np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32"), verbose=0)
        return model

    got, want = totals(text_of(trained(nhanh))), totals(text_of(trained(keras)))
    assert got == want and got[-1].startswith(" Optimizer params: ")


def test_sizes_are_printed_in_keras_units(keras):
    from keras.src.utils.summary_utils import readable_memory_size

    for n_bytes in [0, 4, 244, 1023, 1024, 2000, 4e6, 3 * 1024**3, 5 * 1024**4]:
        assert summary_module.readable_size(n_bytes) == readable_memory_size(n_bytes)
    assert summary_module.readable_size(244) == "244.00 B"


@pytest.mark.parametrize("show_trainable", [False, True])
def test_table_stays_aligned_with_a_long_layer_name(show_trainable):
    long_name = "a_rather_long_layer_name_that_goes_on_and_on_for_sixty_chars"
    assert len(long_name) == 60
    model = nhanh.Sequential([nhanh.Input((2,)), nhanh.layers.Dense(3, name=long_name),
                              nhanh.layers.Dense(1)], name="long")
    text = text_of(model, show_trainable=show_trainable)
    lines = text.splitlines()
    table = lines[1:lines.index(next(ln for ln in lines if ln.startswith(" Total")))]
    assert len({len(ln) for ln in table}) == 1, table  # every row the same width
    assert len(table[0]) == (100 if show_trainable else 88)
    assert long_name in re.sub(r"\s", "", "".join(ln.split("  ")[0] for ln in table))
    # the output shape and count stay in their own columns, on the row's first line
    row = next(ln for ln in table if ln.startswith(" a_rather"))
    widths = widths_of(3, show_trainable, True)
    assert row[widths[0]:widths[0] + widths[1]].strip() == "(None, 3)"
    assert row[widths[0] + widths[1]:sum(widths[:3])].strip() == "9"


def test_line_length_and_positions_set_the_columns():
    model = sequential(nhanh)
    lines = text_of(model, line_length=60, positions=[0.5, 0.8, 1.0]).splitlines()
    header = lines[2]
    assert len(header) == 60
    assert header.index("Output Shape") == 31 and header.rstrip().endswith("Param #")
    assert len(header.rstrip()) == 59  # right-aligned, one space of padding
    absolute = text_of(model, positions=[30, 48, 60]).splitlines()
    assert absolute[2] == header  # Keras 2's absolute positions give the same columns


def test_bad_arguments_raise_clear_errors():
    model = sequential(nhanh)
    with pytest.raises(ValueError, match="layer_range.*matches no layer.*hidden"):
        model.summary(layer_range=["nope", "out"])
    with pytest.raises(ValueError, match="`layer_range` must be two layer names"):
        model.summary(layer_range=["hidden"])
    with pytest.raises(ValueError, match="column 'Output Shape' would be 2 characters wide"):
        model.summary(line_length=20, positions=[0.5, 0.6, 1.0])
    unbuilt = nhanh.Sequential([nhanh.layers.Dense(1)])
    with pytest.raises(ValueError, match="not built yet"):
        unbuilt.summary()
