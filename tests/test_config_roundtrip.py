"""Every public configurable class round-trips through get_config / from_config.

The classes are enumerated from the public modules (layers, losses, metrics, optimizers,
schedules, initializers, regularizers, constraints, dtype policies), so a class added later is
tested without editing this file; one that cannot be built with no arguments fails until it
gets a row in TABLES. Each row passes non-default values where that checks more: a get_config
that drops an argument fails the key check (every keyword the row passes is in the config) and
the behaviour check (the rebuilt object computes something else).

Three checks per class: (1) the config is JSON as it is (nested objects already dicts);
(2) from_config(config) gives an object with an equal config; (3) both objects behave the same
on the same input (layers with the same weights, optimizers on the same variable and gradient,
...). (1) and (2) do not depend on the engine; (3) runs on each.

Function- and module-holding classes (Lambda, LossFunctionWrapper, MeanMetricWrapper,
JaxLayer, FlaxLayer, TorchModuleWrapper) are tested with named functions and classes that come
back through custom_objects, as a loader passes them; a lambda's bytecode needs safe_mode=False
and is the saving tests' concern.
"""

from __future__ import annotations

import importlib
import inspect
import json
import warnings

import numpy as np
import pytest

import nhanh
from nhanh import config, layers, ops

FAMILIES = ("layers", "losses", "metrics", "optimizers", "optimizers.schedules", "initializers",
            "regularizers", "constraints", "dtype_policies")

# Bases that Keras 3 cannot round-trip either: their get_config raises NotImplementedError there
# (a subclass must say what its arguments are).
ABSTRACT = {
    ("optimizers.schedules", "LearningRateSchedule"):
        "abstract: Keras's get_config raises NotImplementedError (a subclass defines it)",
    ("regularizers", "Regularizer"):
        "abstract: Keras's get_config raises NotImplementedError (a subclass defines it)",
}
# Bases and descriptors that round-trip their config but compute nothing to compare.
CONFIG_ONLY = {
    ("layers", "Layer"): "the base layer's call() is the subclass's to write",
    ("layers", "Wrapper"): "the wrapper base has no call() of its own",
    ("layers", "InputLayer"): "an input placeholder is not called on data",
    ("layers", "InputSpec"): "a description of inputs, not a computation",
    ("losses", "Loss"): "the base loss's call() is the subclass's to write",
    ("metrics", "Metric"): "the base metric's update_state() is the subclass's to write",
    ("optimizers", "Optimizer"): "the base optimizer's update_step() is the subclass's to write",
    ("initializers", "Initializer"): "the base initializer's __call__ is the subclass's",
    ("initializers", "RandomInitializer"): "the base random initializer draws nothing itself",
}
# Arguments a JSON config does not hold, by design: TorchModuleWrapper's torch.nn.Module (Keras
# pickles it, CVE-2025-49655); loading takes it from the caller's custom_objects.
NOT_WRITTEN = {("layers", "TorchModuleWrapper"): {"module"}}
# Behaviour checks that run on PyTorch only: on JAX their first call compiles each op eagerly
# (seconds apiece, most of this file's time), and what they check, the object rebuilt from the
# config, is the same on both engines. Their config test still runs. The image and audio
# preprocessing layers (modules below) are all in it; so are these:
HEAVY_ON_JAX_MODULES = ("nhanh.layers.image_", "nhanh.layers.audio")
HEAVY_ON_JAX = {
    "layers": {"Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "GRU", "GRUCell",
               "GroupedQueryAttention", "LSTM", "LSTMCell", "MultiHeadAttention", "RNN",
               "SimpleRNN", "SimpleRNNCell", "SpatialDropout1D", "SpatialDropout2D",
               "SpatialDropout3D", "SpectralNormalization", "StackedRNNCells", "AlphaDropout",
               "GroupNormalization"},
    "losses": {"CTC", "Circle"},
    "metrics": {"AUC", "BinaryIoU", "ConcordanceCorrelation", "IoU", "MeanIoU", "OneHotIoU",
                "PrecisionAtRecall", "RecallAtPrecision"},
    "optimizers": {"Adadelta", "Adafactor", "LossScaleOptimizer", "Muon"},
    "regularizers": {"OrthogonalRegularizer"},
}
# Classes that exist for one engine only (they wrap that engine's own modules / functions).
ENGINE_ONLY = {("layers", "JaxLayer"): "jax", ("layers", "FlaxLayer"): "jax",
               ("layers", "TorchModuleWrapper"): "torch"}


def public_classes():
    """(family, name, class) for every public class of nhanh's own, each class once."""
    out, seen = [], set()
    for family in FAMILIES:
        module = importlib.import_module(f"nhanh.{family}")
        names = getattr(module, "__all__", None) or [n for n in dir(module)
                                                     if not n.startswith("_")]
        for name in sorted(names):
            cls = getattr(module, name, None)
            if (inspect.isclass(cls) and cls.__module__.startswith("nhanh.")
                    and cls not in seen and name[0].isupper()):
                seen.add(cls)
                out.append((family, cls.__name__ if hasattr(module, cls.__name__) else name, cls))
    return out


CLASSES = public_classes()


# --- named functions, for the function-holding classes ----------------------------------------
def double_plus(x, offset=0.0):
    """A module-level function, stored by reference in Lambda's config."""
    return 2.0 * x + offset


def jax_call(params, inputs):
    return inputs @ params["w"]


def jax_init(rng, inputs):
    import jax

    return {"w": jax.random.normal(rng, (inputs.shape[-1], 2))}


