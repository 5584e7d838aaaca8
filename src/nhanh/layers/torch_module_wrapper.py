"""TorchModuleWrapper: a torch.nn.Module used as an nhanh layer (PyTorch engine only).

Keras's wrapper lets its Variables share the module's Parameters and calls the module as it
is. nhanh's training step is a pure function of the state it is handed, so the module's
parameters and persistent buffers are copied into Variables once, at wrapping, and each call
runs the module on the Variables' current values (`torch.func.functional_call`). Gradients
therefore reach the Variables, `fit` trains them, and batch-norm statistics are state the
step carries. The module's own tensors keep their initial values until `sync_module()` copies
the Variables into them (for using the module in plain PyTorch again).
"""

from __future__ import annotations

import importlib

from nhanh import backend as _backend
from nhanh.layers.layer import Layer
from nhanh.variables import Variable


def _engine_module():
    name = _backend.get().NAME
    if name != "torch":
        raise ValueError(
            f"TorchModuleWrapper runs only on the PyTorch engine, but the current engine is "
            f"{name!r}. Switch with nhanh.config.set_backend('torch') (or NHANH_BACKEND=torch) "
            "before building the model.")
    return importlib.import_module("nhanh.backend.torch.module_wrapping")


class TorchModuleWrapper(Layer):
    """Wraps a `torch.nn.Module` so its parameters are trainable nhanh weights.

    Args:
        module: A `torch.nn.Module` instance; a lazy module must be called once first.
        name: Name of the layer.
        output_shape: Shape of the output (batch axis included) for symbolic models; `None`
            infers it by running the module.
        **kwargs: Base-layer keywords (`trainable`, `dtype`, ...).
    """

    def __init__(self, module, name: str | None = None, output_shape=None, **kwargs):
        super().__init__(name=name, **kwargs)
        engine = _engine_module()
        self._engine = engine
        self.module = engine.check_module(module)
        self.output_shape = None if output_shape is None else tuple(output_shape)
        self._names: list[str] = []
        self._buffer_names: set[str] = set()
        for name_, value, kind in engine.module_state(self.module):
            variable = Variable(value, shape=tuple(value.shape),
                                dtype=_backend.get().dtype_of(value),
                                trainable=kind == "trainable", name=f"{self.name}/{name_}")
            self._own_weights.append(variable)
            self._names.append(name_)
            if kind == "buffer":
                self._buffer_names.add(name_)
        self.built = True

    def parameters(self, recurse: bool = True):
        """The wrapped module's own parameters (as Keras's wrapper; see `sync_module`)."""
        return self.module.parameters(recurse=recurse)

    def call(self, *args, training=None, **kwargs):
        values = [v.value for v in self._own_weights]
        outputs, new_values = self._engine.call_module(
            self.module, self._names, values, self._buffer_names, args, kwargs,
            training is not False)
        for variable, name_, value in zip(self._own_weights, self._names, new_values):
            if name_ in self._buffer_names:
                variable.assign(value)
        return outputs

    def sync_module(self) -> None:
        """Copy the Variables' current values (after `fit`) into the module's own tensors."""
        self._engine.write_back(self.module, self._names, [v.value for v in self._own_weights])

    def compute_output_shape(self, input_shape):
        if self.output_shape is None:
            return super().compute_output_shape(input_shape)
        return self.output_shape

    def get_config(self) -> dict:
        # The module is not JSON: Keras pickles it with torch.save (CVE-2025-49655), nhanh
        # records only its class name, and loading takes the module from the caller.
        return {**super().get_config(), "output_shape": self.output_shape,
                "module_class": type(self.module).__name__}

    @classmethod
    def from_config(cls, config_: dict,
                    custom_objects: dict | None = None) -> "TorchModuleWrapper":
        """The layer, around the module the caller gives: `custom_objects` (or a scope, or a
        registration) maps the layer's name or the module's class name to the module, its
        class, or a function returning it. A pickled module in the config (Keras's
        `torch.save`) is never unpickled, whatever safe_mode says: unpickling runs any code
        its author chose. The weights then come from the file."""
        import inspect

        from nhanh.saving.object_registration import get_registered_object
        from nhanh.saving.serialization_lib import UnsafeObjectError

        config_ = dict(config_)
        pickled = config_.pop("module", None) is not None
        module_class = config_.pop("module_class", None)
        name = config_.get("name")
        keys = [k for k in (name, module_class) if isinstance(k, str)]
        found = next((f for f in (get_registered_object(k, custom_objects) for k in keys)
                      if f is not None), None)
        if found is None:
            key = module_class if isinstance(module_class, str) else name
            why = ("the config holds the torch module as a pickle (Keras's torch.save); "
                   "unpickling runs whatever code the file's author chose, so nhanh never "
                   "does, with or without safe_mode" if pickled else
                   "a config does not hold the torch module itself")
            raise UnsafeObjectError(
                f"TorchModuleWrapper {name!r}: {why}. Rebuild the module in your code and "
                f"pass it: load_model(path, custom_objects={{{key!r}: MyModule}}) (the module, "
                "its class, or a function returning it, keyed by the layer's name or the "
                "module's class name); the weights then come from the file.")
        module = found() if inspect.isclass(found) or inspect.isroutine(found) else found
        return cls(module=module, **config_)
