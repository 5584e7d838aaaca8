"""Linear algebra on PyTorch (the backend contract's linalg group)."""