# --- inputs, by kind ----------------------------------------------------------------------------
def _floats(*shape):
    return lambda rng: rng.uniform(0.05, 0.95, size=shape).astype("float32")


VEC, SEQ, IMG, VOL = _floats(2, 4), _floats(2, 3, 4), _floats(2, 6, 6, 3), _floats(2, 4, 4, 4, 2)
PAIR = lambda rng: [SEQ(rng), SEQ(rng)]  # noqa: E731
QV = lambda rng: (SEQ(rng), SEQ(rng))  # noqa: E731  (a tuple: positional query, value)
VEC_PAIR = lambda rng: [VEC(rng), VEC(rng)]  # noqa: E731
INTS = lambda rng: rng.integers(0, 5, size=(2, 3)).astype("int32")  # noqa: E731
STRINGS = lambda rng: np.array([["a"], ["b"]])  # noqa: E731
TEXT = lambda rng: np.array(["a b c", "b a"])  # noqa: E731
AUDIO = _floats(2, 64)


def _flax_module():
    import flax.linen as nn

    return nn.Dense(2)


def _torch_module():
    import torch

    torch.manual_seed(0)
    return torch.nn.Linear(4, 2)


L2 = nhanh.regularizers.L2

# Layer rows: class name -> (keyword arguments, or a function making them when they hold
# layers; sample input maker). Non-default values wherever the class has them.
LAYER_ARGS = {
    "Activation": (dict(activation="softplus"), VEC),
    "ActivityRegularization": (dict(l1=0.1, l2=0.2), VEC),
    "AdaptiveAveragePooling1D": (dict(output_size=2), SEQ),
    "AdaptiveAveragePooling2D": (dict(output_size=(2, 3)), IMG),
    "AdaptiveAveragePooling3D": (dict(output_size=2), VOL),
    "AdaptiveMaxPooling1D": (dict(output_size=2), SEQ),
    "AdaptiveMaxPooling2D": (dict(output_size=(3, 2)), IMG),
    "AdaptiveMaxPooling3D": (dict(output_size=2), VOL),
    "Add": ({}, VEC_PAIR), "Average": ({}, VEC_PAIR), "Maximum": ({}, VEC_PAIR),
    "Minimum": ({}, VEC_PAIR), "Multiply": ({}, VEC_PAIR), "Subtract": ({}, VEC_PAIR),
    "Concatenate": (dict(axis=1), PAIR),
    "Dot": (dict(axes=2, normalize=True), PAIR),
    "AdditiveAttention": (dict(use_scale=False), PAIR),
    "Attention": (dict(use_scale=True, score_mode="concat"), PAIR),
    "AlphaDropout": (dict(rate=0.2, seed=1), VEC),
    "AugMix": (dict(value_range=(0, 1), num_chains=2, chain_depth=1, seed=1), IMG),
    "AutoContrast": (dict(value_range=(0, 1)), IMG),
    "AveragePooling1D": (dict(pool_size=2, strides=1, padding="same"), SEQ),
    "AveragePooling2D": (dict(pool_size=3, strides=2), IMG),
    "AveragePooling3D": (dict(pool_size=2, padding="same"), VOL),
    "BatchNormalization": (dict(momentum=0.9, epsilon=0.01, center=False,
                                gamma_regularizer=L2(0.1)), VEC),
    "Bidirectional": (lambda: dict(layer=layers.LSTM(2, return_sequences=True),
                                   merge_mode="sum"), SEQ),
    "CategoryEncoding": (dict(num_tokens=5, output_mode="count"), INTS),
    "CenterCrop": (dict(height=4, width=3), IMG),
    "ContrastLimitedAdaptiveHistogramEqualization": (
        dict(value_range=(0, 1), clip_limit=2.0, tile_grid_size=(2, 2)), IMG),
    "Conv1D": (dict(filters=2, kernel_size=3, padding="same", use_bias=False,
                    activation="relu"), SEQ),
    "Conv2D": (dict(filters=2, kernel_size=3, strides=2, kernel_regularizer=L2(0.1),
                    dilation_rate=1), IMG),
    "Conv3D": (dict(filters=2, kernel_size=2, activation="tanh"), VOL),
    "Conv1DTranspose": (dict(filters=2, kernel_size=3, strides=2), SEQ),
    "Conv2DTranspose": (dict(filters=2, kernel_size=3, padding="same", use_bias=False), IMG),
    "Conv3DTranspose": (dict(filters=2, kernel_size=2, strides=2), VOL),
    "ConvLSTM1D": (dict(filters=2, kernel_size=3, return_sequences=True, padding="same"),
                   _floats(2, 3, 5, 2)),
    "ConvLSTM2D": (dict(filters=2, kernel_size=3, recurrent_activation="hard_sigmoid"),
                   _floats(2, 2, 5, 5, 2)),
    "ConvLSTM3D": (dict(filters=2, kernel_size=2, go_backwards=True), _floats(2, 2, 3, 3, 3, 1)),
    "Cropping1D": (dict(cropping=(1, 0)), SEQ),
    "Cropping2D": (dict(cropping=((1, 0), (0, 2))), IMG),
    "Cropping3D": (dict(cropping=1), VOL),
    "CutMix": (dict(factor=0.5, seed=1), IMG),
    "Dense": (dict(units=3, use_bias=False, activation="relu", kernel_regularizer=L2(0.1)), VEC),
    "DepthwiseConv1D": (dict(kernel_size=3, depth_multiplier=2, padding="same"), SEQ),
    "DepthwiseConv2D": (dict(kernel_size=3, depth_multiplier=2, use_bias=False), IMG),
    "Discretization": (dict(bin_boundaries=[0.25, 0.5], output_mode="one_hot"), VEC),
    "Dropout": (dict(rate=0.3, seed=1, noise_shape=(None, 1)), VEC),
    "ELU": (dict(alpha=0.5), VEC),
    "EinsumDense": (dict(equation="ab,bc->ac", output_shape=3, bias_axes="c",
                         activation="relu"), VEC),
    "Embedding": (dict(input_dim=6, output_dim=3, mask_zero=True), INTS),
    "Equalization": (dict(value_range=(0, 1), bins=16), IMG),
    "Flatten": ({}, IMG),
    "FlaxLayer": (lambda: dict(module=_flax_module()), VEC),
    "GRU": (dict(units=2, reset_after=False, return_sequences=True), SEQ),
    "GRUCell": (dict(units=2, reset_after=False), SEQ),
    "GaussianDropout": (dict(rate=0.2, seed=1), VEC),
    "GaussianNoise": (dict(stddev=0.1, seed=1), VEC),
    "GlobalAveragePooling1D": (dict(keepdims=True), SEQ),
    "GlobalAveragePooling2D": (dict(keepdims=True), IMG),
    "GlobalAveragePooling3D": ({}, VOL),
    "GlobalMaxPooling1D": ({}, SEQ),
    "GlobalMaxPooling2D": (dict(keepdims=True), IMG),
    "GlobalMaxPooling3D": (dict(keepdims=True), VOL),
    "GroupNormalization": (dict(groups=3, epsilon=0.01, center=False), IMG),
    "GroupedQueryAttention": (dict(head_dim=2, num_query_heads=2, num_key_value_heads=1,
                                 use_bias=False), QV),
    "HashedCrossing": (dict(num_bins=5), lambda rng: [np.array([1, 2]), np.array([3, 4])]),
    "Hashing": (dict(num_bins=4, salt=3), INTS),
    "Identity": ({}, VEC),
    "InputLayer": (dict(batch_shape=(2, 4), name="inp"), VEC),
    "IntegerLookup": (dict(vocabulary=[1, 2, 3], output_mode="one_hot", num_oov_indices=2),
                      lambda rng: np.array([1, 3, 4])),
    "JaxLayer": (dict(call_fn=jax_call, init_fn=jax_init), VEC),
    "LSTM": (dict(units=2, return_sequences=True, unit_forget_bias=False), SEQ),
    "LSTMCell": (dict(units=2, unit_forget_bias=False), SEQ),
    "Lambda": (dict(function=double_plus, arguments={"offset": 0.5}), VEC),
    "LayerNormalization": (dict(epsilon=0.01, center=False), SEQ),
    "LeakyReLU": (dict(negative_slope=0.2), VEC),
    "Masking": (dict(mask_value=0.5), SEQ),
    "MaxNumBoundingBoxes": (dict(max_number=3, fill_value=-2, bounding_box_format="xyxy"),
                            lambda rng: {"images": IMG(rng),
                                         "bounding_boxes": {
                                             "boxes": rng.uniform(size=(2, 2, 4)).astype("float32"),
                                             "labels": np.ones((2, 2), "int32")}}),
    "MaxPooling1D": (dict(pool_size=2, strides=1), SEQ),
    "MaxPooling2D": (dict(pool_size=2, padding="same"), IMG),
    "MaxPooling3D": (dict(pool_size=2), VOL),
    "MelSpectrogram": (dict(fft_length=16, sequence_stride=8, num_mel_bins=4, sampling_rate=800,
                            power_to_db=False), AUDIO),
    "MixUp": (dict(alpha=0.3, seed=1), IMG),
    "MultiHeadAttention": (dict(num_heads=2, key_dim=2, value_dim=3, use_bias=False), QV),
    "Normalization": (dict(mean=0.5, variance=2.0), VEC),
    "PReLU": (dict(alpha_initializer="ones", shared_axes=[1]), SEQ),
    "Permute": (dict(dims=(2, 1)), SEQ),
    "Pipeline": (lambda: dict(layers=[layers.Rescaling(2.0), layers.CenterCrop(4, 4)]), IMG),
    "RMSNormalization": (dict(epsilon=0.01), SEQ),
    "RNN": (lambda: dict(cell=layers.LSTMCell(2), return_sequences=True), SEQ),
    "RandAugment": (dict(value_range=(0, 1), num_ops=1, factor=0.3, seed=1), IMG),
    "RandomBrightness": (dict(factor=0.2, value_range=(0, 1), seed=1), IMG),
    "RandomColorDegeneration": (dict(factor=0.2, value_range=(0, 1), seed=1), IMG),
    "RandomColorJitter": (dict(value_range=(0, 1), brightness_factor=0.2, hue_factor=0.1,
                               seed=1), IMG),
    "RandomContrast": (dict(factor=0.2, value_range=(0, 1), seed=1), IMG),
    "RandomCrop": (dict(height=4, width=4, seed=1), IMG),
    "RandomElasticTransform": (dict(factor=0.5, scale=0.5, value_range=(0, 1), seed=1), IMG),
    "RandomErasing": (dict(factor=0.5, value_range=(0, 1), seed=1), IMG),
    "RandomFlip": (dict(mode="horizontal", seed=1), IMG),
    "RandomGaussianBlur": (dict(factor=0.5, sigma=0.5, value_range=(0, 1), seed=1), IMG),
    "RandomGrayscale": (dict(factor=0.7, seed=1), IMG),
    "RandomHue": (dict(factor=0.2, value_range=(0, 1), seed=1), IMG),
    "RandomInvert": (dict(factor=0.5, value_range=(0, 1), seed=1), IMG),
    "RandomPerspective": (dict(factor=0.5, scale=0.5, seed=1), IMG),
    "RandomPosterization": (dict(factor=(1, 4), value_range=(0, 1), seed=1), IMG),
    "RandomRotation": (dict(factor=0.1, fill_mode="constant", seed=1), IMG),
    "RandomSaturation": (dict(factor=0.2, value_range=(0, 1), seed=1), IMG),
    "RandomSharpness": (dict(factor=0.2, value_range=(0, 1), seed=1), IMG),
    "RandomShear": (dict(x_factor=0.1, fill_mode="nearest", seed=1), IMG),
    "RandomTranslation": (dict(height_factor=0.1, width_factor=0.2, seed=1), IMG),
    "RandomZoom": (dict(height_factor=0.1, interpolation="nearest", seed=1), IMG),
    "ReLU": (dict(max_value=0.8, negative_slope=0.1, threshold=0.1), VEC),
    "RepeatVector": (dict(n=2), VEC),
    "Rescaling": (dict(scale=2.0, offset=1.0), VEC),
    "Reshape": (dict(target_shape=(2, 2)), VEC),
    "Resizing": (dict(height=4, width=5, interpolation="nearest"), IMG),
    "ReversibleEmbedding": (dict(input_dim=6, output_dim=3, tie_weights=False), INTS),
    "STFTSpectrogram": (dict(frame_length=16, frame_step=8, mode="magnitude"),
                        _floats(2, 64, 1)),
    "SeparableConv1D": (dict(filters=2, kernel_size=3, depth_multiplier=2), SEQ),
    "SeparableConv2D": (dict(filters=2, kernel_size=3, padding="same", use_bias=False), IMG),
    "SimpleRNN": (dict(units=2, activation="relu", go_backwards=True), SEQ),
    "SimpleRNNCell": (dict(units=2, activation="relu"), SEQ),
    "Softmax": (dict(axis=0), VEC),
    "Solarization": (dict(addition_factor=0.1, threshold_factor=0.2, value_range=(0, 1),
                          seed=1), IMG),
    "SpatialDropout1D": (dict(rate=0.2, seed=1), SEQ),
    "SpatialDropout2D": (dict(rate=0.2, seed=1), IMG),
    "SpatialDropout3D": (dict(rate=0.2, seed=1), VOL),
    "SpectralNormalization": (lambda: dict(layer=layers.Dense(2), power_iterations=2), VEC),
    "StackedRNNCells": (lambda: dict(cells=[layers.LSTMCell(2), layers.GRUCell(3)]), SEQ),
    "StringLookup": (dict(vocabulary=["a", "b"], num_oov_indices=2), STRINGS),
    "TextVectorization": (dict(vocabulary=["a", "b"], output_sequence_length=3), TEXT),
    "TimeDistributed": (lambda: dict(layer=layers.Dense(2, use_bias=False)), SEQ),
    "TorchModuleWrapper": (lambda: dict(module=_torch_module()), VEC),
    "UnitNormalization": (dict(axis=0), VEC),
    "UpSampling1D": (dict(size=3), SEQ),
    "UpSampling2D": (dict(size=2, interpolation="bilinear"), IMG),
    "UpSampling3D": (dict(size=2), VOL),
    "Wrapper": (lambda: dict(layer=layers.Dense(2)), VEC),
    "ZeroPadding1D": (dict(padding=(1, 2)), SEQ),
    "ZeroPadding2D": (dict(padding=((1, 0), (0, 1))), IMG),
    "ZeroPadding3D": (dict(padding=1), VOL),
    "InputSpec": (dict(ndim=3, axes={-1: 4}), None),
}
CELLS = {"GRUCell", "LSTMCell", "SimpleRNNCell", "StackedRNNCells"}  # behave inside an RNN
# Augmentations whose training-mode draw costs seconds of op-by-op compilation on JAX: they
# are compared in inference mode (their arguments are still checked by the config test).
INFERENCE_ONLY = {"AugMix", "RandAugment", "RandomElasticTransform", "RandomPerspective"}

