"""Unknown names: the message a user sees, for every family that looks names up.

It must use the right plural, list each object once under its canonical name with the other
accepted spellings in parentheses ('mean_squared_error (mse)'), suggest close matches, and
every spelling it lists must really work.
"""

import re

import pytest

from nhanh import (activations, constraints, initializers, losses, metrics, optimizers,
                   regularizers)
from nhanh.optimizers import schedules
from nhanh.registry import plural

pytestmark = pytest.mark.engine_independent  # name lookup only

# (getter, a typo, kind as printed, plural as printed, the close match it must suggest,
#  how many distinct objects the family has)
FAMILIES = [
    (losses.get, "mean_sqared_error", "loss", "losses", "mean_squared_error",
     len(losses.FUNCTIONS)),
    (metrics.get, "acuracy", "metric", "metrics", "accuracy", None),
    (metrics.function_by_name, "binary_acc", "metric function", "metric functions",
     "binary_accuracy", None),
    (activations.get, "relux", "activation", "activations", "relu", None),
    (initializers.get, "glorot_unifrom", "initializer", "initializers", "glorot_uniform",
     None),
    (optimizers.get, "adm", "optimizer", "optimizers", "adam",
     len(set(optimizers.ALL_OPTIMIZERS.values()) - set(optimizers._WRAPPERS))),  # by name
    (regularizers.get, "l22", "regularizer", "regularizers", "l2", None),
    (constraints.get, "max_nrm", "constraint", "constraints", "max_norm", None),
]


def _message(getter, name) -> str:
    with pytest.raises(ValueError) as info:
        getter(name)
    return str(info.value)


def _listing(message: str, plural_word: str) -> list[tuple[str, list[str]]]:
    body = message.split(f"Known {plural_word}: ", 1)[1].rstrip(".")
    return [(name, aliases.split(", ") if aliases else [])
            for name, aliases in re.findall(r"([\w\-]+)(?: \(([^)]*)\))?(?:, |$)", body)]


@pytest.mark.parametrize("getter, typo, kind, plural_word, close, count", FAMILIES)
def test_unknown_name_message(getter, typo, kind, plural_word, close, count):
    message = _message(getter, typo)
    assert message.startswith(f"Unknown {kind} {typo!r}. Did you mean {close!r}")
    assert f"Known {plural_word}: " in message
    listing = _listing(message, plural_word)
    spellings = [s for name, aliases in listing for s in (name, *aliases)]
    assert len(spellings) == len(set(spellings)), listing  # each spelling once
    if count is not None:
        assert len(listing) == count, listing  # each object once
    for name, aliases in listing:  # every listed spelling works, aliases mean the same
        try:
            obj = getter(name)
        except ValueError as e:  # a class that cannot exist without arguments says which
            assert "needs arguments" in str(e), (name, e)
            continue
        for alias in aliases:
            other = getter(alias)
            assert type(other) is type(obj) and getattr(other, "__name__", None) == \
                getattr(obj, "__name__", None), (name, alias)


def test_loss_listing_is_canonical_and_free_of_squashed_class_names():
    message = _message(losses.get, "foo")
    assert "Did you mean" not in message and "losss" not in message
    listing = dict(_listing(message, "losses"))
    assert listing["mean_squared_error"] == ["mse"]
    assert listing["kl_divergence"] == ["kld", "kullback_leibler_divergence"]
    assert "meansquarederror" not in message and "MeanSquaredError" not in message
    assert sorted(listing) == sorted(losses.FUNCTIONS)


def test_deserializing_an_unknown_class_lists_class_names():
    message = _message(losses.deserialize, {"class_name": "MeanSquaredErorr", "config": {}})
    assert message.startswith("Unknown loss 'MeanSquaredErorr'. Did you mean "
                              "'MeanSquaredError'")
    assert "Known losses: BinaryCrossentropy, BinaryFocalCrossentropy, " in message
    message = _message(schedules.deserialize, {"class_name": "ExpDecay", "config": {}})
    assert "Known learning rate schedules: CosineDecay, CosineDecayRestarts, ExponentialDecay, " \
           "InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay." in message


def test_suggestions_name_each_object_once():
    message = _message(losses.get, "mean_sqared_error")
    suggested = re.search(r"Did you mean (.*?)\?", message).group(1).split(" or ")
    assert suggested[0] == "'mean_squared_error'"
    assert "'meansquarederror'" not in suggested and len(set(suggested)) == len(suggested)


@pytest.mark.parametrize("noun, want", [
    ("loss", "losses"), ("metric", "metrics"), ("activation", "activations"),
    ("optimizer", "optimizers"), ("learning rate schedule", "learning rate schedules"),
    ("metric function", "metric functions"), ("box", "boxes"), ("policy", "policies"),
    ("key", "keys"),
])
def test_plural(noun, want):
    assert plural(noun) == want
