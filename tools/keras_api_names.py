"""Regenerate src/nhanh/keras_api_names.json: Keras 3's public names, per module, with their kind.

    python tools/keras_api_names.py            # from the installed keras package

Keras 3 publishes its API as generated `__init__.py` files that only re-export names (at the
package's top level in installed wheels, under `keras/api/` in its source tree). This script
reads which names each of those files exports (by parsing it, so only the public spelling
counts), imports keras once to tell classes from functions, modules and constants, and writes
`{"keras_version": ..., "modules": {"keras.layers": {"Dense": "class", ...}, ...}}`.
nhanh uses the file to say "part of Keras 3's API but not of nhanh yet" for a missing name,
and tools/keras_coverage.py to measure how much of Keras nhanh covers. Only names are kept:
nothing of Keras's code or text.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import sys
from pathlib import Path

from nhanh.keras_names import kind_of  # the same kinds the coverage check compares

OUT = Path(__file__).resolve().parents[1] / "src" / "nhanh" / "keras_api_names.json"


def api_root(keras_dir: Path) -> Path:
    """Where the generated API files live: keras/api/ in a source tree, keras/ in a wheel."""
    return keras_dir / "api" if (keras_dir / "api" / "__init__.py").exists() else keras_dir


def exported_names(init_file: Path) -> list[str]:
    """The public names an API `__init__.py` re-exports (`from x import y as name`)."""
    names = []
    for node in ast.parse(init_file.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            names += [a.asname or a.name for a in node.names]
    return sorted({n for n in names if not n.startswith("_")})


def collect() -> dict:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    root = api_root(Path(keras.__file__).parent)
    modules = {}
    for init_file in sorted(root.rglob("__init__.py")):
        parts = init_file.parent.relative_to(root).parts
        if any(p.startswith("_") for p in parts) or (parts and parts[0] == "src"):
            continue
        module_name = ".".join(("keras",) + parts)
        module = importlib.import_module(module_name)
        modules[module_name] = {n: kind_of(getattr(module, n)) for n in exported_names(init_file)}
    return {"keras_version": keras.__version__, "modules": modules}


def main() -> None:
    data = collect()
    OUT.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(data['modules'])} modules of keras {data['keras_version']})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