# Losses and metrics: rows of (keyword arguments, data kind). Data kinds: "prob" (y_true in
# {0, 1}, y_pred in (0, 1), shape (4, 3)), "sparse" (integer labels (4,), y_pred (4, 3)),
# "regression" (both real (4, 3)), "values" (one array, for Mean/Sum), plus CTC and Circle.
LOSS_ARGS = {
    "BinaryCrossentropy": (dict(from_logits=True, label_smoothing=0.1, name="bce"), "prob"),
    "BinaryFocalCrossentropy": (dict(apply_class_balancing=True, alpha=0.3, gamma=1.5), "prob"),
    "CTC": (dict(reduction="sum"), "ctc"),
    "CategoricalCrossentropy": (dict(label_smoothing=0.2, axis=-1, reduction="sum"), "prob"),
    "CategoricalFocalCrossentropy": (dict(alpha=0.5, gamma=1.0), "prob"),
    "CategoricalGeneralizedCrossEntropy": (dict(q=0.7), "sparse"),
    "CategoricalHinge": (dict(reduction="mean"), "prob"),
    "Circle": (dict(gamma=60.0, margin=0.3), "circle"),
    "CosineSimilarity": (dict(axis=0), "regression"),
    "Dice": (dict(reduction="sum", axis=(1,)), "prob"),
    "Hinge": (dict(reduction="none"), "prob"),
    "Huber": (dict(delta=0.3), "regression"),
    "KLDivergence": (dict(reduction="sum"), "prob"),
    "LogCosh": (dict(reduction="sum"), "regression"),
    "LossFunctionWrapper": (dict(fn=nhanh.losses.mean_absolute_error, reduction="sum"),
                            "regression"),
    "MeanAbsoluteError": (dict(reduction="sum"), "regression"),
    "MeanAbsolutePercentageError": (dict(reduction="sum"), "regression"),
    "MeanSquaredError": (dict(reduction="sum"), "regression"),
    "MeanSquaredLogarithmicError": (dict(reduction="sum"), "prob"),
    "Poisson": (dict(reduction="sum"), "prob"),
    "SparseCategoricalCrossentropy": (dict(from_logits=True, ignore_class=2), "sparse"),
    "SquaredHinge": (dict(reduction="sum"), "prob"),
    "Tversky": (dict(alpha=0.3, beta=0.7), "prob"),
    "Loss": (dict(reduction="sum"), None),
}
METRIC_ARGS = {
    "AUC": (dict(num_thresholds=20, curve="PR", summation_method="minoring"), "prob"),
    "Accuracy": (dict(name="acc"), "prob"),
    "BinaryAccuracy": (dict(threshold=0.3), "prob"),
    "BinaryCrossentropy": (dict(from_logits=True, label_smoothing=0.1), "prob"),
    "BinaryIoU": (dict(target_class_ids=(1,), threshold=0.4), "prob"),
    "CategoricalAccuracy": ({}, "prob"),
    "CategoricalCrossentropy": (dict(label_smoothing=0.2), "prob"),
    "CategoricalHinge": ({}, "prob"),
    "ConcordanceCorrelation": (dict(axis=0), "regression"),
    "CosineSimilarity": (dict(axis=0), "regression"),
    "F1Score": (dict(average="macro", threshold=0.4), "prob"),
    "FBetaScore": (dict(average="weighted", beta=2.0), "prob"),
    "FalseNegatives": (dict(thresholds=[0.3, 0.6]), "prob"),
    "FalsePositives": (dict(thresholds=0.3), "prob"),
    "Hinge": ({}, "prob"),
    "IoU": (dict(num_classes=3, target_class_ids=[0, 2], sparse_y_pred=False), "sparse"),
    "KLDivergence": ({}, "prob"),
    "LogCoshError": ({}, "regression"),
    "Mean": (dict(name="m"), "values"),
    "MeanAbsoluteError": ({}, "regression"),
    "MeanAbsolutePercentageError": ({}, "regression"),
    "MeanIoU": (dict(num_classes=3, sparse_y_pred=False), "sparse"),
    "MeanMetricWrapper": (dict(fn=nhanh.losses.mean_absolute_error, name="mmw"), "regression"),
    "MeanSquaredError": ({}, "regression"),
    "MeanSquaredLogarithmicError": ({}, "prob"),
    "OneHotIoU": (dict(num_classes=3, target_class_ids=[1]), "prob"),
    "OneHotMeanIoU": (dict(num_classes=3), "prob"),
    "PearsonCorrelation": (dict(axis=0), "regression"),
    "Poisson": ({}, "prob"),
    "Precision": (dict(thresholds=0.4, top_k=2), "prob"),
    "PrecisionAtRecall": (dict(recall=0.5, num_thresholds=20, class_id=1), "prob"),
    "R2Score": (dict(class_aggregation="variance_weighted_average"), "regression"),
    "Recall": (dict(thresholds=[0.3, 0.7], class_id=2), "prob"),
    "RecallAtPrecision": (dict(precision=0.5, num_thresholds=20), "prob"),
    "RootMeanSquaredError": ({}, "regression"),
    "SensitivityAtSpecificity": (dict(specificity=0.5, num_thresholds=20), "prob"),
    "SparseCategoricalAccuracy": ({}, "sparse"),
    "SparseCategoricalCrossentropy": (dict(from_logits=True, ignore_class=2), "sparse"),
    "SparseTopKCategoricalAccuracy": (dict(k=2), "sparse"),
    "SpecificityAtSensitivity": (dict(sensitivity=0.5, num_thresholds=20), "prob"),
    "SquaredHinge": ({}, "prob"),
    "Sum": (dict(name="s"), "values"),
    "TopKCategoricalAccuracy": (dict(k=2), "prob"),
    "TrueNegatives": (dict(thresholds=0.6), "prob"),
    "TruePositives": ({}, "prob"),
    "Metric": (dict(name="base"), None),
}


