import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import BertForSequenceClassification

from hf_compress.quantization import QuantizedEmbedding
from tests.ports import free_port


REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "examples"))
from distributed_distillation import state_digest  # noqa: E402


@pytest.mark.distributed
@pytest.mark.parametrize("int8", [False, True])
def test_two_cpu_ranks_finish_with_the_same_student_and_save_it(tmp_path, int8):
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--main_process_port",
        str(free_port()),
        str(REPO / "examples" / "distributed_distillation.py"),
        "--output_dir",
        str(tmp_path),
        "--max_steps",
        "4",
        "--per_device_train_batch_size",
        "8",
        "--report_to",
        "none",
        "--save_strategy",
        "no",
        "--disable_tqdm",
        "true",
        "--int8",
        str(int8).lower(),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads((tmp_path / f"rank{rank}_state.json").read_text()) for rank in (0, 1)]
    assert [r["world_size"] for r in records] == [2, 2]
    assert records[0]["digest"] == records[1]["digest"]
    saved = BertForSequenceClassification.from_pretrained(tmp_path)
    assert state_digest(saved) == records[0]["digest"]
    quantized = [name for name, module in saved.named_modules() if isinstance(module, QuantizedEmbedding)]
    assert len(quantized) == (3 if int8 else 0)
