"""The real-data examples, run as a user runs them, on each backend: the ConvNet on
scikit-learn's digits, the two-input, two-output functional model on the breast-cancer data,
and the Embedding + LSTM sequence classifier.
Each program seeds nhanh itself and prints its held-out scores, which are checked here."""

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(name: str, backend: str) -> str:
    env = {**os.environ, "NHANH_BACKEND": backend}
    # Tiny models train faster on one CPU thread than with PyTorch's intra-op thread pool,
    # which on a shared machine can be several times slower; results are the same.
    env.setdefault("OMP_NUM_THREADS", "1")
    out = subprocess.run([sys.executable, str(EXAMPLES / name)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _number(text: str, label: str) -> float:
    found = re.findall(rf"^{re.escape(label)}: (\d+\.\d+)$", text, flags=re.MULTILINE)
    assert len(found) == 1, f"expected one line '{label}: <number>' in:\n{text}"
    return float(found[0])


def test_digits_cnn(backend):
    out = _run("digits_cnn.py", backend)
    assert out.splitlines()[-1].startswith("test accuracy: ")
    assert _number(out, "test accuracy") >= 0.97


def test_functional_two_inputs(backend):
    out = _run("functional_two_inputs.py", backend)
    accuracy = _number(out, "test diagnosis accuracy")
    mse = _number(out, "test area mse")
    baseline = _number(out, "baseline area mse (predict the mean)")
    assert accuracy >= 0.9
    assert baseline > 0.3  # standardised target: predicting the mean is far off
    assert mse < 0.5 * baseline


def test_text_lstm(backend):
    out = _run("text_lstm.py", backend)
    assert _number(out, "validation accuracy") >= 0.95
