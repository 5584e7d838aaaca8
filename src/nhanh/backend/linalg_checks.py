"""Argument checks and window arithmetic for the linalg and fft groups, shared by the engines.

Pure Python on shapes (and NumPy for the analysis windows), so both engines reject the same
arguments with the same messages and frame signals with the same windows.
"""

from __future__ import annotations

import numpy as np


def matrices(op: str, shape, square: bool = True, name: str = "x") -> None:
    """A stack of matrices (rank >= 2), square ones where `square`."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"{op} expects `{name}` of rank >= 2 (a matrix or a stack of them), "
                         f"got shape {shape}. Reshape it to (..., M, N).")
    if square and shape[-1] != shape[-2]:
        raise ValueError(f"{op} expects square matrices in `{name}` (shape (..., N, N)), got "
                         f"shape {shape}. Use lstsq or pinv for non-square systems.")


def system(op: str, a_shape, b_shape) -> None:
    """`a` square matrices and `b` right-hand sides that fit them: (..., N) or (..., N, K)."""
    matrices(op, a_shape, name="a")
    a_shape, b_shape = tuple(a_shape), tuple(b_shape)
    if len(b_shape) < 1:
        raise ValueError(f"{op} expects `b` of rank >= 1, got a scalar. Pass a vector of "
                         f"length {a_shape[-1]} or a matrix with {a_shape[-1]} rows.")
    rows = b_shape[-1] if len(b_shape) == len(a_shape) - 1 else b_shape[-2] \
        if len(b_shape) >= 2 else b_shape[-1]
    if rows != a_shape[-1]:
        raise ValueError(f"{op}: `b` does not fit `a`: a has shape {a_shape}, so b needs "
                         f"{a_shape[-1]} rows (shape (..., {a_shape[-1]}) or "
                         f"(..., {a_shape[-1]}, K)), got b of shape {b_shape}.")


def b_is_vector(a_shape, b_shape) -> bool:
    """Whether `b` holds vectors (one rank less than `a`) rather than matrices."""
    return len(tuple(b_shape)) == len(tuple(a_shape)) - 1


def qr_mode(mode: str) -> None:
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: `mode` must be 'reduced' or 'complete', got mode={mode!r}.")


def pair(op: str, x) -> None:
    """Keras's complex numbers: a (real, imag) pair of float tensors of one shape."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{op} expects `x` as a (real, imag) pair of float tensors, got "
                         f"{type(x).__name__}. Pass (x, zeros_like(x)) for a real signal.")
    real, imag = x
    if tuple(real.shape) != tuple(imag.shape):
        raise ValueError(f"{op}: the real and imaginary parts of `x` must have one shape, got "
                         f"{tuple(real.shape)} and {tuple(imag.shape)}.")


def float_parts(op: str, dtypes) -> None:
    bad = [d for d in dtypes if not (d.startswith("float") or d == "bfloat16")]
    if bad:
        raise ValueError(f"{op} expects float real and imaginary parts in `x`, got dtype "
                         f"{bad[0]}. Cast them with ops.cast(part, 'float32').")


def stft_args(op: str, sequence_length: int, sequence_stride: int, fft_length: int) -> None:
    for name, value in (("sequence_length", sequence_length),
                        ("sequence_stride", sequence_stride), ("fft_length", fft_length)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{op}: `{name}` must be a positive int, got {name}={value!r}.")
    if fft_length < sequence_length:
        raise ValueError(f"{op}: `fft_length` must be >= `sequence_length` (frames are "
                         f"zero-padded to fft_length), got sequence_length={sequence_length}, "
                         f"fft_length={fft_length}.")


def window(op: str, window, sequence_length: int, fft_length: int) -> np.ndarray | None:
    """The analysis window as float64 NumPy, zero-padded (centred) to `fft_length`; None for
    no window. 'hann' and 'hamming' are the periodic windows of spectral analysis."""
    if window is None:
        return None
    if isinstance(window, str):
        n = np.arange(sequence_length)
        cosine = np.cos(2.0 * np.pi * n / sequence_length)
        if window == "hann":
            win = 0.5 - 0.5 * cosine
        elif window == "hamming":
            win = 0.54 - 0.46 * cosine
        else:
            raise ValueError(f"{op}: a string `window` must be 'hann' or 'hamming', got "
                             f"window={window!r}. Pass the window's values as a tensor for "
                             "any other window.")
    else:
        win = np.asarray(window, dtype=np.float64)
        if win.shape != (sequence_length,):
            raise ValueError(f"{op}: `window` must have shape (sequence_length,) = "
                             f"({sequence_length},), got shape {win.shape}.")
    left = (fft_length - sequence_length) // 2
    return np.pad(win, (left, fft_length - sequence_length - left))


def stft_signal(op: str, dtype: str, length: int, fft_length: int, center: bool) -> None:
    if dtype not in ("float32", "float64"):
        raise TypeError(f"{op} expects a float32 or float64 signal `x`, got dtype {dtype}. "
                        "Cast it with ops.cast(x, 'float32').")
    if center and length <= fft_length // 2:
        raise ValueError(f"{op}: with center=True the signal is reflected by fft_length // 2 "
                         f"= {fft_length // 2} samples at each end, so it needs more samples "
                         f"than that; got {length}. Use center=False or a shorter fft_length.")
    if not center and length < fft_length:
        raise ValueError(f"{op}: the signal ({length} samples) is shorter than one frame "
                         f"(fft_length={fft_length}). Use center=True or a shorter fft_length.")


def spectrogram(op: str, shape, fft_length: int) -> None:
    """(..., frames, fft_length // 2 + 1): what stft returns for this fft_length."""
    shape = tuple(shape)
    if len(shape) < 2 or shape[-1] != fft_length // 2 + 1:
        raise ValueError(f"{op} expects `x` parts of shape (..., frames, fft_length // 2 + 1) "
                         f"= (..., frames, {fft_length // 2 + 1}), got shape {shape}. Pass the "
                         "fft_length that stft used.")


def frame_indices(count: int, size: int, stride: int) -> np.ndarray:
    """(count, size) sample indices of overlapping frames."""
    return stride * np.arange(count)[:, None] + np.arange(size)[None, :]
