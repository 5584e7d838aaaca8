"""DTypePolicyMap: one policy per layer path, with a default (Keras 3's, for composite layers).

A layer given a map looks its own path up in it. A key matches exactly first; otherwise every
key is a regular expression that must match the whole path (`re.fullmatch`), and a path that
two patterns match raises rather than choosing one. A path nothing matches gets the default.

Unlike Keras, the config keeps each entry's name when the default is None (Keras writes None
for the names there, so its maps lose their entries on a round trip).
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Iterator

from nhanh.dtype_policies.dtype_policy import DTypePolicy


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """A dict from layer paths (or path patterns) to `DTypePolicy`s, itself a policy.

    Args:
        default_policy: Policy (or name) of paths the map does not name; `None` follows the
            global policy (`nhanh.config.dtype_policy()`) at the time of each lookup.
        policy_map: Dict of path (or regex) -> policy or policy name.
    """

    def __init__(self, default_policy=None, policy_map: dict | None = None):
        from nhanh import dtype_policies

        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError("DTypePolicyMap: `default_policy` cannot be a DTypePolicyMap; "
                             "give a policy or a policy name.")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError("DTypePolicyMap: `policy_map` must be a dict of path -> policy, "
                            f"got {type(policy_map).__name__}.")
        self._default_policy_arg = default_policy
        self._default_policy = None if default_policy is None else \
            dtype_policies.get(default_policy)
        self._policy_map: dict[str, DTypePolicy] = {}
        for key, policy in (policy_map or {}).items():
            self[key] = policy

    @property
    def default_policy(self) -> DTypePolicy:
        """The policy of unnamed paths (the global policy when the map was given none)."""
        from nhanh import dtype_policies

        return dtype_policies.get(self._default_policy)

    @property
    def _name(self) -> str:
        return f"map_{self.default_policy.name}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return self.default_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self.default_policy.variable_dtype

    def __getitem__(self, key: str) -> DTypePolicy:
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"DTypePolicyMap: path {key!r} matches several keys {matches}; "
                             "make each path match at most one key.")
        return self._policy_map[matches[0]] if matches else self.default_policy

    def __setitem__(self, key: str, policy) -> None:
        from nhanh import dtype_policies

        if key in self._policy_map:
            raise ValueError(f"DTypePolicyMap: key {key!r} is already set to "
                             f"{self._policy_map[key]!r}; delete it first to replace it.")
        try:
            policy = dtype_policies.get(policy)
        except (TypeError, ValueError) as e:
            raise ValueError(f"DTypePolicyMap: cannot use {policy!r} as the policy of "
                             f"{key!r}: {e}") from None
        self._policy_map[key] = policy

    def __delitem__(self, key: str) -> None:
        del self._policy_map[key]

    def __contains__(self, key) -> bool:
        return key in self._policy_map

    def __len__(self) -> int:
        return len(self._policy_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._policy_map)

    def __eq__(self, other) -> bool:
        return isinstance(other, DTypePolicyMap) and \
            self._default_policy_arg == other._default_policy_arg and \
            self._policy_map == other._policy_map

    __hash__ = None  # mutable

    def get_config(self) -> dict:
        from nhanh import dtype_policies

        default = self._default_policy_arg
        if isinstance(default, DTypePolicy):
            default = default.name
        return {"default_policy": default,
                "policy_map": {k: dtype_policies.serialize(v)
                               for k, v in self._policy_map.items()}}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> "DTypePolicyMap":
        from nhanh import dtype_policies

        config = dict(config)
        # Keras writes a policy as its dict or, for a plain one, as its name.
        config["policy_map"] = {k: dtype_policies.deserialize(v) if isinstance(v, dict) else v
                                for k, v in (config.get("policy_map") or {}).items()}
        return cls(**config)

    def __repr__(self) -> str:
        mapping = [(k, v.name) for k, v in self._policy_map.items()]
        return f"<DTypePolicyMap default_policy={self.default_policy.name}, mapping={mapping}>"
