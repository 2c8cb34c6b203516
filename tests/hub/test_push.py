"""Push a compressed model to the loopback Hub server, reload it in a fresh process, and never leak the token."""

import json
import os
import subprocess

import torch
from huggingface_hub import ModelCard

from tests.hub.conftest import FAKE_TOKEN, INPUT_IDS, PUSH_TO_HUB_SCRIPT, PYTHON, RELOAD_SCRIPT, hub_env


def _run(args, env):
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def _assert_no_token(*texts):
    for text in texts:
        assert FAKE_TOKEN not in text


def test_cli_push_then_load_compressed_from_hub_gives_identical_logits(hub, compressed_dir, tmp_path):
    state, endpoint = hub
    directory, logits = compressed_dir
    env = hub_env(endpoint, tmp_path)
    push = _run([PYTHON, "-m", "hf_compress.cli", "push", directory, "user/tiny", "--token", FAKE_TOKEN], env)
    assert push.returncode == 0, push.stderr[-2000:]
    files = state.repos["user/tiny"]
    expected = {"config.json", "model.safetensors", "compression_config.json", "README.md"}
    assert expected <= set(files)
    for name in expected:
        with open(os.path.join(directory, name), "rb") as handle:
            assert files[name] == handle.read(), name
    assert any(h.get("authorization") == f"Bearer {FAKE_TOKEN}" or h.get("Authorization") == f"Bearer {FAKE_TOKEN}"
               for _, _, h in state.requests), "the token was not sent to the server"  # fmt: skip

    reload = _run([PYTHON, "-c", RELOAD_SCRIPT, "user/tiny", json.dumps(INPUT_IDS)], env)
    assert reload.returncode == 0, reload.stderr[-2000:]
    remote = torch.tensor(json.loads(reload.stdout.strip().splitlines()[-1]))
    assert torch.equal(remote, logits)
    assert any("/resolve/" in path for _, path, _ in state.requests)
    _assert_no_token(push.stdout, push.stderr, reload.stdout, reload.stderr)
    for data in files.values():
        assert FAKE_TOKEN.encode() not in data


def test_model_push_to_hub_uploads_the_same_files(hub, compressed_dir, tmp_path):
    state, endpoint = hub
    directory, _ = compressed_dir
    env = hub_env(endpoint, tmp_path)
    cli = _run([PYTHON, "-m", "hf_compress.cli", "push", directory, "user/a", "--token", FAKE_TOKEN], env)
    assert cli.returncode == 0, cli.stderr[-2000:]
    method = _run([PYTHON, "-c", PUSH_TO_HUB_SCRIPT, directory, "user/b", FAKE_TOKEN], env)
    assert method.returncode == 0, method.stderr[-2000:]
    a, b = state.repos["user/a"], state.repos["user/b"]
    assert set(a) == set(b)
    for name in ("README.md", "compression_config.json", "model.safetensors"):
        assert a[name] == b[name], name
    assert json.loads(a["config.json"])["quantization_config"] == json.loads(b["config.json"])["quantization_config"]
    _assert_no_token(cli.stdout, cli.stderr, method.stdout, method.stderr)


def test_push_errors_are_one_line_without_token(hub, tmp_path):
    _, endpoint = hub
    env = hub_env(endpoint, tmp_path)
    result = _run(
        [PYTHON, "-m", "hf_compress.cli", "push", str(tmp_path / "missing"), "user/x", "--token", FAKE_TOKEN], env
    )
    assert result.returncode == 2
    assert "is not a directory" in result.stderr and "Traceback" not in result.stderr
    _assert_no_token(result.stdout, result.stderr)


def test_model_card_metadata(compressed_dir):
    directory, _ = compressed_dir
    card = ModelCard.load(os.path.join(directory, "README.md"))
    data = card.data
    assert data.library_name == "transformers"
    assert data.base_model == "hf-internal/tiny-bert"
    assert data.base_model_relation == "quantized"
    assert "hf-compress" in data.tags and "pruned" in data.tags
    assert data.eval_results[0].metric_type == "accuracy" and data.eval_results[0].metric_value == 0.5
    assert "| FLOPs |" in card.text and '"structure": "heads"' in card.text
    assert FAKE_TOKEN not in str(card)
