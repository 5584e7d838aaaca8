"""nhanh.tree against keras.tree on many nested structures (pure Python: engine_independent)."""

import collections
import os

import pytest

from nhanh import tree

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.engine_independent

Point = collections.namedtuple("Point", ["y", "x"])
STRUCTURES = [
    1, None, "s", [], (), {}, [1, 2, 3], (1, [2, (3, 4)]), [None, 1, None],
    {"b": 1, "a": 2, "c": [3, 4]}, {3: "x", 1: "y", 2: None},
    collections.OrderedDict([("b", 1), ("a", 2)]), Point(y=1, x=[2, 3]),
    [Point(1, 2), {"z": (None,), "a": Point([], {})}], {"k": {"j": {"i": [1, (2,)]}}},
    collections.defaultdict(list, {"b": 1, "a": [2]}), collections.deque([1, [2, 3]]),
    [[1], [2, [3, [4, [5]]]]], ([1],), {"a": []},
]


@pytest.mark.parametrize("s", STRUCTURES, ids=lambda s: repr(s)[:30])
def test_flatten_family_matches_keras(s):
    assert tree.is_nested(s) == keras.tree.is_nested(s)
    assert tree.flatten(s) == keras.tree.flatten(s)
    assert tree.flatten_with_path(s) == keras.tree.flatten_with_path(s)
    packed = tree.pack_sequence_as(s, [f"l{i}" for i in range(len(tree.flatten(s)))])
    assert packed == keras.tree.pack_sequence_as(s, [f"l{i}" for i in range(
        len(keras.tree.flatten(s)))])
    if tree.is_nested(s):
        assert type(packed) is type(s)
    f = lambda v: ("leaf", v)  # noqa: E731
    assert tree.map_structure(f, s) == keras.tree.map_structure(f, s)
    assert tree.map_structure(f, s, none_is_leaf=False) == \
        keras.tree.map_structure(f, s, none_is_leaf=False)
    assert tree.lists_to_tuples(s) == keras.tree.lists_to_tuples(s)
    assert repr(tree.lists_to_tuples(s)) == repr(keras.tree.lists_to_tuples(s))


@pytest.mark.parametrize("top_down", [True, False])
@pytest.mark.parametrize("s", STRUCTURES[6:], ids=lambda s: repr(s)[:30])
def test_traverse_matches_keras(s, top_down):
    ours, theirs = [], []
    assert tree.traverse(ours.append, s, top_down) == keras.tree.traverse(theirs.append, s,
                                                                          top_down)
    assert ours == theirs
    cut = lambda x: tree.MAP_TO_NONE if isinstance(x, tuple) else None  # noqa: E731
    kcut = lambda x: keras.tree.MAP_TO_NONE if isinstance(x, tuple) else None  # noqa: E731
    assert tree.traverse(cut, s, top_down) == keras.tree.traverse(kcut, s, top_down)


def test_traverse_top_down_stops_descent():
    seen = []

    def f(x):
        seen.append(x)
        return "cut" if x == [2, 3] else None

    assert tree.traverse(f, [1, [2, 3]]) == [1, "cut"]
    assert 2 not in seen


PAIRS = [
    ([1, 2], [3, 4]), ([1, 2], (3, 4)), ([1, [2]], [3, 4]), ({"a": 1}, {"b": 1}),
    ({"a": 1, "b": 2}, {"b": 3, "a": 4}), (Point(1, 2), (1, 2)), (None, 1), ([None], [[1]]),
    ({"a": [1, None]}, {"a": [2, 3]}), ((1, (2, 3)), (4, (5, 6))),
]


def _outcome(fn):
    try:
        return fn()
    except (ValueError, TypeError) as e:
        return type(e)


@pytest.mark.parametrize("a,b", PAIRS, ids=repr)
def test_structure_checks_match_keras(a, b):
    for name in ("assert_same_structure", "assert_same_paths"):
        ours = _outcome(lambda: getattr(tree, name)(a, b))
        theirs = _outcome(lambda: getattr(keras.tree, name)(a, b))
        assert ours == theirs, name
    add = lambda x, y: (x, y)  # noqa: E731
    ours = _outcome(lambda: tree.map_structure(add, a, b))
    theirs = _outcome(lambda: keras.tree.map_structure(add, a, b))
    assert ours == theirs


def test_map_structure_up_to_and_shapes_match_keras():
    shallow, deep = [1, {"a": 2}], [[1, 2], {"a": (3, [4])}]
    f = lambda x: ("sub", x)  # noqa: E731
    assert tree.map_structure_up_to(shallow, f, deep) == \
        keras.tree.map_structure_up_to(shallow, f, deep)
    g = lambda x, y: (x, y)  # noqa: E731
    assert tree.map_structure_up_to(shallow, g, deep, deep) == \
        keras.tree.map_structure_up_to(shallow, g, deep, deep)
    shapes = {"x": (None, 3), "y": [(2,), [4, None]], "z": None, "w": ()}
    h = lambda s: ("shape", s)  # noqa: E731
    assert tree.map_shape_structure(h, shapes) == keras.tree.map_shape_structure(h, shapes)
    with pytest.raises(ValueError):
        tree.map_structure_up_to([1, 2], f, [1])


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="2 leaves but `flat_sequence` has 3"):
        tree.pack_sequence_as([1, 2], [1, 2, 3])
    with pytest.raises(TypeError, match="at least one structure"):
        tree.map_structure(lambda x: x)
    with pytest.raises(ValueError, match="Paths in `a` missing in `b`"):
        tree.assert_same_paths({"a": 1}, {"b": 1})
    with pytest.warns(DeprecationWarning):
        tree.assert_same_structure([1], [2], check_types=True)
