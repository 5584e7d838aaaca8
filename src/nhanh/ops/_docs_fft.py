"""Documentation stubs of the fft ops (see _docs.py: never called)."""
