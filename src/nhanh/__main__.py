"""`python -m nhanh SCRIPT.py [ARGS...]`: run a Keras program on nhanh, files untouched.

Every `import keras` / `from keras... import ...` in the script (and in what it imports)
resolves to nhanh's module of the same name; see nhanh/keras_alias.py.
"""

from __future__ import annotations

import os
import runpy
import sys

USAGE = "usage: python -m nhanh SCRIPT.py [ARGS...]  (runs a Keras program on nhanh)"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 0 if argv else 2
    script = argv[0]
    if not os.path.isfile(script):
        print(f"nhanh: no such script: {script!r}\n{USAGE}", file=sys.stderr)
        return 2
    from nhanh.keras_alias import as_keras

    as_keras()
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))  # as `python SCRIPT.py` does
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
