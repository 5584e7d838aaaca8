"""Control flow, segment and scatter ops on JAX (the backend contract's control group)."""
