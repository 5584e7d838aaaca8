"""`python -m nhanh SCRIPT.py` runs a Keras program with its imports untouched; the article's
program, written with `keras` imports, prints what it prints on nhanh."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ARTICLE = Path(__file__).resolve().parent.parent / "examples" / "linear_regression.py"


def _run(args, cwd, backend, **env):
    env = {**os.environ, "KERAS_BACKEND": backend, **env}
    env.pop("NHANH_BACKEND", None)  # the Keras user's variable picks the engine
    return subprocess.run([sys.executable, "-m", "nhanh", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_articles_keras_program_runs_unchanged(tmp_path, backend):
    source = ARTICLE.read_text()
    keras_source = re.sub(r"\bnhanh\b", "keras", source)
    assert "import keras" in keras_source or "from keras" in keras_source
    script = tmp_path / "article.py"
    script.write_text(keras_source + "\nimport keras\nprint('engine', keras.config.backend())\n")
    out = _run([str(script)], tmp_path, backend)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Epoch 1/100" and f"engine {backend}" in lines
    assert re.match(r"^50/50 \[={30}\] - \d+s \d+(us|ms)/step - loss: \d+\.\d{4}$", lines[1])


@pytest.mark.engine_independent
def test_arguments_missing_modules_and_private_paths(tmp_path):
    (tmp_path / "args.py").write_text("import sys, keras.layers\nprint(sys.argv[1:], "
                                      "keras.layers.Dense.__module__)\n")
    out = _run(["args.py", "--epochs", "3"], tmp_path, "jax")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['--epochs', '3'] nhanh.layers.dense"
    (tmp_path / "missing.py").write_text("import keras.quantizers\n")
    out = _run(["missing.py"], tmp_path, "jax")
    assert "`quantizers` is part of Keras 3's API (keras.quantizers) but not of nhanh yet" in \
        out.stderr
    (tmp_path / "private.py").write_text("import keras.src.layers\n")
    assert "Keras's private code" in _run(["private.py"], tmp_path, "jax").stderr
    out = _run([], tmp_path, "jax")
    assert out.returncode == 2 and "usage: python -m nhanh SCRIPT.py" in out.stderr


@pytest.mark.engine_independent
def test_as_keras_refuses_a_process_that_already_holds_real_keras(tmp_path):
    code = ("import os; os.environ['KERAS_BACKEND'] = 'jax'\n"
            "import keras, nhanh\n"
            "try:\n    nhanh.as_keras()\nexcept RuntimeError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert "already imported" in out.stdout, out.stderr
    code = "import nhanh; nhanh.as_keras(); nhanh.as_keras(); import keras; print(keras is nhanh)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.stdout.strip() == "True", out.stderr
