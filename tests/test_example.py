"""The article's program, run unchanged as a user runs it, on each backend.

The program draws unseeded data; with 100 noisy samples even the exact least-squares fit lands
more than 0.15 from [2, 3], 4 in a few percent of draws, so the run here fixes NumPy's and
nhanh's seeds first (the program's text is not touched) and also compares with the
least-squares solution of the same data.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "linear_regression.py"
SEED = 0
RUN = ("import runpy, sys, numpy, nhanh; numpy.random.seed({seed}); "
       "nhanh.utils.set_random_seed({seed}); runpy.run_path(sys.argv[1], run_name='__main__')")


def _least_squares():
    np.random.seed(SEED)
    x = np.random.rand(100, 2)
    y = 2 * x[:, 0] + 3 * x[:, 1] + 4 + .2 * np.random.randn(100)
    coef, *_ = np.linalg.lstsq(np.c_[x, np.ones(100)], y, rcond=None)
    return coef


def test_article_program(backend):
    env = {**os.environ, "NHANH_BACKEND": backend}
    out = subprocess.run([sys.executable, "-c", RUN.format(seed=SEED), str(EXAMPLE)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    last = lines.index("Epoch 100/100")
    assert lines[0:last + 1:2] == [f"Epoch {e}/100" for e in range(1, 101)]
    bar = re.compile(r"^50/50 \[={30}\] - \d+s \d+(us|ms)/step - loss: \d+\.\d{4}$")
    assert all(bar.match(ln) for ln in lines[1:last + 2:2])
    weights_text = "\n".join(lines[last + 2:])
    assert weights_text.startswith("[array([[") and weights_text.count("dtype=float32") == 2
    numbers = np.array([float(v) for v in re.findall(r"-?\d+\.\d+", weights_text)])
    np.testing.assert_allclose(numbers, [2, 3, 4], atol=0.15)
    np.testing.assert_allclose(numbers, _least_squares(), atol=0.1)
