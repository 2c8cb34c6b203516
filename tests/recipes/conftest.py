"""A small valid recipe (tiny ViT on the built-in digits) that the schema tests break one key at a time."""

import copy

import pytest


BASE = {
    "name": "tiny",
    "seed": 0,
    "num_threads": 1,
    "task": "image-classification",
    "model": {"config": {"model_type": "vit", "image_size": 8, "patch_size": 4, "num_channels": 1, "hidden_size": 16,
                         "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}},
    "dataset": {"name": "sklearn_digits", "test_size": 0.2, "max_train_samples": 128, "max_eval_samples": 64},
    "teacher": {"source": "finetune", "training": {"max_steps": 4}},
    "training": {"per_device_train_batch_size": 32, "use_cpu": True, "disable_tqdm": True},
    "stages": [
        {"name": "prune", "pruning": {"structure": "neurons", "target_sparsity": 0.5, "schedule": "oneshot",
                                      "image_size": 8},
         "distillation": {"temperature": 2.0, "alpha": 0.5}, "training": {"max_steps": 3}},
        {"name": "qat", "quantization": {"bits": 8}, "training": {"max_steps": 2}},
    ],
    "evaluation": {"latency": False, "image_size": 8},
}  # fmt: skip


@pytest.fixture
def base_recipe(tmp_path):
    data = copy.deepcopy(BASE)
    data["output_dir"] = str(tmp_path / "out")
    return data
