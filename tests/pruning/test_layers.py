"""Depth pruning (`structure="layers"`): which blocks go, how many, and that the result is a model that reloads."""

import copy
import os

import pytest
import torch

from hf_compress import compression_report, prune_
from hf_compress.distillation.config import DistillationConfig
from hf_compress.distillation.intermediate import resolve_layer_map
from hf_compress.pruning.callback import PruningCallback
from hf_compress.pruning.config import PruningConfig
from hf_compress.pruning.layers import LayerDropResult
from hf_compress.serialization import save_compressed
from tests.pruning.tiny_models import batch_for, labelled_batches, text_batch, tiny_bert, tiny_llama, tiny_resnet
from tests.serialization.test_reload import run_reload, write_case


def layer_norm_of(block):
    return block.output.LayerNorm.weight.detach().clone()


def test_without_data_the_top_blocks_go_and_the_rest_are_renumbered():
    model = tiny_bert(num_hidden_layers=4)
    originals = [layer_norm_of(block) for block in model.bert.encoder.layer]
    result = prune_(model, {"structure": "layers", "target_sparsity": 0.5})
    assert isinstance(result, LayerDropResult)
    assert result.stack == "bert.encoder.layer"
    assert result.kept == [0, 1] and sorted(result.dropped) == [2, 3]
    assert model.config.num_hidden_layers == 2 and len(model.bert.encoder.layer) == 2
    for new_index, block in enumerate(model.bert.encoder.layer):
        assert torch.equal(layer_norm_of(block), originals[new_index])
        assert block.attention.self.layer_idx == new_index
    assert model.config.hf_compress_kept_layers == [0, 1]
    with torch.no_grad():
        assert torch.isfinite(model(**text_batch()).logits).all()


def loss_without(model, index, batches):
    trial = copy.deepcopy(model).eval()
    del trial.bert.encoder.layer[index]
    trial.config.num_hidden_layers -= 1
    with torch.no_grad():
        return sum(float(trial(**batch).loss) for batch in batches) / len(batches)


def test_with_calibration_data_the_block_that_matters_least_goes_first():
    model = tiny_bert(num_hidden_layers=4).eval()
    batches = labelled_batches()
    by_hand = {index: loss_without(model, index, batches) for index in range(4)}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = prune_(model, {"structure": "layers", "method": "taylor", "target_sparsity": 0.25}, batches)
    assert result.dropped == [min(by_hand, key=by_hand.get)]
    assert result.losses[0] == pytest.approx(by_hand[result.dropped[0]], rel=1e-5)
    kept_state = model.state_dict()
    for new_index, old_index in enumerate(result.kept):  # kept blocks are untouched, only renumbered
        prefix_new, prefix_old = f"bert.encoder.layer.{new_index}.", f"bert.encoder.layer.{old_index}."
        for key, value in kept_state.items():
            if key.startswith(prefix_new):
                assert torch.equal(value, before[prefix_old + key[len(prefix_new) :]])


def test_flops_budget_drops_the_fewest_blocks_that_reach_it():
    teacher, model = tiny_bert(num_hidden_layers=4), tiny_bert(num_hidden_layers=4)
    prune_(model, {"structure": "layers", "target_flops_reduction": 0.3, "sequence_length": 16})
    removed = 1 - compression_report(model, teacher=teacher, sequence_length=16).ratios()["flops"]
    assert model.config.num_hidden_layers == 2  # one block (< 25% of the FLOPs) is not enough, two are
    assert 0.3 <= removed < 0.6, removed


def test_targets_and_exclude_choose_the_candidate_blocks():
    model = tiny_bert(num_hidden_layers=4)
    result = prune_(model, {"structure": "layers", "target_sparsity": 0.5, "exclude": [r"layer\.3$"]})
    assert sorted(result.dropped) == [1, 2]
    with pytest.raises(ValueError, match="regex 'nothing' matches no layer"):
        prune_(tiny_bert(), {"structure": "layers", "targets": ["nothing"]})


def test_clear_errors_before_anything_changes():
    with pytest.raises(ValueError, match="structure='layers' with method='taylor' .* pass calibration_data"):
        prune_(tiny_bert(), {"structure": "layers", "method": "taylor"})
    with pytest.raises(ValueError, match="structure='layers' is not supported by ResNetForImageClassification"):
        prune_(tiny_resnet(), {"structure": "layers"})
    with pytest.raises(ValueError, match="structure='layers' removes whole blocks at once"):
        PruningCallback(PruningConfig(structure="layers")).setup(tiny_bert(), max_steps=10)
    with pytest.raises(ValueError, match="structure='layers' is not supported; allowed values"):
        PruningConfig(structure="layers+heads")


def test_distillation_matches_each_kept_block_with_its_origin():
    teacher, student = tiny_bert(num_hidden_layers=4), tiny_bert(num_hidden_layers=4)
    prune_(student, {"structure": "layers", "target_sparsity": 0.5, "exclude": [r"layer\.3$"]})
    assert resolve_layer_map(DistillationConfig(hidden_loss_weight=1.0), student, teacher) == [0, 3]
    explicit = DistillationConfig(hidden_loss_weight=1.0, layer_map=[1, 2])
    assert resolve_layer_map(explicit, student, teacher) == [1, 2]


def test_llama_keeps_generating_with_a_kv_cache_after_dropping_blocks():
    model = tiny_llama().eval()
    result = prune_(model, {"structure": "layers", "target_sparsity": 0.5, "exclude": [r"layers\.1$"]})
    assert result.kept == [1]  # the kept block was block 1: its attention must now use cache slot 0
    assert [block.self_attn.layer_idx for block in model.model.layers] == [0]
    inputs = batch_for("llama")
    with torch.no_grad():
        full = model(**inputs).logits
        cached = model(input_ids=inputs["input_ids"][:, :-1], use_cache=True)
        step = model(input_ids=inputs["input_ids"][:, -1:], cache=cached.past_key_values).logits
    torch.testing.assert_close(step[:, -1], full[:, -1], atol=1e-5, rtol=1e-4)


def test_dropped_and_shrunk_models_reload_in_a_fresh_process(tmp_path):
    bert = tiny_bert(num_hidden_layers=4)
    prune_(bert, {"structure": "layers", "target_sparsity": 0.5})
    prune_(bert, {"structure": "heads+neurons", "target_sparsity": 0.5, "scope": "global"})
    llama = tiny_llama()
    prune_(llama, {"structure": "layers", "target_sparsity": 0.5})
    cases = {"bert": (bert, "AutoModelForSequenceClassification"), "llama": (llama, "AutoModelForCausalLM")}
    for kind, (model, auto_class) in cases.items():
        save_compressed(model, os.path.join(tmp_path, kind, "model"), format="hf_compress")
        write_case(str(tmp_path / kind), model, auto_class, batch_for(kind))
    results = run_reload([str(tmp_path / kind) for kind in cases])
    for kind, result in results.items():
        assert "error" not in result, result
        assert result["auto_shapes_equal"] and result["load_compressed_shapes_equal"], kind
        assert result["auto_max_diff"] < 1e-5 and result["load_compressed_max_diff"] < 1e-5, result
    # layer dropping alone gives a standard config: plain transformers, without hf_compress, rebuilds it exactly
    llama_plain = tmp_path / "llama_plain"
    llama.save_pretrained(str(llama_plain / "model"))
    write_case(str(llama_plain), llama, "AutoModelForCausalLM", batch_for("llama"))
    plain = run_reload([str(llama_plain)], plain=True)["llama_plain"]
    assert "error" not in plain and plain["auto_shapes_equal"] and plain["auto_max_diff"] < 1e-5, plain
