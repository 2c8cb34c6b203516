#!/usr/bin/env bash
# On a lent GPU machine (device tool, carry [".gpu"]): which KD settings pay for the 2-epoch -80% recipe, ranked on
# the kd_sweep dev slice (validation recorded beside it, never used to rank). A smoke run first, then one process
# per (setting, seed), side by side, each training 16 x STEPS_BASE steps on the GPU.
# Usage: bash benchmarks/device/long_recipe_probe.sh [STEPS_BASE=262]   (16 x 262 = 4192 steps, ~2 epochs)
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/.gpu HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
teacher=$(cat .gpu/teacher_path)  # written by prepare_payload.sh
mkdir -p $teacher && cp .gpu/teacher16/*.json $teacher/ && python3 - $teacher <<'PY' || exit 1
import sys
from safetensors.torch import load_file, save_file
weights = load_file(".gpu/teacher16/model16.safetensors")
save_file({k: v.float() if v.is_floating_point() else v for k, v in weights.items()}, f"{sys.argv[1]}/model.safetensors",
          metadata={"format": "pt"})
PY
steps=${1:-262}
out=${OUT:-/tmp/probe_out}; mkdir -p "$out"
sweep() { python3 benchmarks/kd_sweep_sst2.py --variant paper80xlong_kd --data-dir .gpu/sst2 --device accelerator --validation "$@"; }
python3 -c "import torch, transformers; print(torch.__version__, transformers.__version__, torch.cuda.get_device_name())"
OMP_NUM_THREADS=4 sweep --steps 1 --seeds 0 --settings kd_long --tag smoke > "$out/smoke.log" 2>&1 || { tail -40 "$out/smoke.log"; exit 1; }
i=0
for job in "labels 0" "kd_long 0" "kd_hidden30 0" "kd_hidden30_lr3e-4 0" "labels_lr3e-4 0" "labels 1" "kd_long 1" "kd_hidden30_lr3e-4 1"; do
  set -- $job; i=$((i+1))
  OMP_NUM_THREADS=2 timeout "${PROBE_LIMIT:-430}" python3 benchmarks/kd_sweep_sst2.py --variant paper80xlong_kd \
    --data-dir .gpu/sst2 --device accelerator --validation --steps "$steps" --seeds "$2" --settings "$1" \
    --tag "gpu_$1_s$2" > "$out/run$i.log" 2>&1 &
done
wait
cat "$out"/run*.log | grep '"setting"' | tee "$out/results.jsonl"
for f in "$out"/run*.log; do echo "== $f"; grep -v '"setting"' "$f" | tail -3; done > "$out/tails.txt"
rm -f "$out"/run*.log
