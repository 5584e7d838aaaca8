"""Every Keras 3 public name of the training toolkit's modules exists in nhanh, less a short
list of names left out on purpose, each with its reason.

The Keras names come from src/nhanh/keras_api_names.json (Keras's generated `keras/api`
listing; tools/keras_api_names.py regenerates it). A name Keras adds, or one nhanh loses, fails
here; so does a name on the list below that nhanh has after all (the list must stay true).
`python tools/keras_coverage.py --missing` prints the whole picture, other modules included.
"""

import pytest

from nhanh import keras_names

pytestmark = pytest.mark.engine_independent

# The toolkit's modules (callbacks, optimizers and schedules, losses, metrics, utils, datasets,
# config, random, tree, backend, preprocessing, the top level). The layers-and-ops modules,
# applications, quantizers and distribution are other work.
TOOLKIT = ["keras", "keras.backend", "keras.callbacks", "keras.config", "keras.losses",
           "keras.metrics", "keras.optimizers", "keras.optimizers.legacy",
           "keras.optimizers.schedules", "keras.random", "keras.tree", "keras.utils",
           "keras.datasets", "keras.datasets.boston_housing",
           "keras.datasets.california_housing", "keras.datasets.cifar10",
           "keras.datasets.cifar100", "keras.datasets.fashion_mnist", "keras.datasets.imdb",
           "keras.datasets.mnist", "keras.datasets.reuters", "keras.preprocessing",
           "keras.preprocessing.image", "keras.preprocessing.sequence"]

_SAVING = "reads or writes model files: the saving work (keras.saving, .keras files) owns it"
_DTYPES = "dtype policies and mixed precision belong to the layers-and-ops work"
_PREPROCESSING = ("builds on the preprocessing layers (StringLookup, Hashing, Discretization, "
                  "...) and on models that start with host-side layers: layers-and-ops work")

LEFT_OUT = {
    "keras.applications": "pretrained architectures need downloadable weights; not planned yet",
    "keras.quantizers": "quantization is outside the current issues",
    "keras.Quantizer": "quantization is outside the current issues",
    "keras.distillation": "knowledge distillation (Keras 3.12+) is outside the current issues",
    "keras.distribution": "the distribution work owns it",
    "keras.dtype_policies": _DTYPES,
    "keras.mixed_precision": _DTYPES,
    "keras.DTypePolicy": _DTYPES,
    "keras.FloatDTypePolicy": _DTYPES,
    "keras.config.dtype_policy": _DTYPES,
    "keras.config.set_dtype_policy": _DTYPES,
    "keras.saving": _SAVING,
    "keras.export": _SAVING,
    "keras.legacy": _SAVING + " (Keras 2's legacy saving)",
    "keras.callbacks.ModelCheckpoint": _SAVING,
    "keras.callbacks.BackupAndRestore": _SAVING,
    "keras.callbacks.OrbaxCheckpoint": _SAVING + " (Orbax checkpoints)",
    "keras.utils.CustomObjectScope": _SAVING,
    "keras.utils.custom_object_scope": _SAVING,
    "keras.utils.get_custom_objects": _SAVING,
    "keras.utils.get_registered_name": _SAVING,
    "keras.utils.get_registered_object": _SAVING,
    "keras.utils.register_keras_serializable": _SAVING,
    "keras.utils.serialize_keras_object": _SAVING,
    "keras.utils.deserialize_keras_object": _SAVING,
    "keras.utils.legacy": _SAVING + " (Keras 2's serialization)",
    "keras.utils.FeatureSpace": _PREPROCESSING,
    "keras.utils.bounding_boxes": "bounding-box helpers serve the image-augmentation layers of "
                                  "the layers-and-ops work",
    "keras.visualization": "drawing helpers for bounding boxes and masks, with the "
                           "image-augmentation layers of the layers-and-ops work",
}


def _missing() -> dict[str, list[str]]:
    report = keras_names.coverage()
    return {module: [f"{module}.{name}" for name in report[module]["missing"]]
            for module in TOOLKIT}


def test_the_toolkit_has_every_keras_name_but_those_left_out_on_purpose():
    lacking = [name for names in _missing().values() for name in names
               if name not in LEFT_OUT]
    assert not lacking, (
        f"nhanh lacks {len(lacking)} Keras 3 names of the training toolkit: {lacking}. Add "
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
    wrong = {m: report[m]["wrong_kind"] for m in TOOLKIT if report[m]["wrong_kind"]}
    assert not wrong
