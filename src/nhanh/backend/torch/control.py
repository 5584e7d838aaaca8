"""Control flow, segment and scatter ops on PyTorch (the backend contract's control group)."""
