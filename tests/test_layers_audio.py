"""MelSpectrogram and STFTSpectrogram against real Keras 3 (on JAX, imported once): values,
weights, output shapes (compute_output_shape and in a functional model), a training step of
STFTSpectrogram's kernels, configs."""

import os

import numpy as np
import pytest

import nhanh
from nhanh.layers.audio import MelSpectrogram, STFTSpectrogram

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

MEL_CASES = {
    "defaults": dict(),
    "hamming_magnitude": dict(fft_length=128, num_mel_bins=20, sampling_rate=8000,
                              sequence_length=100, sequence_stride=33, window="hamming",
                              power_to_db=False, mag_exp=1.0, max_freq=3000, min_freq=50.0),
    "no_window_top_db": dict(fft_length=64, sequence_stride=16, window=None, top_db=20.0,
                             ref_power=2.0),
}
_KERAS: dict = {}


def _signal(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _numpy(x):
    return np.asarray(nhanh.ops.convert_to_numpy(x))


@pytest.mark.parametrize("name", list(MEL_CASES))
def test_mel_spectrogram_matches_keras(name, backend):
    kwargs = MEL_CASES[name]
    x = _signal((2, 3000))
    if name not in _KERAS:
        layer = keras.layers.MelSpectrogram(**kwargs)
        _KERAS[name] = np.asarray(layer(x)), np.asarray(layer(x[0])), layer.get_config()
    want, want_single, keras_config = _KERAS[name]
    layer = MelSpectrogram(**kwargs)
    got = _numpy(layer(x))
    assert got.shape == want.shape == layer.compute_output_shape(x.shape)
    db = kwargs.get("power_to_db", True)  # decibels: an absolute tolerance
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-3 if db else 1e-5 * want.max())
    single = _numpy(layer(x[0]))  # one unbatched signal
    assert single.shape == want_single.shape == layer.compute_output_shape(x[0].shape)
    np.testing.assert_allclose(single, want_single, rtol=1e-4,
                               atol=2e-3 if db else 1e-5 * want.max())
    config = layer.get_config()
    assert set(config) == set(keras_config)
    assert {k: config[k] for k in config if k not in ("name", "dtype")} == {
        k: keras_config[k] for k in keras_config if k not in ("name", "dtype")}
    assert MelSpectrogram.from_config(config).get_config() == config


def test_mel_spectrogram_shape_in_a_functional_model(backend):
    """frames = 1 + samples // stride, also where Keras 3's compute_output_shape says one
    more (stride divides samples + 1): the symbolic shape is what predict returns."""
    for samples in (1023, 3000):
        inputs = nhanh.Input((samples,))
        outputs = MelSpectrogram(fft_length=1024, sequence_stride=512, num_mel_bins=16)(inputs)
        model = nhanh.Model(inputs, outputs)
        frames = 1 + samples // 512
        assert tuple(model.output.shape) == (None, 16, frames)
        assert model.predict(_signal((2, samples)), verbose=0).shape == (2, 16, frames)


STFT_CASES = [(mode, fmt, expand) for mode in
              ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
              for fmt, expand in (("channels_last", False), ("channels_first", True))] + [
    ("log", "channels_last", True), ("psd", "channels_first", False)]


def _stft_kwargs(mode, fmt, expand):
    return dict(mode=mode, frame_length=30, frame_step=7, fft_length=32, data_format=fmt,
                expand_dims=expand, padding="same" if expand else "valid")


@pytest.mark.parametrize("mode,fmt,expand", STFT_CASES)
def test_stft_spectrogram_matches_keras(mode, fmt, expand, backend):
    kwargs = _stft_kwargs(mode, fmt, expand)
    x = _signal((2, 100, 3) if fmt == "channels_last" else (2, 3, 100), seed=1)
    key = ("stft", mode, fmt, expand)
    if key not in _KERAS:
        layer = keras.layers.STFTSpectrogram(**kwargs)
        _KERAS[key] = (np.asarray(layer(x)), [np.asarray(w) for w in layer.weights],
                       [w.path.split("/")[-1] for w in layer.weights],
                       layer.compute_output_shape(x.shape), layer.get_config())
    want, weights, names, shape, keras_config = _KERAS[key]
    layer = STFTSpectrogram(**kwargs)
    got = _numpy(layer(x))
    assert [w.name.split("/")[-1] for w in layer.weights] == names
    assert all(w.trainable for w in layer.weights)
    for ours, theirs in zip(layer.weights, weights):  # the fixed-init Fourier kernels
        np.testing.assert_allclose(_numpy(ours), theirs, atol=2e-6)
    assert got.shape == want.shape == tuple(shape) == layer.compute_output_shape(x.shape)
    atol = 5e-5
    if mode == "angle":  # compare on the circle: a +-0 imaginary part may flip pi to -pi;
        got, want = np.exp(1j * got), np.exp(1j * want)  # and at the Nyquist bin, Keras's
        atol = 1e-3  # float32 kernel sin(-pi t) is ~1e-6, not 0, so the angle is rounding
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=atol)
    assert set(layer.get_config()) == set(keras_config)


def _train_stft(L, layer_cls):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 64, 1)).astype("float32")
    y = rng.normal(size=(4, 1)).astype("float32")
    model = L.Sequential([L.Input((64, 1)),
                          layer_cls(mode="magnitude", frame_length=16, frame_step=8),
                          L.layers.Flatten(), L.layers.Dense(1)])
    dense = model.layers[-1]
    dense.set_weights([rng.normal(scale=0.1, size=w.shape).astype("float32")
                       for w in dense.get_weights()])
    model.compile(optimizer=L.optimizers.SGD(0.05), loss="mse")
    loss = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    return loss, [np.asarray(w) for w in model.get_weights()]


def test_stft_kernels_train_as_keras(backend):
    if "train" not in _KERAS:
        _KERAS["train"] = _train_stft(keras, keras.layers.STFTSpectrogram)
    want_loss, want_weights = _KERAS["train"]
    loss, weights = _train_stft(nhanh, STFTSpectrogram)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-4)
    initial = STFTSpectrogram(mode="magnitude", frame_length=16, frame_step=8)
    initial.build((None, 64, 1))
    assert not np.allclose(weights[0], _numpy(initial.weights[0]))  # the kernel learned
    for got, want in zip(weights, want_weights):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_stft_config_round_trip_and_errors(backend):
    layer = STFTSpectrogram(mode="psd", frame_length=64, frame_step=16, window="hamming",
                            periodic=True, scaling="spectrum", expand_dims=True)
    clone = STFTSpectrogram.from_config(layer.get_config())
    x = _signal((1, 200, 2))
    np.testing.assert_allclose(_numpy(clone(x)), _numpy(layer(x)), rtol=1e-6)
    with pytest.raises(ValueError, match="mode"):
        STFTSpectrogram(mode="power")
    with pytest.raises(ValueError, match="frame_step"):
        STFTSpectrogram(frame_length=8, frame_step=9)
    with pytest.raises(ValueError, match="fft_length"):
        STFTSpectrogram(frame_length=64, fft_length=32)
    with pytest.raises(TypeError, match="float"):
        STFTSpectrogram(frame_length=8)(np.zeros((1, 32, 1), "int32"))
    with pytest.raises(ValueError, match="sequence_length"):
        MelSpectrogram(fft_length=64, sequence_length=128)
