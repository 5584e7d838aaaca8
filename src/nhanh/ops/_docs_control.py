"""Documentation stubs of the control ops (see _docs.py: never called)."""
