"""Keras 3's lowercase initializer names (the classes themselves) and the STFT initializer:
values against real Keras 3 (on JAX, in this process) for several window / scaling / side
options, and against NumPy's FFT when a Conv1D uses the kernel to compute a spectrogram."""

from __future__ import annotations

import os

import numpy as np
import pytest

import nhanh
from nhanh import initializers, ops
from nhanh.initializers.stft_initializer import STFT, STFTInitializer

os.environ.setdefault("KERAS_BACKEND", "jax")
to_numpy = ops.convert_to_numpy

ALIASES = {
    "constant": "Constant", "glorot_normal": "GlorotNormal", "glorot_uniform": "GlorotUniform",
    "he_normal": "HeNormal", "he_uniform": "HeUniform", "identity": "Identity",
    "lecun_normal": "LecunNormal", "lecun_uniform": "LecunUniform", "ones": "Ones",
    "orthogonal": "Orthogonal", "random_normal": "RandomNormal",
    "random_uniform": "RandomUniform", "truncated_normal": "TruncatedNormal",
    "variance_scaling": "VarianceScaling", "zeros": "Zeros", "stft": "STFT",
}


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.mark.engine_independent
def test_lowercase_names_are_the_classes(keras):
    for alias, cls_name in ALIASES.items():
        cls = getattr(initializers, cls_name)
        assert getattr(initializers, alias) is cls, alias
        assert getattr(keras.initializers, alias) is getattr(keras.initializers, cls_name)
        assert isinstance(initializers.get(alias), cls)
    assert initializers.STFTInitializer is initializers.STFT is STFTInitializer
    # Keras 2 code calls them: glorot_uniform(seed=1) is an initializer, the same as the class's
    a = initializers.glorot_uniform(seed=1)((3, 4))
    np.testing.assert_array_equal(to_numpy(a), to_numpy(initializers.GlorotUniform(seed=1)((3, 4))))
    np.testing.assert_array_equal(to_numpy(initializers.constant(2.5)((2,))), [2.5, 2.5])


# Options tried on a (frame_length=16, 1, 9) kernel: n_fft = 16, every bin below Nyquist.
STFT_OPTIONS = [
    {}, {"side": "imag"}, {"window": "hamming"}, {"window": "hann", "periodic": True},
    {"window": "hann", "scaling": "spectrum"}, {"window": "blackman", "scaling": None},
    {"window": None}, {"side": "imag", "window": None, "scaling": "spectrum"},
    {"window": np.linspace(0.2, 1.0, 16).tolist(), "scaling": "density"},
    {"window": np.linspace(0.2, 1.0, 16).tolist(), "scaling": "spectrum", "side": "imag"},
]


@pytest.mark.parametrize("kwargs", STFT_OPTIONS, ids=[str(k)[:50] for k in STFT_OPTIONS])
def test_stft_matches_keras(keras, kwargs):
    for shape in ((16, 1, 9), (12, 1, 7)):
        if isinstance(kwargs.get("window"), list) and shape[0] != 16:
            continue
        got = STFT(**kwargs)(shape)
        assert ops.dtype(got) == "float32" and ops.shape(got) == shape
        expected = np.asarray(keras.initializers.STFT(**kwargs)(shape))
        # Keras rounds the phase 2*pi*t*f/n to float32 before the cosine; nhanh does not
        np.testing.assert_allclose(to_numpy(got), expected, rtol=0, atol=5e-6)


def test_stft_kernel_in_conv1d_computes_numpy_rfft():
    get_window = pytest.importorskip("scipy.signal").get_window
    frame, hop, n = 16, 4, 80
    signal = np.random.default_rng(0).normal(size=(2, n, 1)).astype("float32")
    frames = np.lib.stride_tricks.sliding_window_view(signal[..., 0], frame, axis=1)[:, ::hop]
    for window, scaling in (("hann", "density"), ("hamming", "spectrum"), (None, None)):
        w = np.ones(frame) if window is None else get_window(window, frame, fftbins=True)
        norm = {"density": np.sqrt(np.sum(w ** 2)), "spectrum": np.sum(w), None: 1.0}[scaling]
        spectrum = np.fft.rfft(frames.astype("float64") * w, axis=-1) / norm
        for side, part in (("real", spectrum.real), ("imag", spectrum.imag)):
            conv = nhanh.layers.Conv1D(frame // 2 + 1, frame, strides=hop, use_bias=False,
                                       kernel_initializer=STFT(side, window, scaling, True))
            np.testing.assert_allclose(to_numpy(conv(signal)), part, rtol=1e-4, atol=1e-4)


