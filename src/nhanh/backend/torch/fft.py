"""Fourier transforms on PyTorch (the backend contract's fft group)."""
