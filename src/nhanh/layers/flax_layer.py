"""FlaxLayer: a flax.linen Module as an nhanh layer (JAX engine only), Keras 3's API.

It is a JaxLayer whose call_fn is `module.apply`: the Module's "params" collection becomes the
trainable weights and every other collection ("batch_stats", ...) the non-trainable state,
which `apply` may update (those collections are passed as `mutable`, the new values assigned).
The layer never imports flax itself: it only calls the Module's own `init` and `apply`, so
nhanh needs flax only where a user brings a Module.
"""

from __future__ import annotations

import inspect

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
        """The module object itself (flax Modules have no nhanh serialization yet) and the
        method's name when it is one of the module's methods."""
        method = self.method
        if getattr(method, "__self__", None) is self.module:
            method = method.__name__
        return {**super().get_config(), "module": self.module, "method": method}
