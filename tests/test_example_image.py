"""examples/image_classifier.py (a ConvNet with augmentation layers inside the model, on
scikit-learn's digits) runs on each engine and classifies the held-out digits far above
chance (0.1); the augmentation acts only in training, so evaluation sees the plain images."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "image_classifier.py"


def test_image_classifier_example(backend):
    pytest.importorskip("sklearn")
    env = {**os.environ, "NHANH_BACKEND": backend}
    env.setdefault("OMP_NUM_THREADS", "1")  # tiny models: one thread is fastest, and fair
    out = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True,
                         text=True, timeout=400)
    assert out.returncode == 0, out.stderr
    found = re.findall(r"^test accuracy: (\d+\.\d+)$", out.stdout, flags=re.MULTILINE)
    assert len(found) == 1, out.stdout
    assert float(found[0]) >= 0.9
