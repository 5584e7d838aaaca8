"""Nested structures (lists, tuples, namedtuples, dicts, None leaves), as keras.tree has them.

Built on `optree`, the C++ pytree library Keras itself uses: the rules (dicts flattened in
sorted-key order, OrderedDicts and defaultdicts in their own order, `None` a leaf, namedtuples
and deques nodes) are optree's, so they match Keras's exactly instead of being re-derived.
nhanh registers its own node types under the "nhanh" namespace; nothing here touches a
global registry another library reads.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import optree

_NS = "nhanh"


class MAP_TO_NONE:
    """Return this class from a `traverse` function to replace a sub-tree with `None`
    (returning `None` itself means "keep going / keep it")."""


def register_tree_node_class(cls):
    """Make a class with `tree_flatten` / `tree_unflatten` methods a node of nhanh's trees."""
    return optree.register_pytree_node_class(cls, namespace=_NS)


def _is_leaf(x, **kw) -> bool:
    return optree.tree_is_leaf(x, none_is_leaf=True, namespace=_NS, **kw)


def is_nested(structure) -> bool:
    """Whether `structure` is a list, tuple, namedtuple, dict or other registered node.

    Args:
        structure: Any object.

    Returns:
        True for a container optree traverses, False for a leaf (including `None`).
    """
    return not _is_leaf(structure)


def traverse(func: Callable, structure, top_down: bool = True):
    """Apply `func` to every sub-tree, parents first (`top_down`) or children first.

    Top-down, a non-`None` result replaces the sub-tree and stops the descent into it;
    bottom-up, a non-`None` result replaces the already traversed sub-tree. Return
    `MAP_TO_NONE` to put `None` in its place.

    Args:
        func: Called on each sub-tree, leaves included.
        structure: The nested structure.
        top_down: Visit parents before their children.

    Returns:
        The structure with the replacements made.
    """
    if not callable(func):
        raise TypeError(f"traverse: `func` must be callable, got {func!r}.")

    def children_done(node):
        kids, spec = optree.tree_flatten(node, is_leaf=lambda x: x is not node,
                                         none_is_leaf=True, namespace=_NS)
        if spec.num_nodes == 1 and spec.num_leaves == 1:  # a leaf
            return node
        return optree.tree_unflatten(spec, [traverse(func, k, top_down) for k in kids])

    if top_down:
        result = func(structure)
        if result is None:
            return children_done(structure)
    else:
        structure = children_done(structure)
        result = func(structure)
        if result is None:
            return structure
    return None if result is MAP_TO_NONE else result


def flatten(structure) -> list:
    """The leaves of `structure`, depth first, dict values in sorted-key order.

    Args:
        structure: An arbitrarily nested structure; a leaf flattens to `[leaf]`.

    Returns:
        A list of the leaves (`None` is a leaf).
    """
    leaves, _ = optree.tree_flatten(structure, none_is_leaf=True, namespace=_NS)
    return leaves


def flatten_with_path(structure) -> list[tuple[tuple, Any]]:
    """`(path, leaf)` pairs: a path is the tuple of indices and keys leading to the leaf.

    Args:
        structure: An arbitrarily nested structure.

    Returns:
        A list of `(path, leaf)` in `flatten`'s order.
    """
    paths, leaves, _ = optree.tree_flatten_with_path(structure, none_is_leaf=True,
                                                     namespace=_NS)
    return list(zip(paths, leaves))


def _mismatch(*args):
    raise ValueError("Structures don't have the same nested structure: "
                     f"{', '.join(type(a).__name__ for a in args)} where one is a leaf and "
                     "another a container. Use nhanh.tree.assert_same_structure to see "
                     "where they differ.")


def map_structure(func: Callable, *structures, none_is_leaf: bool = True):
    """Apply `func` to the corresponding leaves of one or more same-shaped structures.

    Args:
        func: Takes one leaf from each structure.
        *structures: Structures of the same layout (types included).
        none_is_leaf: If False, `None` entries are kept as `None` and not passed to `func`.

    Returns:
        A structure of `func`'s results with the first structure's layout.
    """
    if not structures:
        raise TypeError("map_structure needs at least one structure after `func`.")
    if not callable(func):
        raise TypeError(f"map_structure: `func` must be callable, got {func!r}.")
    if len(structures) == 1 and not is_nested(structures[0]):
        return None if structures[0] is None and not none_is_leaf else func(structures[0])

    def checked(*leaves):
        if not all(optree.tree_is_leaf(s, none_is_leaf=none_is_leaf, namespace=_NS)
                   for s in leaves):
            _mismatch(*leaves)
        return func(*leaves)

    return optree.tree_map(checked if len(structures) > 1 else func, *structures,
                           none_is_leaf=none_is_leaf, namespace=_NS)


