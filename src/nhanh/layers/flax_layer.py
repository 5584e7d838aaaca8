"""FlaxLayer: a flax.linen Module as an nhanh layer (JAX engine only), Keras 3's API.

It is a JaxLayer whose call_fn is `module.apply`: the Module's "params" collection becomes the
trainable weights and every other collection ("batch_stats", ...) the non-trainable state,
which `apply` may update (those collections are passed as `mutable`, the new values assigned).
The layer never imports flax itself: it only calls the Module's own `init` and `apply`, so
nhanh needs flax only where a user brings a Module.
"""

from __future__ import annotations

import dataclasses
import inspect
import json

from nhanh.layers.jax_layer import JaxLayer, _engine_module


def _split(variables):
    """Flax variables -> (params, state), each keeping its collection names as keys."""
    if variables is None:
        return None, None
    variables = dict(variables)
    params = {"params": variables.pop("params")} if "params" in variables else {}
    return params, variables


class FlaxLayer(JaxLayer):
    """Wraps a `flax.linen.Module` whose variables are trained as this layer's weights.

    Args:
        module: The flax.linen Module instance.
        method: The Module method to call (a bound method, or its name); None is `__call__`.
            If its signature has `training`, the layer passes its training flag.
        variables: The Module's variables (as `module.init` returns them); None initializes
            them at build, from placeholder inputs of the input shape.
        **kwargs: Base-layer keywords (`name`, `trainable`, `dtype`, `seed`, ...).
    """

    def __init__(self, module, method=None, variables=None, **kwargs):
        _engine_module(type(self).__name__)  # a clear error on the PyTorch engine, first
        if not (callable(getattr(module, "apply", None)) and callable(getattr(module, "init",
                                                                              None))):
            raise TypeError(f"FlaxLayer `module` must be a flax.linen Module (with init and "
                            f"apply), got {type(module).__name__}.")
        if isinstance(method, str):
            method = getattr(module, method)
        self.module, self.method = module, method
        target = method or module.__call__
        takes_training = "training" in inspect.signature(target).parameters

        def apply(params, state, rng, inputs, training):
            extra = {"training": training} if takes_training else {}
            mutable = list(state) if state else False  # the state collections, not params
            result = module.apply({**(params or {}), **(state or {})}, inputs, rngs=rng,
                                  method=method, mutable=mutable, **extra)
            return result if mutable else (result, state)

        def init(rng, inputs, training):
            extra = {"training": training} if takes_training else {}
            return _split(module.init(rng, inputs, method=method, **extra))

        params, state = _split(variables)
        super().__init__(call_fn=apply, init_fn=init, params=params, state=state, **kwargs)

    def _init_rng(self, key):
        return {"params": key, "dropout": key}

    def _call_rng(self, key):
        return None if key is None else {"dropout": key}

    def get_config(self) -> dict:
        """Keras's keys: the Module as a class reference and its non-default dataclass fields
        (JSON), the method by name when it is one of the Module's own; call_fn and init_fn
        are made from the Module, so they are not written."""
        method = self.method
        if getattr(method, "__self__", None) is self.module:
            method = method.__name__
        return {**super(JaxLayer, self).get_config(), "module": _module_config(self.module),
                "method": method}

    @classmethod
    def from_config(cls, config_: dict, custom_objects: dict | None = None) -> "FlaxLayer":
        """The Module's class comes from `custom_objects` only: a config never makes nhanh
        import the module it names."""
        config_ = dict(config_)
        spec = config_.get("module")
        if isinstance(spec, dict):
            name = spec.get("registered_name") or spec.get("class_name")
            module_cls = (custom_objects or {}).get(name) or (custom_objects or {}).get(
                spec.get("class_name"))
            if module_cls is None:
                raise ValueError(
                    f"FlaxLayer {config_.get('name')!r}: its flax Module class {name!r} "
                    f"(from {spec.get('module')!r}) is not imported from a config, since "
                    "importing what a file names can run arbitrary code. Pass it: "
                    f"FlaxLayer.from_config(config, custom_objects={{{name!r}: {name}}}).")
            config_["module"] = module_cls(**(spec.get("config") or {}))
        return cls(**config_)


def _module_config(module) -> dict:
    """`{"module", "class_name", "config", "registered_name"}` for a flax Module: its
    dataclass fields that differ from their defaults, each of which must be JSON."""
    fields = {}
    for field in dataclasses.fields(module):
        if field.name == "parent":
            continue
        value = getattr(module, field.name)
        if field.default is not dataclasses.MISSING and (value is field.default or (
                type(value) is type(field.default) and value == field.default)):
            continue
        try:
            json.dumps(value)
        except TypeError:
            raise ValueError(
                f"FlaxLayer: the Module field {type(module).__name__}.{field.name}="
                f"{value!r} cannot be written in a JSON config. Leave it at its default, or "
                "give the Module a plain value (a number, string or list) there.") from None
        fields[field.name] = value
    cls = type(module)
    return {"module": cls.__module__, "class_name": cls.__name__, "config": fields,
            "registered_name": cls.__name__}
