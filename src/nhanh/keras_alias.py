"""Running a Keras program unchanged: `import keras` resolving to nhanh, in this process only.

`nhanh.as_keras()` puts an import hook first on `sys.meta_path` that answers every `keras` and
`keras.<module>` import with nhanh's module of the same name (`keras.layers` -> `nhanh.layers`),
so `from keras.layers import Dense` gives nhanh's Dense. It changes nothing on disk and nothing
for other processes: a real Keras installed beside nhanh stays what every other program imports.
`python -m nhanh SCRIPT.py [ARGS]` (nhanh/__main__.py) runs a script with the hook installed.
The engine is NHANH_BACKEND's, else KERAS_BACKEND's (see nhanh.config).

A Keras module nhanh has no counterpart for yet (keras.quantizers, say) fails to import with a
message that says so, and Keras's private tree (keras.src...) is refused: a program that
reaches into it needs Keras itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

__all__ = ["as_keras"]


class _AliasLoader(importlib.abc.Loader):
    """Hands the import system an nhanh module that already exists, under Keras's name."""

    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:  # nhanh's module ran when nhanh imported it
        pass


class _KerasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path=None, target=None):
        if fullname != "keras" and not fullname.startswith("keras."):
            return None
        target_name = "nhanh" + fullname[len("keras"):]
        if fullname.startswith("keras.src"):
            raise ModuleNotFoundError(
                f"{fullname} is Keras's private code, which nhanh does not mirror; import the "
                "public module (keras.layers, keras.ops, ...) instead.", name=fullname)
        if importlib.util.find_spec(target_name) is None:
            from nhanh import keras_names

            parent, _, leaf = fullname.rpartition(".")
            message = keras_names.not_yet_message("nhanh" + parent[len("keras"):], leaf) or \
                f"No module named {fullname!r} in Keras 3's API, nor {target_name!r} in nhanh."
            raise ModuleNotFoundError(message, name=fullname)
        module = importlib.import_module(target_name)
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module),
                                              is_package=hasattr(module, "__path__"))


_FINDER = _KerasFinder()


def as_keras() -> None:
    """Make `import keras` (and every `keras.*` module) give nhanh, in this process.

    For notebooks and scripts: call it before the first `import keras`. Calling it again does
    nothing. Raises RuntimeError when the real Keras is already imported here, since modules
    that hold it would otherwise mix the two libraries.
    """
    if _FINDER in sys.meta_path:
        return
    loaded = sys.modules.get("keras")
    if loaded is not None and not getattr(loaded, "__name__", "").startswith("nhanh"):
        raise RuntimeError("Keras is already imported in this process; call nhanh.as_keras() "
                           "before the first `import keras` (restart the kernel or "
                           "interpreter first).")
    sys.meta_path.insert(0, _FINDER)
