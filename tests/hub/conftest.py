"""Fixtures for the Hub tests: the loopback Hub server and a small compressed model directory."""

import os
import sys

import pytest
import torch

from tests.hub.hub_server import start_server


FAKE_TOKEN = "hf_FAKEtokenNEVERtoBEprinted0123456789"


@pytest.fixture
def hub():
    server, state, endpoint = start_server()
    yield state, endpoint
    server.shutdown()


def hub_env(endpoint: str, tmp_path) -> dict[str, str]:
    """Environment of a subprocess talking to the loopback server (online mode only for that subprocess)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_TOKEN", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HUB_DISABLE_XET="1", HF_HOME=str(tmp_path / "hf_home"),
               HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=os.getcwd() + os.pathsep + env.get("PYTHONPATH", ""))  # fmt: skip
    return env


INPUT_IDS = [[2, 5, 7, 9, 11, 13, 3, 4], [6, 8, 10, 12, 14, 16, 18, 1]]


@pytest.fixture
def compressed_dir(tmp_path):
    """A tiny BERT, heads pruned + shrunk, int8 PTQ, saved with a card and compression_config.json."""
    from transformers import BertConfig, BertForSequenceClassification

    from hf_compress import CompressionConfig, PruningConfig, QuantizationConfig
    from hf_compress.pruning.callback import PruningCallback
    from hf_compress.quantization import quantize_
    from hf_compress.reporting import build_report
    from hf_compress.serialization import save_compressed
    from hf_compress.serialization.model_card import build_model_card

    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, num_labels=3)  # fmt: skip
    model = BertForSequenceClassification(config).eval()
    teacher = BertForSequenceClassification(config).eval()
    teacher.load_state_dict(model.state_dict())
    pruning = PruningConfig(structure="heads", target_sparsity=0.5, schedule="oneshot")
    callback = PruningCallback(pruning)
    callback.setup(model, 1)
    callback.prune(0.5)
    callback.shrink(model)
    quantization = QuantizationConfig(bits=8, mode="ptq")
    quantize_(model, quantization)
    compression = CompressionConfig(pruning=[pruning], quantization=quantization)
    directory = save_compressed(model, tmp_path / "tiny-compressed", compression_config=compression)
    report = build_report(
        model, teacher, {"accuracy": 0.5}, {"accuracy": 0.6}, {"latency": False, "sequence_length": 8}
    )
    card = build_model_card(compression.to_dict(), report, "tiny-compressed", base_model="hf-internal/tiny-bert",
                            task="sequence-classification", dataset={"name": "toy", "type": "toy", "split": "test"})  # fmt: skip
    card.save(os.path.join(directory, "README.md"))
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(INPUT_IDS)).logits
    return directory, logits


RELOAD_SCRIPT = """
import json, sys, torch
import hf_compress
model = hf_compress.load_compressed(sys.argv[1])
with torch.no_grad():
    logits = model(input_ids=torch.tensor(json.loads(sys.argv[2]))).logits
print(json.dumps(logits.tolist()))
"""

PUSH_TO_HUB_SCRIPT = """
import sys
import hf_compress
from hf_compress.hub import attach_compressed_artifacts
model = hf_compress.load_compressed(sys.argv[1])
attach_compressed_artifacts(model, sys.argv[1])
model.push_to_hub(sys.argv[2], token=sys.argv[3])
print("pushed")
"""

PYTHON = sys.executable
