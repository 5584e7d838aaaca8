"""Documentation stubs of the linalg ops (see _docs.py: never called)."""
