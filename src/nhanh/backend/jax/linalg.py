"""Linear algebra on JAX (the backend contract's linalg group)."""
