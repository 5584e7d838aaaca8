"""Audio front ends with Keras 3's arguments and numbers: MelSpectrogram and STFTSpectrogram.

MelSpectrogram is a fixed transform (ops.stft, then a mel filter bank, then decibels); it has no
weights. STFTSpectrogram computes its transform as a strided Conv1D whose kernels start as a
windowed Fourier basis (initializers.STFT) and are trainable weights (real_kernel,
imag_kernel), as in Keras, so a model may fine-tune its own front end.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from nhanh import config, initializers, ops
from nhanh.layers.conv import conv_output_length, normalize_data_format
from nhanh.layers.layer import InputSpec, Layer

_MEL_BREAK_HZ = 700.0  # HTK's mel scale: mel(f) = 1127 * ln(1 + f / 700)
_MEL_HIGH_Q = 1127.0


def _hertz_to_mel(hertz):
    return _MEL_HIGH_Q * np.log1p(np.asarray(hertz, "float64") / _MEL_BREAK_HZ)


def mel_weight_matrix(num_mel_bins: int, num_spectrogram_bins: int, sampling_rate: float,
                      lower_edge_hertz: float, upper_edge_hertz: float) -> np.ndarray:
    """(num_spectrogram_bins, num_mel_bins) triangular HTK filters, peaks 1, DC bin zero.

    Computed on the host in float64: it depends on no tensor, so it is a constant."""
    freqs = np.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins)[1:]  # without DC
    bins_mel = _hertz_to_mel(freqs)[:, None]
    edges = np.linspace(_hertz_to_mel(lower_edge_hertz), _hertz_to_mel(upper_edge_hertz),
                        num_mel_bins + 2)
    lower, center, upper = edges[None, :-2], edges[None, 1:-1], edges[None, 2:]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, [(1, 0), (0, 0)])


class MelSpectrogram(Layer):
    """Mel spectrograms of raw audio: (samples,) -> (num_mel_bins, frames), or
    (batch, samples) -> (batch, num_mel_bins, frames), frames = 1 + samples // sequence_stride
    (the frames are centred: the signal is reflected by fft_length // 2 at each end).

    Args:
        fft_length: Int, the FFT size (frequency bins = fft_length // 2 + 1).
        sequence_stride: Int, the hop between frames, in samples.
        sequence_length: Int <= fft_length, the window length; None is fft_length.
        window: `"hann"`, `"hamming"` or None (a rectangular window).
        sampling_rate: The signal's samples per second.
        num_mel_bins: Int, the number of mel bands.
        min_freq: Float, the lowest band's lower edge in Hz.
        max_freq: Float, the highest band's upper edge in Hz; None is sampling_rate / 2.
        power_to_db: If True, return decibels (10 * log10 of the power).
        top_db: Float, with power_to_db: the floor below the largest value of the batch.
        mag_exp: Float, the exponent of the magnitude (1: magnitude, 2: power).
        min_power: Float, the smallest power before the logarithm.
        ref_power: Float, the power that maps to 0 dB.
        **kwargs: Base-layer keywords (`name`, `dtype`, ...).
    """

    def __init__(self, fft_length: int = 2048, sequence_stride: int = 512,
                 sequence_length: int | None = None, window: str | None = "hann",
                 sampling_rate: int = 16000, num_mel_bins: int = 128, min_freq: float = 20.0,
                 max_freq: float | None = None, power_to_db: bool = True, top_db: float = 80.0,
                 mag_exp: float = 2.0, min_power: float = 1e-10, ref_power: float = 1.0,
                 **kwargs):
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError(f"MelSpectrogram `fft_length` must be >= `sequence_length`, got "
                             f"fft_length={fft_length} and sequence_length={sequence_length}. "
                             "Raise fft_length or shorten the window.")
        if window not in ("hann", "hamming", None):
            raise ValueError(f"MelSpectrogram `window` must be 'hann', 'hamming' or None, got "
                             f"{window!r}.")
        super().__init__(**kwargs)
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power

    def linear_to_mel_weight_matrix(self, num_mel_bins: int = 20,
                                    num_spectrogram_bins: int = 129, sampling_rate=8000,
                                    lower_edge_hertz: float = 125.0,
                                    upper_edge_hertz: float = 3800.0, dtype="float32"):
        """Keras's method: the (spectrogram bins, mel bins) HTK filter bank as a tensor."""
        return ops.convert_to_tensor(mel_weight_matrix(
            num_mel_bins, num_spectrogram_bins, sampling_rate, lower_edge_hertz,
            upper_edge_hertz).astype(dtype))

    def call(self, inputs):
        # why float32 at least: the engines' FFTs take float32 and float64 only
        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") \
            else "float32"
        inputs = ops.convert_to_tensor(inputs, dtype=dtype)
        real, imag = ops.stft(inputs, self.sequence_length, self.sequence_stride,
                              self.fft_length, window=self.window, center=True)
        spec = ops.power(ops.sqrt(ops.square(real) + ops.square(imag)), self.mag_exp)
        matrix = self.linear_to_mel_weight_matrix(
            self.num_mel_bins, self.fft_length // 2 + 1, self.sampling_rate, self.min_freq,
            self.max_freq, dtype=dtype)
        outputs = ops.tensordot(spec, matrix, axes=1)
        if self.power_to_db:
            outputs = self._dbscale(outputs)
        return ops.cast(ops.swapaxes(outputs, -1, -2), self.compute_dtype)

    def _dbscale(self, power):
        db = 10.0 * ops.log10(ops.maximum(power, self.min_power))
        db = db - 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
        # as Keras: the floor is top_db below the largest value of the whole batch
        return ops.maximum(db, ops.max(db) - self.top_db)

    def _frames(self, samples):
        if samples is None:
            return None
        half = self.fft_length // 2
        return (samples + 2 * half - self.fft_length) // self.sequence_stride + 1

    def compute_output_shape(self, input_shape):
        """The frames the call makes, 1 + samples // stride. (Keras 3's own formula,
        (samples + stride + 1) // stride, overcounts by one when stride divides samples + 1.)"""
        input_shape = tuple(input_shape)
        if len(input_shape) == 1:
            return (self.num_mel_bins, self._frames(input_shape[0]))
        return (*input_shape[:-1], self.num_mel_bins, self._frames(input_shape[-1]))

    def get_config(self) -> dict:
        return {**super().get_config(), "fft_length": self.fft_length,
                "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window,
                "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins,
                "min_freq": self.min_freq, "max_freq": self.max_freq,
                "power_to_db": self.power_to_db, "top_db": self.top_db,
                "mag_exp": self.mag_exp, "min_power": self.min_power,
                "ref_power": self.ref_power}


_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    """Spectrograms of (batch, samples, channels) signals (channels_first: (batch, channels,
    samples)) by a strided convolution with trainable Fourier kernels, as Keras 3.

    Output, channels_last: (batch, frames, channels * bins), or (batch, frames, bins, channels)
    with expand_dims; channels_first: (batch, channels * bins, frames), or (batch, channels,
    frames, bins). bins = fft_length // 2 + 1, twice that for mode "stft" (real then imag).

    Args:
        mode: `"log"` (log magnitude), `"magnitude"`, `"psd"` (power, one-sided: the inner
            bins doubled), `"real"`, `"imag"`, `"angle"` or `"stft"` (real and imag stacked).
        frame_length: Int, the window length in samples.
        frame_step: Int in [1, frame_length], the hop; None is frame_length // 2.
        fft_length: Int >= frame_length (a power of two is fastest); None is the next power of
            two.
        window: A `scipy.signal` window name, its values (frame_length floats) or None.
        periodic: If True, the named window is periodic rather than symmetric.
        scaling: `"density"` (divide by the window's L2 norm), `"spectrum"` (L1 norm) or None.
        padding: `"valid"` or `"same"`, of the convolution over time.
        expand_dims: If True, keep channels and bins on separate axes.
        data_format: `"channels_last"` or `"channels_first"`; None is the configured default.
        **kwargs: Base-layer keywords (`name`, `trainable`, `dtype`, ...).
    """

    def __init__(self, mode: str = "log", frame_length: int = 256, frame_step: int | None = None,
                 fft_length: int | None = None, window="hann", periodic: bool = False,
                 scaling: str | None = "density", padding: str = "valid",
                 expand_dims: bool = False, data_format: str | None = None, **kwargs):
        if frame_step is not None and not 1 <= frame_step <= frame_length:
            raise ValueError(f"STFTSpectrogram `frame_step` must be an int in [1, frame_length="
                             f"{frame_length}], got {frame_step!r}.")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"STFTSpectrogram `fft_length` must be >= frame_length="
                             f"{frame_length}, got {fft_length!r}.")
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(f"STFTSpectrogram `fft_length` is best a power of two; got "
                          f"{fft_length}.", stacklevel=2)
        if mode not in _MODES:
            raise ValueError(f"STFTSpectrogram `mode` must be one of {', '.join(_MODES)}, got "
                             f"{mode!r}.")
        if scaling not in ("density", "spectrum", None):
            raise ValueError(f"STFTSpectrogram `scaling` must be 'density', 'spectrum' or None, "
                             f"got {scaling!r}.")
        if padding not in ("valid", "same"):
            raise ValueError(f"STFTSpectrogram `padding` must be 'valid' or 'same', got "
                             f"{padding!r}.")
        initializers.STFT("real", window, scaling, periodic)  # a bad window fails here
        super().__init__(**kwargs)
        self.mode, self.frame_length, self.frame_step = mode, frame_length, frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window, self.periodic, self.scaling = window, periodic, scaling
        self.padding, self.expand_dims = padding, expand_dims
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape) -> None:
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(shape, initializers.STFT(
                "real", self.window, self.scaling, self.periodic), name="real_kernel")
        if self.mode != "real":
            self.imag_kernel = self.add_weight(shape, initializers.STFT(
                "imag", self.window, self.scaling, self.periodic), name="imag_kernel")

    def _transform(self, inputs, kernel):
        """(batch, channels, bins, frames): each channel convolved on its own."""
        last = self.data_format == "channels_last"
        _, a, b = tuple(ops.shape(inputs))
        samples, channels = (a, b) if last else (b, a)
        if last:
            inputs = ops.reshape(ops.transpose(inputs, (0, 2, 1)), (-1, samples, 1))
        else:
            inputs = ops.reshape(inputs, (-1, 1, samples))
        out = ops.conv(inputs, ops.cast(kernel, inputs.dtype), strides=self._frame_step,
                       padding=self.padding, data_format=self.data_format)
        if last:
            out = ops.transpose(out, (0, 2, 1))
        return ops.reshape(out, (-1, channels, *tuple(ops.shape(out))[1:]))

    def _layout(self, outputs):
        """(batch, channels, bins, frames) -> the layer's output layout."""
        _, channels, bins, frames = tuple(ops.shape(outputs))
        if self.expand_dims:
            return ops.transpose(outputs, (0, 3, 2, 1) if self.data_format == "channels_last"
                                 else (0, 1, 3, 2))
        outputs = ops.reshape(outputs, (-1, channels * bins, frames))
        return ops.transpose(outputs, (0, 2, 1)) if self.data_format == "channels_last" \
            else outputs

    def call(self, inputs):
        dtype = str(getattr(inputs, "dtype", "")).replace("torch.", "")
        if dtype not in ("float16", "float32", "float64"):
            raise TypeError(f"STFTSpectrogram takes float16, float32 or float64 signals, got "
                            f"dtype {dtype}. Cast the audio to float first.")
        real = self._transform(inputs, self.real_kernel) if self.mode != "imag" else None
        imag = self._transform(inputs, self.imag_kernel) if self.mode != "real" else None
        if self.mode in ("real", "imag"):
            return self._layout(real if self.mode == "real" else imag)
        if self.mode == "angle":
            return self._layout(ops.arctan2(imag, real))
        if self.mode == "stft":
            return self._layout(ops.concatenate([real, imag], axis=2))
        power = ops.square(real) + ops.square(imag)
        if self.mode == "psd":  # one-sided: every bin but DC and Nyquist counts twice
            return self._layout(power + ops.pad(power[:, :, 1:-1, :],
                                                [(0, 0), (0, 0), (1, 1), (0, 0)]))
        magnitude = self._layout(ops.sqrt(ops.maximum(power, config.epsilon())))
        if self.mode == "magnitude":
            return magnitude
        return ops.log(ops.maximum(magnitude, config.epsilon()))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        last = self.data_format == "channels_last"
        channels, samples = (input_shape[2], input_shape[1]) if last else input_shape[1:]
        bins = (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)
        frames = conv_output_length(samples, self.frame_length, self._frame_step, 1,
                                    self.padding)
        if self.expand_dims:
            return (input_shape[0], frames, bins, channels) if last else \
                (input_shape[0], channels, frames, bins)
        width = None if channels is None else channels * bins
        return (input_shape[0], frames, width) if last else (input_shape[0], width, frames)

    def get_config(self) -> dict:
        window = self.window
        if window is not None and not isinstance(window, (str, tuple)):
            window = np.asarray(window).tolist()
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length,
                "window": window, "periodic": self.periodic, "scaling": self.scaling,
                "padding": self.padding, "data_format": self.data_format,
                "expand_dims": self.expand_dims}
