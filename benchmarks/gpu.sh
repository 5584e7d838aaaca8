#!/usr/bin/env bash
# Everything issue 13 and 12 ask of a GPU machine, in one command from the repository root:
#
#     bash benchmarks/gpu.sh [tests|mlp|arch|dist|all] [OUT_DIR]      (default: all, gpu-results)
#
#   tests  the CUDA tests (tests/test_gpu.py) on both engines            about 1 min
#   mlp    bench.py's MLP at batch 128 (issue 13's GPU targets)          about 3 min
#   arch   transformer, LSTM, ResNet-20 at GPU sizes                     about 5 min
#   dist   one GPU under the distribution API against plain training     about 2 min
#
# Each section writes its log and Markdown table under OUT_DIR. nhanh runs from src/ (no
# install needed). A machine without network gets the packages it lacks as wheels in .whl/
# (fetch them here first with `bash benchmarks/gpu_wheels.sh`); they are installed to
# /tmp/site. Without keras, Keras 3's rows say so and the others run.
set -uo pipefail
SECTION=${1:-all}
OUT=${2:-${OUT:-gpu-results}}  # (the device runner sets $OUT)
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, jax; print('torch', torch.__version__, torch.cuda.is_available(),
      '| jax', jax.__version__, jax.devices())" | tee -a "$OUT/gpu.txt"

run() {  # run NAME COMMAND...: the command's output to OUT/NAME.log, and to the screen
    local name=$1; shift
    echo "== $name: $*"
    "$@" 2>&1 | tee "$OUT/$name.log"
}

if [[ $SECTION == tests || $SECTION == all ]]; then
    run tests python3 -m pytest tests/test_gpu.py -q -p no:cacheprovider -o addopts= -rs
fi
if [[ $SECTION == mlp || $SECTION == all ]]; then
    # Targets: nhanh-jax at least 2x jax-jit's samples/s and 5x keras-jax's.
    run bench_mlp python3 benchmarks/bench.py --workloads mlp --runs 1 --no-imports \
        --contenders nhanh-jax,jax-jit,jax-scan,keras-jax,nhanh-torch,torch,keras-torch \
        --json "$OUT/bench_mlp.json"
fi
if [[ $SECTION == arch || $SECTION == all ]]; then
    # Target: the transformer at least 0.95x the hand-written loop's speed.
    run bench_arch python3 benchmarks/bench.py --workloads transformer,lstm,resnet --runs 1 \
        --no-imports --samples 16384 --batch-size 256 \
        --contenders nhanh-jax,jax-jit,keras-jax,nhanh-torch,torch,keras-torch \
        --json "$OUT/bench_arch.json"
fi
if [[ $SECTION == dist || $SECTION == all ]]; then
    # Target (issue 12): one GPU under DataParallel within 3% of plain training.
    run bench_dist python3 benchmarks/bench_distribution.py --runs 1 --devices 1 \
        --processes 1 --contenders nhanh-jax-1,nhanh-jax-dp,nhanh-torch-1,nhanh-torch-dp
fi
