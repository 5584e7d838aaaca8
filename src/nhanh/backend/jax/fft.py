"""Fourier transforms on JAX (the backend contract's fft group)."""
