"""Fourier transforms on JAX (the backend contract's fft group).

Keras 3 passes complex numbers as (real, imag) pairs of float tensors, so models whose
weights and activations are all real can still take spectra; fft, fft2, ifft2 and irfft take
such pairs and fft, fft2, ifft2, rfft and stft return them. stft frames a signal (reflected
at both ends when centred), windows each frame and takes its real FFT; istft inverts it by
weighted overlap-add, dividing by the summed squared window (the least-squares inverse).
"""

from __future__ import annotations

import jax.numpy as jnp

from nhanh.backend import linalg_checks as checks
from nhanh.backend.jax.core import convert_to_tensor, dtype_of


def _complex(op, x):
    checks.pair(op, x)
    real, imag = convert_to_tensor(x[0]), convert_to_tensor(x[1])
    checks.pair(op, (real, imag))
    checks.float_parts(op, (dtype_of(real), dtype_of(imag)))
    return real + 1j * imag.astype(real.dtype)


def _pair(z):
    return jnp.real(z), jnp.imag(z)


def fft(x):
    return _pair(jnp.fft.fft(_complex("fft", x)))


def fft2(x):
    return _pair(jnp.fft.fft2(_complex("fft2", x)))


def ifft2(x):
    return _pair(jnp.fft.ifft2(_complex("ifft2", x)))


def rfft(x, fft_length=None):
    return _pair(jnp.fft.rfft(convert_to_tensor(x), n=fft_length, axis=-1))


def irfft(x, fft_length=None):
    return jnp.fft.irfft(_complex("irfft", x), n=fft_length, axis=-1)


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    checks.stft_args("stft", sequence_length, sequence_stride, fft_length)
    x = convert_to_tensor(x)
    checks.stft_signal("stft", dtype_of(x), x.shape[-1], fft_length, center)
    win = checks.window("stft", window, sequence_length, fft_length)
    if center:
        half = fft_length // 2
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(half, half)], mode="reflect")
    count = (x.shape[-1] - fft_length) // sequence_stride + 1
    frames = x[..., checks.frame_indices(count, fft_length, sequence_stride)]
    if win is not None:
        frames = frames * jnp.asarray(win, dtype=x.dtype)
    return _pair(jnp.fft.rfft(frames, n=fft_length, axis=-1))


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    checks.stft_args("istft", sequence_length, sequence_stride, fft_length)
    z = _complex("istft", x)
    checks.spectrogram("istft", z.shape, fft_length)
    dtype = jnp.real(z).dtype
    frames = jnp.fft.irfft(z, n=fft_length, axis=-1)
    win = checks.window("istft", window, sequence_length, fft_length)
    scale = 1.0
    if win is None:  # Keras's convention: a rectangular window, scaled by the overlap
        win, scale = jnp.ones(fft_length), fft_length / sequence_stride
    count = z.shape[-2]
    index = checks.frame_indices(count, fft_length, sequence_stride).reshape(-1)
    total = fft_length + sequence_stride * (count - 1)
    win = jnp.asarray(win, dtype=dtype)
    signal = jnp.zeros((*frames.shape[:-2], total), dtype).at[..., index].add(
        (frames * win).reshape(*frames.shape[:-2], -1))
    envelope = jnp.zeros(total, dtype).at[index].add(jnp.tile(win * win, count))
    signal = signal / jnp.where(envelope > 1e-10, envelope, 1.0) * scale
    start = fft_length // 2 if center else 0
    if length is not None:
        return signal[..., start:start + length]
    return signal[..., start:total - start]


def view_as_complex(x):
    x = convert_to_tensor(x)
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex expects `x` whose last axis holds (real, imag), of "
                         f"size 2; got shape {tuple(x.shape)}.")
    return (x[..., 0] + 1j * x[..., 1]).astype(jnp.complex64)


def view_as_real(x):
    x = convert_to_tensor(x)
    return jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)


def polar(abs_, angle):
    abs_, angle = convert_to_tensor(abs_), convert_to_tensor(angle)
    return jnp.asarray(abs_ * jnp.cos(angle) + 1j * (abs_ * jnp.sin(angle)))