def test_stft_channels_and_dtype():
    kernel = STFT(window=None)((8, 3, 5), dtype="float16")
    assert ops.dtype(kernel) == "float16"
    kernel = to_numpy(kernel).astype("float64")
    assert kernel.shape == (8, 3, 5)
    np.testing.assert_array_equal(kernel[:, 0], kernel[:, 2])  # the same basis per channel
    t, f = np.arange(8)[:, None], np.arange(5)[None, :]
    np.testing.assert_allclose(kernel[:, 1], np.cos(2 * np.pi * t * f / 8), atol=1e-3)


def test_stft_config_round_trip(keras):
    for kwargs in STFT_OPTIONS + [{"window": ("kaiser", 8.0)}]:
        init = STFT(**kwargs)
        config = init.get_config()
        assert set(config) == {"side", "window", "scaling", "periodic"}
        for again in (STFT.from_config(config), initializers.get(initializers.serialize(init)),
                      initializers.deserialize({"class_name": "STFTInitializer",
                                                "config": config})):
            assert isinstance(again, STFT) and again.get_config() == config
            np.testing.assert_array_equal(to_numpy(again((16, 1, 9))),
                                          to_numpy(init((16, 1, 9))))
        if not isinstance(kwargs.get("window"), tuple):  # Keras cannot make a kaiser window
            assert keras.initializers.STFT(**kwargs).get_config() == config


def test_stft_errors_say_what_came():
    with pytest.raises(ValueError, match="side"):
        STFT(side="complex")
    with pytest.raises(ValueError, match="scaling"):
        STFT(scaling="l2")
    with pytest.raises(ValueError, match="hannn"):
        STFT(window="hannn")
    with pytest.raises(ValueError, match=r"\(16,\).*\(3,\)"):
        STFT(window=[1.0, 2.0, 3.0])((16, 1, 9))
    with pytest.raises(ValueError, match=r"\(16, 9\)"):
        STFT()((16, 9))
    with pytest.raises(ValueError, match="float"):
        STFT()((16, 1, 9), dtype="int32")


# --- fans over chosen axes (Keras 3.15's input_axes / output_axes) ----------------------------

VARIANCE_SCALING = ["GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
                    "LecunNormal", "VarianceScaling"]


@pytest.mark.engine_independent
@pytest.mark.parametrize("name", VARIANCE_SCALING)
def test_keras_configs_with_axes_round_trip(keras, name):
    config = getattr(keras.initializers, name)(seed=3, input_axes=[0], output_axes=[1, 2]) \
        .get_config()
    assert getattr(initializers, name).from_config(config).get_config() == config
    assert getattr(initializers, name)().get_config() == getattr(keras.initializers, name)() \
        .get_config()


@pytest.mark.engine_independent
@pytest.mark.parametrize("axes", [(None, None), ([0], [1, 2]), ([0, 1], [2]), ([2], [0])])
def test_fans_over_axes_match_keras(keras, axes):
    from keras.src.initializers.random_initializers import compute_fans as keras_fans

    shape = (6, 4, 5)
    assert initializers.compute_fans(shape, *axes) == keras_fans(shape, *axes)


def test_variance_follows_the_axes():
    init = initializers.VarianceScaling(2.0, "fan_avg", "uniform", seed=1, input_axes=[0],
                                        output_axes=[1, 2])
    values = ops.convert_to_numpy(init((300, 4, 5)))
    np.testing.assert_allclose(values.var(), 2.0 / ((300 + 20) / 2), rtol=0.05)
