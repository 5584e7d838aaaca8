"""Every Keras 3 public name of the training toolkit's modules and of the layers-and-ops
modules exists in nhanh, less a short list of names left out on purpose, each with its reason.

The Keras names come from src/nhanh/keras_api_names.json (Keras's generated `keras/api`
listing; tools/keras_api_names.py regenerates it). A name Keras adds, or one nhanh loses, fails
here; so does a name on the list below that nhanh has after all (the list must stay true).
`python tools/keras_coverage.py --missing` prints the whole picture, other modules included.
"""

import pytest

from nhanh import keras_names

pytestmark = pytest.mark.engine_independent

# The toolkit's modules (callbacks, optimizers and schedules, losses, metrics, utils, datasets,
# config, random, tree, backend, preprocessing, the top level, distribution). Applications and
# quantizers are other work.
TOOLKIT = ["keras", "keras.backend", "keras.callbacks", "keras.config", "keras.losses",
           "keras.metrics", "keras.optimizers", "keras.optimizers.legacy",
           "keras.optimizers.schedules", "keras.random", "keras.tree", "keras.utils",
           "keras.datasets", "keras.datasets.boston_housing",
           "keras.datasets.california_housing", "keras.datasets.cifar10",
           "keras.datasets.cifar100", "keras.datasets.fashion_mnist", "keras.datasets.imdb",
           "keras.datasets.mnist", "keras.datasets.reuters", "keras.preprocessing",
           "keras.preprocessing.image", "keras.preprocessing.sequence", "keras.models",
           "keras.saving", "keras.export", "keras.distribution"]
# What goes inside a model: layers, ops, activations, initializers, dtype policies, mixed
# precision, and the image layers' bounding-box and drawing helpers.
LAYERS_AND_OPS = ["keras.layers", "keras.ops", "keras.ops.numpy", "keras.ops.nn",
                  "keras.ops.linalg", "keras.ops.image", "keras.activations",
                  "keras.initializers", "keras.dtype_policies", "keras.mixed_precision",
                  "keras.utils.bounding_boxes", "keras.visualization"]
MODULES = TOOLKIT + LAYERS_AND_OPS

_LEGACY = "Keras 2's legacy formats and serialization; nhanh reads and writes Keras 3's"
_QUANTIZATION = "quantization is outside the current issues"

LEFT_OUT = {
    "keras.applications": "pretrained architectures need downloadable weights; not planned yet",
    "keras.distillation": "knowledge distillation (Keras 3.12+) is outside the current issues",
    "keras.export.ExportArchive": "builds TensorFlow SavedModels (TF only); nhanh exports with "
                                  "model.export to ONNX, jax.export and torch.export",
    "keras.legacy": _LEGACY,
    "keras.utils.legacy": _LEGACY,
    "keras.callbacks.OrbaxCheckpoint": "Orbax checkpoints: nhanh's checkpoints are Keras's "
                                       ".keras / .weights.h5 files",
    "keras.saving.KerasFileEditor": "an interactive editor of .keras files; not planned yet",
    "keras.quantizers": _QUANTIZATION,
    "keras.Quantizer": _QUANTIZATION,
    "keras.dtype_policies.AWQDTypePolicy": _QUANTIZATION,
    "keras.dtype_policies.GPTQDTypePolicy": _QUANTIZATION,
    "keras.dtype_policies.Int4DTypePolicy": _QUANTIZATION,
    "keras.dtype_policies.QuantizedDTypePolicy": _QUANTIZATION,
    "keras.dtype_policies.QuantizedFloat8DTypePolicy": _QUANTIZATION,
    "keras.layers.TFSMLayer": "wraps a TensorFlow SavedModel: needs TensorFlow, which nhanh "
                              "does not use (Keras's own layer works only on its TF backend)",
}


def _missing() -> dict[str, list[str]]:
    report = keras_names.coverage()
    return {module: [f"{module}.{name}" for name in report[module]["missing"]]
            for module in MODULES}


def test_every_keras_name_is_there_but_those_left_out_on_purpose():
    lacking = [name for names in _missing().values() for name in names
               if name not in LEFT_OUT]
    assert not lacking, (
        f"nhanh lacks {len(lacking)} Keras 3 names: {lacking}. Add "
        "them, or put them in LEFT_OUT with the reason.")


def test_every_name_left_out_is_still_missing_and_still_keras():
    modules = keras_names.keras_modules()
    report = keras_names.coverage()
    for name, reason in LEFT_OUT.items():
        assert reason, name
        parent, _, leaf = name.rpartition(".")
        assert leaf in modules[parent], f"{name} is no longer a Keras name: drop it from LEFT_OUT"
        assert leaf in report[parent]["missing"], f"nhanh has {name} now: drop it from LEFT_OUT"


def test_nothing_in_the_toolkit_has_the_wrong_kind():
    report = keras_names.coverage()
    wrong = {m: report[m]["wrong_kind"] for m in MODULES if report[m]["wrong_kind"]}
    assert not wrong