def _schedule():
    return nhanh.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)


OPTIMIZER_ARGS = {
    "Adadelta": dict(learning_rate=0.5, rho=0.8, epsilon=1e-5),
    "Adafactor": dict(learning_rate=0.1, beta_2_decay=-0.5, clip_threshold=0.5),
    "Adagrad": dict(learning_rate=0.1, initial_accumulator_value=0.2),
    "Adam": dict(learning_rate=0.1, beta_1=0.8, beta_2=0.5, amsgrad=True, clipnorm=1.5),
    "AdamW": dict(learning_rate=0.1, weight_decay=0.1, beta_2=0.9),
    "Adamax": dict(learning_rate=0.1, beta_1=0.7),
    "Ftrl": dict(learning_rate=0.1, l1_regularization_strength=0.01, beta=0.1),
    "Lamb": dict(learning_rate=0.1, beta_1=0.8),
    "Lion": dict(learning_rate=0.1, beta_1=0.8, weight_decay=0.01),
    "LossScaleOptimizer": lambda: dict(inner_optimizer=nhanh.optimizers.SGD(0.1),
                                       initial_scale=8.0, dynamic_growth_steps=3),
    "MultiOptimizer": lambda: dict(optimizer_map=nhanh.optimizers.OptimizerMap(
        nhanh.optimizers.SGD(0.1, momentum=0.5))),
    "OptimizerMap": lambda: dict(default_optimizer=nhanh.optimizers.Adam(0.1),
                                 optimizer_map={"kernel": nhanh.optimizers.SGD(0.3)}),
    "Muon": dict(learning_rate=0.1, adam_beta_1=0.8, exclude_embeddings=False),
    "Nadam": dict(learning_rate=0.1, beta_2=0.9),
    "Optimizer": dict(learning_rate=0.1, clipvalue=0.5),
    "RMSprop": dict(learning_rate=0.1, rho=0.8, momentum=0.5, centered=True),
    "SGD": lambda: dict(learning_rate=_schedule(), momentum=0.9, nesterov=True),
    "ScheduleFreeAdamW": dict(learning_rate=0.1, beta_1=0.8, warmup_steps=2),
}
SCHEDULE_ARGS = {
    "CosineDecay": dict(initial_learning_rate=0.1, decay_steps=10, alpha=0.1,
                        warmup_target=0.2, warmup_steps=3),
    "CosineDecayRestarts": dict(initial_learning_rate=0.1, first_decay_steps=3, t_mul=1.5,
                                m_mul=0.5, alpha=0.1),
    "ExponentialDecay": dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5,
                             staircase=True),
    "InverseTimeDecay": dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5,
                             staircase=True),
    "PiecewiseConstantDecay": dict(boundaries=[2, 5], values=[0.1, 0.05, 0.01]),
    "PolynomialDecay": dict(initial_learning_rate=0.1, decay_steps=10, end_learning_rate=0.01,
                            power=2.0, cycle=True),
}
INITIALIZER_ARGS = {
    "Constant": dict(value=0.3), "Identity": dict(gain=2.0),
    "GlorotNormal": dict(seed=3), "GlorotUniform": dict(seed=3), "HeNormal": dict(seed=3),
    "HeUniform": dict(seed=3), "LecunNormal": dict(seed=3), "LecunUniform": dict(seed=3),
    "Orthogonal": dict(gain=0.5, seed=3),
    "RandomNormal": dict(mean=0.5, stddev=0.2, seed=3),
    "RandomUniform": dict(minval=-0.2, maxval=0.3, seed=3),
    "TruncatedNormal": dict(mean=0.1, stddev=0.3, seed=3),
    "VarianceScaling": dict(scale=2.0, mode="fan_out", distribution="uniform", seed=3),
    "STFT": dict(side="imag", window="hamming", scaling="spectrum", periodic=True),
}
REGULARIZER_ARGS = {"L1": dict(l1=0.2), "L2": dict(l2=0.3), "L1L2": dict(l1=0.1, l2=0.2),
                    "OrthogonalRegularizer": dict(factor=0.5, mode="columns")}
