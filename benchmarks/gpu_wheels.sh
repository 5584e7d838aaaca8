#!/usr/bin/env bash
# Wheels for an offline GPU machine (Python 3.12, manylinux), saved in .whl/ (git ignores it
# once listed in .git/info/exclude): the packages benchmarks/gpu.sh needs beyond that machine's
# own image (Keras 3 for the comparison rows; nhanh itself runs from src/).
set -euo pipefail
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl keras==3.15.1 namex optree
ls -la .whl
