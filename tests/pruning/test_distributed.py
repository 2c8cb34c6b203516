"""Masks are identical on every rank of a 2-process CPU (gloo) DDP run."""

import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from tests.ports import free_port


SCRIPT = os.path.join(os.path.dirname(__file__), "scripts", "ddp_masks.py")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.distributed
def test_two_rank_masks_identical(tmp_path):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(free_port()),
        SCRIPT,
        str(tmp_path),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": REPO}
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr[-4000:]
    rank0, rank1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert rank0.keys() == rank1.keys()
    masks = [k for k in rank0 if k.startswith("cb")]
    assert len(masks) > 10
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    assert any(not bool(rank0[k].all()) for k in masks if k.startswith("cb1."))  # structured units were pruned
    assert any(not bool(rank0[k].all()) for k in masks if k.startswith("cb2."))  # and in the label-scored KD run
    pruned = [1 - rank0[k].float().mean().item() for k in masks if k.startswith("cb0.")]
    assert all(abs(p - 0.6) <= 0.01 for p in pruned)
    assert torch.equal(rank0["reduced"], torch.full((3,), 0.5))
    assert rank1["broadcast"].tolist() == [1, 0, 1]  # rank 0's mask everywhere