CONSTRAINT_ARGS = {"MaxNorm": dict(max_value=0.5, axis=1),
                   "MinMaxNorm": dict(min_value=0.5, max_value=0.8, rate=0.5, axis=1),
                   "UnitNorm": dict(axis=1)}
POLICY_ARGS = {"DTypePolicy": dict(name="mixed_float16"),
               "FloatDTypePolicy": dict(name="bfloat16"),
               "DTypePolicyMap": dict(default_policy="mixed_bfloat16",
                                      policy_map={"dense/kernel": "float16"})}
TABLES = {"layers": LAYER_ARGS, "losses": LOSS_ARGS, "metrics": METRIC_ARGS,
          "optimizers": OPTIMIZER_ARGS, "optimizers.schedules": SCHEDULE_ARGS,
          "initializers": INITIALIZER_ARGS, "regularizers": REGULARIZER_ARGS,
          "constraints": CONSTRAINT_ARGS, "dtype_policies": POLICY_ARGS}


def _row(family: str, name: str):
    row = TABLES[family].get(name)
    sample = None
    if family in ("layers", "losses", "metrics"):
        row, sample = row if row is not None else ({}, None)
    return row, sample


def _kwargs(row) -> dict:
    return dict(row()) if callable(row) else dict(row or {})


def _make(family: str, name: str, cls):
    """The table's instance of cls, or cls() for a class without a row; a class that needs
    arguments and has no row fails here, saying to add one."""
    row, _ = _row(family, name)
    kwargs = _kwargs(row)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cls(**kwargs), kwargs
    except TypeError as e:
        if name not in TABLES[family]:
            pytest.fail(f"{family}.{name} cannot be built with no arguments ({e}): add a row "
                        f"for it to TABLES[{family!r}] in tests/test_config_roundtrip.py, "
                        "with non-default values for its arguments.")
        raise


