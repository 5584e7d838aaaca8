"""STFT: a windowed Fourier basis as a Conv1D kernel, so a convolution computes a spectrogram.

The basis is computed on the host in float64 (no rounding of the phase 2*pi*t*f/n before the
cosine, unlike a float32 device computation) and converted once, so both engines get the same
bits. Named windows come from `scipy.signal.get_window`, imported only when one is asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nhanh.initializers.initializer import Initializer, Shape, float_dtype, standardize_shape
from nhanh.initializers.initializer import to_backend

_SIDES = ("real", "imag")
_SCALINGS = ("density", "spectrum")


def _named_window(window, length: int, periodic: bool) -> np.ndarray:
    try:
        from scipy.signal import get_window
    except ImportError:
        raise ImportError(f"STFT: the named window {window!r} comes from SciPy, which is not "
                          "installed. Install it with `pip install scipy`, or pass the window "
                          "values as an array (or window=None).") from None
    try:
        return get_window(window, length, fftbins=periodic)
    except (ValueError, TypeError) as e:
        raise ValueError(f"STFT: `window` {window!r} is not a scipy.signal window ({e}). Use a "
                         "name such as 'hann' or 'hamming', a tuple such as ('kaiser', 8.0), "
                         "the window's values, or None.") from None


class STFT(Initializer):
    """Kernel (frame_length, channels, fft_length // 2 + 1) of a short-time Fourier transform.

    Entry (t, c, f) is cos (side "real") or sin (side "imag") of -2*pi*t*f / n_fft, with
    n_fft = 2 * (last dim - 1), times the window at t, divided by the window's L2 norm
    (scaling "density") or L1 norm ("spectrum"). The last axis holds only the non-negative
    frequencies: the others are their complex conjugates.

    Args:
        side: `"real"` or `"imag"`, the part of the complex transform this kernel computes.
        window: The name of a `scipy.signal` window (`"hann"`, `"hamming"`, or a tuple such as
            `("kaiser", 8.0)`), the window's values (an array of frame_length floats), or `None`
            for none.
        scaling: `"density"`, `"spectrum"` or `None` (no normalization); used only with a
            window.
        periodic: If True, the named window is periodic (the DFT-even form used for spectral
            analysis) rather than symmetric.
    """

    def __init__(self, side: str = "real", window="hann", scaling: str | None = "density",
                 periodic: bool = False):
        if side not in _SIDES:
            raise ValueError(f"STFT: `side` must be one of {_SIDES}, got {side!r}.")
        if scaling is not None and scaling not in _SCALINGS:
            raise ValueError(f"STFT: `scaling` must be None or one of {_SCALINGS}, "
                             f"got {scaling!r}.")
        if isinstance(window, (str, tuple)):
            _named_window(window, 1, periodic)  # an unknown window name fails here, not later
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape: Shape, dtype: str | None = None):
        shape, dtype = standardize_shape(shape), float_dtype(dtype, "STFT")
        if len(shape) != 3 or shape[2] < 2:
            raise ValueError(f"STFT makes Conv1D kernels of shape (frame_length, channels, "
                             f"fft_length // 2 + 1) with at least 2 frequencies; got shape "
                             f"{shape}.")
        frame_length, _, bins = shape
        phase = -2.0 * np.pi * np.outer(np.arange(frame_length), np.arange(bins)) \
            / (2 * (bins - 1))
        kernel = np.cos(phase) if self.side == "real" else np.sin(phase)
        if self.window is not None:
            if isinstance(self.window, (str, tuple)):
                window = _named_window(self.window, frame_length, self.periodic)
            else:
                window = np.asarray(self.window, dtype="float64")
            if window.shape != (frame_length,):
                raise ValueError(f"STFT: the window must have shape (frame_length,) = "
                                 f"({frame_length},), got {window.shape}. Pass as many window "
                                 "values as the kernel has time steps.")
            norm = {"density": np.sqrt(np.sum(window ** 2)), "spectrum": np.sum(np.abs(window)),
                    None: 1.0}[self.scaling]
            kernel = kernel * window[:, None] / norm
        return to_backend(np.broadcast_to(kernel[:, None, :], shape), dtype)

    def get_config(self) -> dict[str, Any]:
        window = self.window
        if window is not None and not isinstance(window, str):
            window = np.asarray(window).tolist() if not isinstance(window, tuple) \
                else list(window)
        return {"side": self.side, "window": window, "periodic": self.periodic,
                "scaling": self.scaling}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "STFT":
        config = dict(config)
        window = config.get("window")
        if isinstance(window, list) and window and isinstance(window[0], str):
            config["window"] = tuple(window)  # ("kaiser", 8.0) came back from JSON as a list
        return cls(**config)


STFTInitializer = STFT
