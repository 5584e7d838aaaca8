"""Config: a dict of experiment settings read and written as attributes, that can be frozen.

Keras ships it (keras.utils.Config) for hyper-parameter bundles: `config.learning_rate`
instead of `config["learning_rate"]`, and `freeze()` once the run starts so that a late
assignment fails loudly instead of silently changing an experiment halfway.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import MutableMapping
from typing import Any, Iterator


class Config(MutableMapping):
    """A mapping whose keys are also attributes; `freeze()` makes it read-only.

    As in Keras, iterating gives the keys in sorted order, while `keys()`, `values()` and
    `items()` keep the order the settings were made in.

    Args:
        **kwargs: The initial settings.
    """

    def __init__(self, **kwargs: Any):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        """Whether `freeze()` was called (and `unfreeze()` not since)."""
        return self._frozen

    def freeze(self) -> None:
        """Refuse every later change (assignment, deletion, `update`, `pop`)."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        """Allow changes again."""
        object.__setattr__(self, "_frozen", False)

    def _check_not_frozen(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen; "
                             "call unfreeze() first.")

    def as_dict(self) -> dict:
        """A shallow copy of the settings as a plain dict."""
        return dict(self._config)

    def to_json(self) -> str:
        """The settings as a JSON string."""
        return json.dumps(self._config)

    def keys(self):
        """The setting names, in the order they were made."""
        return self._config.keys()

    def values(self):
        """The setting values, in the order they were made."""
        return self._config.values()

    def items(self):
        """(name, value) pairs, in the order they were made."""
        return self._config.items()

    def __getattr__(self, name: str):
        config = object.__getattribute__(self, "_config")
        if name in config:
            return config[name]
        close = difflib.get_close_matches(name, [str(k) for k in config], n=1, cutoff=0.7)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise AttributeError(f"Unknown attribute: '{name}'.{hint}")

    def __setattr__(self, name: str, value) -> None:
        if name in ("frozen",) or hasattr(type(self), name):
            raise AttributeError(f"'{name}' is a method or property of Config, not a setting.")
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute: '{name}'.") from None

    def __getitem__(self, key):
        return self._config[key]

    def __setitem__(self, key, value) -> None:
        self._check_not_frozen()
        self._config[key] = value

    def __delitem__(self, key) -> None:
        self._check_not_frozen()
        del self._config[key]

    def __iter__(self) -> Iterator:
        return iter(sorted(self._config))

    def __len__(self) -> int:
        return len(self._config)

    def __contains__(self, key) -> bool:
        return key in self._config

    def __repr__(self) -> str:
        return f"<Config {self._config}>"