def _normal(cfg):
    """The config as a loader sees it: through JSON (tuples become lists)."""
    return json.loads(json.dumps(cfg))


# A user's functions come back only from the caller (or the registry), never by importing the
# module a config names: the test passes them as a loader's custom_objects would.
def custom_objects() -> dict:
    objects = {"double_plus": double_plus, "jax_call": jax_call, "jax_init": jax_init}
    if config.backend() == "jax":
        import flax.linen

        objects["Dense"] = flax.linen.Dense  # FlaxLayer's Module class
    else:
        objects["Linear"] = _torch_module  # TorchModuleWrapper's module, made again
    return objects


def _rebuild(obj):
    config_ = obj.get_config()
    json.dumps(config_)  # (1) JSON as it is, no custom encoder
    kwargs = {}
    if "custom_objects" in inspect.signature(type(obj).from_config).parameters:
        kwargs["custom_objects"] = custom_objects()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return type(obj).from_config(_normal(config_), **kwargs)


# --- (1) and (2): the config is JSON and comes back equal -----------------------------------
def _cases(keep) -> list:
    return [pytest.param(f, n, c, id=f"{f}.{n}") for f, n, c in CLASSES if keep(f, n, c)]


def _heavy_on_jax(family, name, cls) -> bool:
    return name in HEAVY_ON_JAX.get(family, ()) or cls.__module__.startswith(
        HEAVY_ON_JAX_MODULES)


