#!/usr/bin/env bash
# The GPU check, ready to run the moment a CUDA machine is at hand (under 5 minutes):
#   benchmarks/gpu_check.sh                 # CUDA vs CPU, report in runs/gpu_check.json
#   benchmarks/gpu_check.sh --device cpu    # the same checks CI-sized, CPU vs CPU
# Installs nothing beyond the project: if bsx does not import, it installs this checkout
# (pip install -e ., the project's own dependencies); the source tree is used first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
if ! python -c "import bsx, torch" 2>/dev/null; then
  python -m pip install -q -e .
fi
args=("$@")
if [[ " $* " == *" --device cpu "* ]]; then
  # CI-sized: an untrained tiny model, few clips, the cheap methods, one cheap metric
  args=(--tiny --clips 2 --seconds 1.5 --methods gradcam,random,saliency
        --batch-methods gradcam --eval-clips 4 --metrics sparseness "$@")
fi
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
out="${GPU_CHECK_JSON:-runs/gpu_check.json}"
mkdir -p "$(dirname "$out")"
exec timeout 300 python benchmarks/gpu_check.py --json "$out" "${args[@]}"
