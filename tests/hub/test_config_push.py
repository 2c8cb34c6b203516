"""Config classes push to the (loopback) Hub and load back from a repo id."""

import json
import subprocess

from tests.hub.conftest import FAKE_TOKEN, PYTHON, hub_env


SCRIPT = """
import sys
from hf_compress import CompressionConfig, DistillationConfig, PruningConfig, QuantizationConfig
config = CompressionConfig(distillation=DistillationConfig(alpha=0.9), pruning=[PruningConfig(structure="2:4")],
                           quantization=QuantizationConfig(bits=4, granularity="per_group", group_size=32))
config.push_to_hub("user/cfg", token=sys.argv[1])
loaded = CompressionConfig.from_pretrained("user/cfg")
print("equal" if loaded == config else "different")
"""


def test_compression_config_push_to_hub_and_from_pretrained_by_repo_id(hub, tmp_path):
    state, endpoint = hub
    result = subprocess.run(
        [PYTHON, "-c", SCRIPT, FAKE_TOKEN],
        env=hub_env(endpoint, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "equal"
    pushed = json.loads(state.repos["user/cfg"]["compression_config.json"])
    assert pushed["quantization"]["group_size"] == 32 and "hf_compress_version" in pushed
    assert FAKE_TOKEN not in result.stdout + result.stderr