def _behaves(family, name, cls) -> bool:
    return (family, name) not in ABSTRACT and (family, name) not in CONFIG_ONLY


CONFIG_CASES = _cases(lambda f, n, c: (f, n) not in ABSTRACT)
# Behaviour on the first engine; on PyTorch for the layers whose eager JAX call compiles op by
# op (slow); each engine's own wrappers on that engine.
FIRST_ENGINE = _cases(lambda f, n, c: _behaves(f, n, c) and (f, n) not in ENGINE_ONLY
                      and not _heavy_on_jax(f, n, c))
TORCH_ONLY = _cases(lambda f, n, c: _behaves(f, n, c) and (
    ENGINE_ONLY.get((f, n)) == "torch" or ((f, n) not in ENGINE_ONLY and
                                           _heavy_on_jax(f, n, c))))
JAX_ONLY = _cases(lambda f, n, c: _behaves(f, n, c) and ENGINE_ONLY.get((f, n)) == "jax")


@pytest.mark.engine_independent
@pytest.mark.parametrize("family,name,cls", CONFIG_CASES)
def test_config_is_json_and_round_trips(family, name, cls):
    engine = ENGINE_ONLY.get((family, name))
    if engine is not None and config.backend() != engine:
        config.set_backend(engine)
    obj, kwargs = _make(family, name, cls)
    config_ = obj.get_config()
    try:
        json.dumps(config_)
    except TypeError as e:
        pytest.fail(f"{family}.{name}.get_config() is not JSON as it is ({e}): nested objects "
                    "must be written as dicts (serialize them) and values as plain Python.")
    missing = [k for k in kwargs if k not in config_ and k not in NOT_WRITTEN.get((family, name),
                                                                                ())]
    assert not missing, (f"{family}.{name}.get_config() drops the argument(s) {missing}: "
                         f"{config_}")
    back = _rebuild(obj)
    assert type(back) is type(obj)
    assert _normal(back.get_config()) == _normal(config_)


# --- (3): the rebuilt object behaves the same ---------------------------------------------------
def _np(x):
    if isinstance(x, (list, tuple)):
        return [_np(v) for v in x]
    if isinstance(x, dict):
        return {k: _np(v) for k, v in x.items()}
    return np.asarray(ops.convert_to_numpy(x))


def _assert_same(a, b, what):
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), what
        for k in a:
            _assert_same(a[k], b[k], f"{what}[{k!r}]")
    elif isinstance(a, list):
        assert len(a) == len(b), what
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{what}[{i}]")
    else:
        if a.dtype.kind in "fc":
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=what)
        else:
            np.testing.assert_array_equal(a, b, err_msg=what)


def _call(layer, x, name):
    """layer(x), in training mode where the layer takes it: seeded layers then draw the same
    numbers, which checks their settings; a cell runs inside an RNN."""
    kwargs = {}
    if "training" in inspect.signature(layer.call).parameters:
        kwargs["training"] = name not in INFERENCE_ONLY
    return layer(*x, **kwargs) if isinstance(x, tuple) else layer(x, **kwargs)


def _check_layer(name, cls, rng):
    a, _ = _make("layers", name, cls)
    _, sample = _row("layers", name)
    if sample is None:
        pytest.fail(f"layers.{name} has no sample input: add a row for it to LAYER_ARGS in "
                    "tests/test_config_roundtrip.py with the input it takes.")
    x = sample(rng)
    b = _rebuild(a)
    if name in CELLS:
        a, b = layers.RNN(a, return_sequences=True), layers.RNN(b, return_sequences=True)
    out_a, out_b = _call(a, x, name), _call(b, x, name)
    assert [tuple(w.shape) for w in a.weights] == [tuple(w.shape) for w in b.weights], \
        f"{name}: the rebuilt layer has other variables"
    if a.weights:  # the same weights, then the same outputs
        b.set_weights(a.get_weights())
        out_a, out_b = _call(a, x, name), _call(b, x, name)
    _assert_same(_np(out_a), _np(out_b), f"{name}'s output")


def _data(kind, rng):
    if kind is None:
        pytest.fail("no data kind for this class: add a row for it to LOSS_ARGS / METRIC_ARGS "
                    "in tests/test_config_roundtrip.py, saying which data it takes.")
    if kind == "prob":
        y_true = (rng.uniform(size=(4, 3)) > 0.5).astype("float32")
        return y_true, rng.uniform(0.05, 0.95, size=(4, 3)).astype("float32")
    if kind == "sparse":
        return np.array([0, 1, 2, 1], "int32"), rng.uniform(0.05, 0.95, (4, 3)).astype("float32")
    if kind == "regression":
        return (rng.normal(size=(4, 3)).astype("float32"),
                rng.normal(size=(4, 3)).astype("float32"))
    if kind == "values":
        return (rng.normal(size=(4,)).astype("float32"),)
    if kind == "ctc":
        logits = rng.normal(size=(2, 5, 4)).astype("float32")
        return np.array([[1, 2], [3, 0]], "int32"), logits
    if kind == "circle":
        return np.array([0, 1, 0, 1], "int32"), rng.normal(size=(4, 3)).astype("float32")
    raise AssertionError(kind)


