"""nhanh.utils.Config behaves as keras.utils.Config on the same operations."""

import os

import pytest

from nhanh.utils import Config

pytestmark = pytest.mark.engine_independent


@pytest.fixture(scope="module")
def keras_config():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    return keras.utils.Config


def _story(cls):
    """The same sequence of uses on either class; what each step gives, errors included."""
    seen = []

    def attempt(fn):
        try:
            seen.append(("ok", fn()))
        except Exception as e:  # noqa: BLE001 - the error's type is what is compared
            seen.append((type(e).__name__,))

    c = cls(zeta=1, alpha=2)
    attempt(lambda: c.alpha)
    c.lr = 0.5
    c["beta"] = 3
    attempt(lambda: (list(c), list(c.keys()), list(c.values()), list(c.items())))
    attempt(lambda: (len(c), "lr" in c, "nope" in c, c.get("nope", 7), c["lr"]))
    attempt(lambda: c.as_dict())
    attempt(lambda: c.to_json())
    attempt(lambda: c.missing)
    attempt(lambda: c["missing"])
    c.freeze()
    attempt(lambda: c.frozen)
    attempt(lambda: setattr(c, "lr", 1.0))
    attempt(lambda: c.__setitem__("lr", 1.0))
    attempt(lambda: c.update(lr=2.0))
    attempt(lambda: c.pop("lr"))
    attempt(lambda: c.__delitem__("lr"))
    attempt(lambda: c.lr)
    c.unfreeze()
    attempt(lambda: c.update(lr=2.0))
    attempt(lambda: (c.pop("beta"), c.lr, c.frozen))
    del c["zeta"]
    attempt(lambda: c.as_dict())
    return seen


def test_config_matches_keras_step_by_step(keras_config):
    assert _story(Config) == _story(keras_config)


def test_unknown_attribute_suggests_the_close_setting():
    c = Config(learning_rate=0.1)
    with pytest.raises(AttributeError, match="Did you mean 'learning_rate'"):
        c.learning_rat  # noqa: B018
    with pytest.raises(AttributeError, match="method or property"):
        c.freeze = 1
