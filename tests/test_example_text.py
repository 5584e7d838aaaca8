"""examples/text_classifier.py, run as a user runs it, on each backend: a Sequential model
with TextVectorization inside, trained and queried on raw strings (Python's own docstrings,
four topics). Its held-out accuracy must be far above the majority class's."""

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "text_classifier.py"


def _number(text: str, label: str) -> float:
    found = re.findall(rf"^{re.escape(label)}: (\d+\.\d+)$", text, flags=re.MULTILINE)
    assert len(found) == 1, f"expected one line '{label}: <number>' in:\n{text}"
    return float(found[0])


def test_text_classifier_learns_topics_from_raw_strings(backend):
    env = {**os.environ, "NHANH_BACKEND": backend}
    env.setdefault("OMP_NUM_THREADS", "1")  # tiny model: one thread is fastest on a shared CPU
    out = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "on the host (before the compiled step)" in out.stdout  # the summary's boundary
    accuracy = _number(out.stdout, "test accuracy")
    chance = _number(out.stdout, "majority-class accuracy")
    assert chance < 0.4  # four topics, none dominant
    assert accuracy >= 0.75 and accuracy > chance + 0.35