def _check_loss(name, cls, rng):
    a, _ = _make("losses", name, cls)
    _, kind = _row("losses", name)
    b = _rebuild(a)
    y_true, y_pred = _data(kind, rng)
    _assert_same(_np(a(y_true, y_pred)), _np(b(y_true, y_pred)), f"{name}'s value")


def _check_metric(name, cls, rng):
    a, _ = _make("metrics", name, cls)
    _, kind = _row("metrics", name)
    b = _rebuild(a)
    data = _data(kind, rng)
    for m in (a, b):
        m.update_state(*data)
        m.update_state(*data[::-1] if len(data) == 2 and kind == "regression" else data)
    _assert_same(_np(a.result()), _np(b.result()), f"{name}'s result")


def _check_optimizer(name, cls, rng):
    from nhanh.variables import Variable

    a, _ = _make("optimizers", name, cls)
    b = _rebuild(a)
    w0 = rng.normal(size=(3, 2)).astype("float32")
    # Shrinking steps, so that settings such as AMSGrad's running maximum make a difference.
    grads = [scale * rng.normal(size=(3, 2)).astype("float32") for scale in (2.0, 0.5, 0.1)]
    out = []
    for opt in (a, b):
        w = Variable(w0.copy(), name="kernel")
        if name == "OptimizerMap":  # a map behaves through the optimizer it picks
            opt = opt(w)
        for g in grads:
            opt.apply([g], [w])
        out.append(w.numpy())
    _assert_same(out[0], out[1], f"{name}'s update")
    assert not np.allclose(out[0], w0), f"{name} did not move the variable"


def _check_schedule(name, cls, rng):
    a, _ = _make("optimizers.schedules", name, cls)
    b = _rebuild(a)
    for step in (0, 1, 4, 9):
        _assert_same(_np(a(step)), _np(b(step)), f"{name} at step {step}")


def _check_initializer(name, cls, rng):
    a, _ = _make("initializers", name, cls)
    b = _rebuild(a)
    unseeded = getattr(a, "seed", 0) is None  # then the same distribution, not the same draws
    shape = (8, 1, 5) if name == "STFT" else (64, 64) if unseeded else (6, 6)
    va, vb = _np(a(shape, "float32")), _np(b(shape, "float32"))
    if unseeded:
        np.testing.assert_allclose(va.mean(), vb.mean(), atol=0.1 * va.std() + 1e-6)
        np.testing.assert_allclose(va.std(), vb.std(), rtol=0.1)
    else:
        _assert_same(va, vb, f"{name}'s values")


def _check_regularizer(name, cls, rng):
    a, _ = _make("regularizers", name, cls)
    b = _rebuild(a)
    x = ops.convert_to_tensor(rng.normal(size=(3, 4)).astype("float32"))
    _assert_same(_np(a(x)), _np(b(x)), f"{name}'s penalty")


def _check_constraint(name, cls, rng):
    a, _ = _make("constraints", name, cls)
    b = _rebuild(a)
    x = ops.convert_to_tensor(rng.normal(size=(3, 4)).astype("float32"))
    _assert_same(_np(a(x)), _np(b(x)), f"{name}'s projection")


def _check_policy(name, cls, rng):
    a, _ = _make("dtype_policies", name, cls)
    b = _rebuild(a)
    if name == "DTypePolicyMap":
        for path in ("dense/kernel", "conv/bias"):
            assert (a[path].compute_dtype, a[path].variable_dtype) == \
                (b[path].compute_dtype, b[path].variable_dtype), path
        return
    assert (a.name, a.compute_dtype, a.variable_dtype) == \
        (b.name, b.compute_dtype, b.variable_dtype)


CHECKS = {"layers": _check_layer, "losses": _check_loss, "metrics": _check_metric,
          "optimizers": _check_optimizer, "optimizers.schedules": _check_schedule,
          "initializers": _check_initializer, "regularizers": _check_regularizer,
          "constraints": _check_constraint, "dtype_policies": _check_policy}


# Rebuilding from a config is the same Python on every engine (each class's computation is
# checked per engine in its own tests): the behaviour check runs once, on the first engine.
@pytest.mark.engine_independent
@pytest.mark.parametrize("family,name,cls", FIRST_ENGINE)
def test_rebuilt_object_behaves_the_same(backend, family, name, cls, np_rng):
    CHECKS[family](name, cls, np_rng)


@pytest.mark.engines("torch")
@pytest.mark.parametrize("family,name,cls", TORCH_ONLY)
def test_rebuilt_object_behaves_the_same_on_torch(backend, family, name, cls, np_rng):
    CHECKS[family](name, cls, np_rng)


@pytest.mark.engines("jax")
@pytest.mark.parametrize("family,name,cls", JAX_ONLY)
def test_rebuilt_object_behaves_the_same_on_jax(backend, family, name, cls, np_rng):
    CHECKS[family](name, cls, np_rng)


@pytest.mark.engine_independent
def test_every_table_row_names_a_public_class():
    """A row for a class that was renamed or removed would silently test nothing."""
    known = {(family, name) for family, name, _ in CLASSES}
    stale = [(f, n) for f, table in TABLES.items() for n in table if (f, n) not in known]
    stale += [(f, n) for f, names in HEAVY_ON_JAX.items() for n in names
              if (f, n) not in known]
    stale += [k for k in (*ABSTRACT, *CONFIG_ONLY, *ENGINE_ONLY, *NOT_WRITTEN)
              if k not in known]
    assert not stale, f"rows for classes nhanh does not export: {stale}"