def map_structure_up_to(shallow_structure, func: Callable, *structures):
    """Like `map_structure`, but only down to `shallow_structure`'s depth: what lies below
    one of its leaves is handed to `func` whole.

    Args:
        shallow_structure: A prefix of each of `structures`.
        func: Takes one sub-tree from each structure (not from `shallow_structure`).
        *structures: Structures at least as deep as `shallow_structure`.

    Returns:
        A structure with `shallow_structure`'s layout.
    """
    if not structures:
        raise TypeError("map_structure_up_to needs at least one structure after `func`.")

    def call(shallow, *subtrees):
        if not optree.tree_is_leaf(shallow):
            _mismatch(shallow, *subtrees)
        return func(*subtrees)

    return optree.tree_map(call, shallow_structure, *structures, none_is_leaf=True,
                           namespace=_NS)


def assert_same_structure(a, b, check_types=None) -> None:
    """Raise ValueError unless `a` and `b` nest the same way with the same container types.

    Args:
        a: A structure.
        b: Another structure.
        check_types: Deprecated in Keras and ignored (warns); use `assert_same_paths` for
            the looser check that treats lists, tuples and namedtuples alike.
    """
    if check_types is not None:
        warnings.warn("assert_same_structure: `check_types` no longer has any effect; remove "
                      "it (assert_same_paths is the looser check).", DeprecationWarning,
                      stacklevel=2)

    def check(x, y):
        if not (_is_leaf(x) and _is_leaf(y)):
            _mismatch(x, y)

    try:
        optree.tree_map(check, a, b, none_is_leaf=True, namespace=_NS)
    except ValueError as e:
        raise ValueError(f"`a` and `b` don't have the same nested structure: {e}") from None


def assert_same_paths(a, b) -> None:
    """Raise ValueError unless `a` and `b` have the same set of leaf paths (container types
    may differ: a list and a tuple of two leaves have the same paths).

    Args:
        a: A structure.
        b: Another structure.
    """
    a_paths = set(optree.tree_paths(a, none_is_leaf=True, namespace=_NS))
    b_paths = set(optree.tree_paths(b, none_is_leaf=True, namespace=_NS))
    if a_paths != b_paths:
        only_a, only_b = sorted(a_paths - b_paths, key=repr), sorted(b_paths - a_paths, key=repr)
        raise ValueError("`a` and `b` don't have the same paths."
                         + (f"\nPaths in `a` missing in `b`:\n{only_a}" if only_a else "")
                         + (f"\nPaths in `b` missing in `a`:\n{only_b}" if only_b else ""))


def pack_sequence_as(structure, flat_sequence):
    """Put the leaves of `flat_sequence`, in order, into `structure`'s layout
    (the inverse of `flatten`).

    Args:
        structure: The layout to fill.
        flat_sequence: As many leaves as `structure` has.

    Returns:
        A structure like `structure` holding `flat_sequence`'s items.
    """
    _, spec = optree.tree_flatten(structure, none_is_leaf=True, namespace=_NS)
    flat_sequence = list(flat_sequence)
    if len(flat_sequence) != spec.num_leaves:
        raise ValueError(f"pack_sequence_as: `structure` has {spec.num_leaves} leaves but "
                         f"`flat_sequence` has {len(flat_sequence)} items; pass exactly one "
                         "item per leaf.")
    return optree.tree_unflatten(spec, flat_sequence)


def lists_to_tuples(structure):
    """The same structure with every list (at any depth) turned into a tuple."""
    return traverse(lambda x: tuple(x) if isinstance(x, list) else None, structure,
                    top_down=False)


def _is_shape(x) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)


def map_shape_structure(func: Callable, structure):
    """`map_structure` where a list or tuple of ints and `None`s (a shape) is one leaf.

    Args:
        func: Called on each shape (and on each other leaf).
        structure: Nested shapes.

    Returns:
        The structure of `func`'s results.
    """
    return optree.tree_map(func, structure, is_leaf=_is_shape, none_is_leaf=True,
                           namespace=_NS)


__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
           "flatten_with_path", "is_nested", "lists_to_tuples", "map_shape_structure",
           "map_structure", "map_structure_up_to", "pack_sequence_as", "register_tree_node_class",
           "traverse"]
