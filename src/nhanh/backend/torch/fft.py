"""Fourier transforms on PyTorch (the backend contract's fft group).

The same conventions as on JAX (see nhanh/backend/jax/fft.py): complex numbers travel as
(real, imag) pairs of float tensors; stft frames, windows and takes real FFTs; istft is the
weighted overlap-add inverse. Both engines frame with the same indices and windows
(nhanh.backend.linalg_checks), so they agree to rounding.
"""

from __future__ import annotations

import torch

from nhanh.backend import linalg_checks as checks
from nhanh.backend.torch.core import convert_to_tensor


def _name(dtype) -> str:
    return str(dtype).removeprefix("torch.")  # torch.float32 -> 'float32'


def _complex(op, x):
    checks.pair(op, x)
    real, imag = convert_to_tensor(x[0]), convert_to_tensor(x[1])
    checks.pair(op, (real, imag))
    checks.float_parts(op, (_name(real.dtype), _name(imag.dtype)))
    if real.dtype != torch.float64:  # torch.complex takes only float32 and float64 parts
        real = real.to(torch.float32)
    return torch.complex(real, imag.to(real.dtype))


def _pair(z):
    return z.real, z.imag


def fft(x):
    return _pair(torch.fft.fft(_complex("fft", x)))


def fft2(x):
    return _pair(torch.fft.fft2(_complex("fft2", x)))


def ifft2(x):
    return _pair(torch.fft.ifft2(_complex("ifft2", x)))


def rfft(x, fft_length=None):
    return _pair(torch.fft.rfft(convert_to_tensor(x), n=fft_length, dim=-1))


def irfft(x, fft_length=None):
    return torch.fft.irfft(_complex("irfft", x), n=fft_length, dim=-1)


def _reflect(x, half):
    """x mirrored by `half` samples at both ends of the last axis (the edge not repeated)."""
    left = x[..., 1:half + 1].flip(-1)
    right = x[..., -half - 1:-1].flip(-1)
    return torch.cat([left, x, right], dim=-1)


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    checks.stft_args("stft", sequence_length, sequence_stride, fft_length)
    x = convert_to_tensor(x)
    checks.stft_signal("stft", _name(x.dtype), x.shape[-1], fft_length, center)
    win = checks.window("stft", window, sequence_length, fft_length)
    if center and fft_length // 2:
        x = _reflect(x, fft_length // 2)
    frames = x.unfold(-1, fft_length, sequence_stride)
    if win is not None:
        frames = frames * torch.as_tensor(win, dtype=x.dtype, device=x.device)
    return _pair(torch.fft.rfft(frames, n=fft_length, dim=-1))


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    checks.stft_args("istft", sequence_length, sequence_stride, fft_length)
    z = _complex("istft", x)
    checks.spectrogram("istft", z.shape, fft_length)
    frames = torch.fft.irfft(z, n=fft_length, dim=-1)
    dtype, device = frames.dtype, frames.device
    win = checks.window("istft", window, sequence_length, fft_length)
    scale = 1.0
    if win is None:  # Keras's convention: a rectangular window, scaled by the overlap
        win, scale = [1.0] * fft_length, fft_length / sequence_stride
    count = z.shape[-2]
    index = torch.as_tensor(checks.frame_indices(count, fft_length, sequence_stride).reshape(-1),
                            device=device)
    total = fft_length + sequence_stride * (count - 1)
    win = torch.as_tensor(win, dtype=dtype, device=device)
    batch = frames.shape[:-2]
    signal = torch.zeros((*batch, total), dtype=dtype, device=device).index_add(
        -1, index, (frames * win).reshape(*batch, -1))
    envelope = torch.zeros(total, dtype=dtype, device=device).index_add(
        0, index, (win * win).repeat(count))
    signal = signal / torch.where(envelope > 1e-10, envelope, 1.0) * scale
    start = fft_length // 2 if center else 0
    if length is not None:
        return signal[..., start:start + length]
    return signal[..., start:total - start]


def view_as_complex(x):
    x = convert_to_tensor(x)
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex expects `x` whose last axis holds (real, imag), of "
                         f"size 2; got shape {tuple(x.shape)}.")
    return torch.complex(x[..., 0].to(torch.float32), x[..., 1].to(torch.float32))


def view_as_real(x):
    x = convert_to_tensor(x)
    if x.dtype == torch.complex128:  # nhanh keeps 32-bit precision by default, as on JAX
        x = x.to(torch.complex64)
    if not x.is_complex():
        return torch.stack([x, torch.zeros_like(x)], dim=-1)
    return torch.stack([x.real, x.imag], dim=-1)


def polar(abs_, angle):
    abs_, angle = convert_to_tensor(abs_), convert_to_tensor(angle)
    if not abs_.is_floating_point():
        abs_ = abs_.to(angle.dtype if angle.is_floating_point() else torch.float32)
    angle = angle.to(abs_.dtype)
    return torch.complex(abs_ * torch.cos(angle), abs_ * torch.sin(angle))
