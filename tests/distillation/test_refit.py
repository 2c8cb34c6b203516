"""`refit_to_teacher_`: the least-squares repair of structurally pruned layers against the unpruned teacher."""

import copy

import pytest
import torch

from hf_compress import prune_, refit_to_teacher_
from hf_compress.distillation.refit import shrunk_linear_pairs
from tests.pruning.tiny_models import tiny_bert


HEADS_AND_NEURONS = {"structure": "heads+neurons", "target_flops_reduction": 0.5, "sequence_length": 8}


def calibration_batches(count: int = 4, rows: int = 8, length: int = 12, pad_extra: int = 0, seed: int = 0):
    """Batches whose rows have random lengths (padded with id 0, attention_mask 0), plus `pad_extra` pad columns."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        ids = torch.randint(1, 100, (rows, length), generator=generator)
        lengths = torch.randint(4, length + 1, (rows,), generator=generator)
        mask = (torch.arange(length)[None] < lengths[:, None]).long()
        ids = ids * mask
        if pad_extra:
            ids = torch.cat([ids, torch.zeros(rows, pad_extra, dtype=ids.dtype)], dim=1)
            mask = torch.cat([mask, torch.zeros(rows, pad_extra, dtype=mask.dtype)], dim=1)
        batches.append({"input_ids": ids, "attention_mask": mask, "labels": torch.zeros(rows, dtype=torch.long)})
    return batches


def pruned_pair(config: dict = HEADS_AND_NEURONS):
    teacher = tiny_bert(seed=0)
    student = copy.deepcopy(teacher)
    prune_(student, config)
    return teacher.eval(), student.eval()


def last_hidden_error(student, teacher, batches) -> float:
    error = 0.0
    with torch.no_grad():
        for batch in batches:
            inputs = {k: v for k, v in batch.items() if k != "labels"}
            s = student(**inputs, output_hidden_states=True).hidden_states[-1]
            t = teacher(**inputs, output_hidden_states=True).hidden_states[-1]
            keep = batch["attention_mask"].bool()
            error += (s[keep] - t[keep]).pow(2).sum().item()
    return error


def test_refit_solves_the_layers_that_lost_inputs_and_brings_the_student_closer_to_the_teacher():
    teacher, student = pruned_pair()
    before = last_hidden_error(student, teacher, calibration_batches(seed=1))  # rows the refit does not see
    names = refit_to_teacher_(student, teacher, calibration_batches())
    assert names == [
        f"bert.encoder.layer.{i}.{part}" for i in range(2) for part in ("attention.output.dense", "output.dense")
    ]
    after = last_hidden_error(student, teacher, calibration_batches(seed=1))
    assert after < 0.5 * before, (before, after)


def test_the_first_layer_is_the_exact_least_squares_fit_to_the_teacher_without_damping():
    teacher, student = pruned_pair()
    batches = calibration_batches(count=8)
    name, student_linear, teacher_linear = shrunk_linear_pairs(student, teacher)[0]
    inputs, targets = [], []
    hooks = [
        student_linear.register_forward_hook(lambda m, i, o: inputs.append(i[0].detach())),
        teacher_linear.register_forward_hook(lambda m, i, o: targets.append(o.detach())),
    ]
    with torch.no_grad():
        for batch in batches:
            student(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            teacher(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    for hook in hooks:
        hook.remove()
    masks = [b["attention_mask"].bool() for b in batches]
    x = torch.cat([i[m] for i, m in zip(inputs, masks)]).double()
    y = torch.cat([t[m] for t, m in zip(targets, masks)]).double()
    design = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
    expected = torch.linalg.lstsq(design, y).solution

    refit_to_teacher_(student, teacher, batches, damping=0.0)
    assert torch.allclose(student_linear.weight.double(), expected[:-1].T, atol=1e-4)
    assert torch.allclose(student_linear.bias.double(), expected[-1], atol=1e-4)


def test_padding_tokens_do_not_change_the_solution():
    teacher, student = pruned_pair()
    padded = copy.deepcopy(student)
    refit_to_teacher_(student, teacher, calibration_batches())
    refit_to_teacher_(padded, teacher, calibration_batches(pad_extra=5))
    for a, b in zip(student.state_dict().values(), padded.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-4)


def test_strong_damping_keeps_the_pruned_weights():
    teacher, student = pruned_pair()
    pruned = copy.deepcopy(student.state_dict())
    refit_to_teacher_(student, teacher, calibration_batches(), damping=1e9)
    for key, value in student.state_dict().items():
        assert torch.allclose(value, pruned[key], atol=1e-5), key


def test_an_unpruned_or_unstructured_student_is_left_alone():
    teacher = tiny_bert(seed=0).eval()
    student = copy.deepcopy(teacher)
    prune_(student, {"structure": "unstructured", "target_sparsity": 0.5})  # same shapes: nothing lost its inputs
    state = copy.deepcopy(student.state_dict())
    assert refit_to_teacher_(student, teacher, calibration_batches()) == []
    assert all(torch.equal(value, state[key]) for key, value in student.state_dict().items())


def test_a_depth_pruned_student_is_matched_with_the_teacher_blocks_it_was_copied_from():
    teacher = tiny_bert(seed=0, num_hidden_layers=3).eval()
    student = copy.deepcopy(teacher)
    blocks = student.bert.encoder.layer
    student.bert.encoder.layer = torch.nn.ModuleList([blocks[0], blocks[2]])  # what drop_layers_ leaves
    student.config.num_hidden_layers = 2
    student.config.hf_compress_kept_layers = [0, 2]
    prune_(student, HEADS_AND_NEURONS)
    origins = [origin for _, _, origin in shrunk_linear_pairs(student, teacher)]
    teacher_blocks = teacher.bert.encoder.layer
    assert origins == [
        teacher_blocks[0].attention.output.dense,
        teacher_blocks[0].output.dense,
        teacher_blocks[2].attention.output.dense,
        teacher_blocks[2].output.dense,
    ]
    refit_to_teacher_(student, teacher, calibration_batches())  # shapes line up with the blocks of origin


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"damping": -1.0}, "damping must be a number >= 0"),
        ({"damping": "high"}, "damping must be a number >= 0"),
        ({"calibration_data": iter(calibration_batches())}, "must be re-iterable"),
        ({"calibration_data": []}, "yielded no batches"),
    ],
)
def test_bad_arguments_are_refused_before_any_weight_changes(kwargs, message):
    teacher, student = pruned_pair()
    state = copy.deepcopy(student.state_dict())
    arguments = {"calibration_data": calibration_batches(), **kwargs}
    with pytest.raises(ValueError, match=message):
        refit_to_teacher_(student, teacher, **arguments)
    assert all(torch.equal(value, state[key]) for key, value in student.state_dict().items())


def test_the_prune_without_training_example_saves_a_smaller_int8_model_that_reloads(tmp_path, monkeypatch):
    import importlib
    import os

    from transformers import ViTConfig, ViTForImageClassification

    from hf_compress import compression_report, load_compressed

    examples = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
    monkeypatch.syspath_prepend(examples)
    example = importlib.import_module("prune_without_training")
    torch.manual_seed(0)
    config = ViTConfig(image_size=8, patch_size=2, num_channels=1, hidden_size=32, num_hidden_layers=2,
                       num_attention_heads=4, intermediate_size=64, num_labels=10)  # fmt: skip
    ViTForImageClassification(config).save_pretrained(tmp_path / "teacher")
    scores = example.main(["--model", str(tmp_path / "teacher"), "--output-dir", str(tmp_path / "out"),
                           "--calibration-rows", "128"])  # fmt: skip
    assert set(scores) == {"teacher", "pruned", "refit", "refit_int8"}
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    saved = load_compressed(str(tmp_path / "out"))
    teacher = ViTForImageClassification.from_pretrained(tmp_path / "teacher")
    assert (
        compression_report(saved, measure_bytes=False).params < compression_report(teacher, measure_bytes=False).params
    )
    int8 = [m for m in saved.modules() if hasattr(m, "dequantized_weight")]
    assert int8 and all(m.spec.bits == 8 for m in int8)


def test_a_pruned_llama_is_refit_on_its_output_and_down_projections():
    from tests.pruning.tiny_models import tiny_llama

    teacher = tiny_llama(seed=0).eval()
    student = copy.deepcopy(teacher)
    prune_(student, {"structure": "heads+neurons", "target_flops_reduction": 0.5, "sequence_length": 8})
    batches = [{k: v for k, v in b.items() if k != "labels"} for b in calibration_batches()]

    def logits_error(model, rows):
        with torch.no_grad():
            return sum(
                (model(**b).logits - teacher(**b).logits)[b["attention_mask"].bool()].pow(2).sum().item() for b in rows
            )

    held_out = [{k: v for k, v in b.items() if k != "labels"} for b in calibration_batches(seed=1)]
    before = logits_error(student, held_out)
    names = refit_to_teacher_(student, teacher, batches)
    assert names and all(name.endswith(("self_attn.o_proj", "mlp.down_proj")) for name in names)
    assert logits_error(student, held_out) < before
