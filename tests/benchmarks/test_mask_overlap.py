import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from benchmarks.mask_overlap import kept_units, overlap


def test_kept_units_reads_zeroed_heads_and_neurons_of_a_saved_student(tmp_path):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=8, max_position_embeddings=16)  # fmt: skip
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.bert.encoder.layer[0].attention.self.query.weight[4:8].zero_()  # head 1 of 4 (head size 4)
        model.bert.encoder.layer[1].intermediate.dense.weight[[0, 5, 7]] = 0.0
    model.save_pretrained(tmp_path)
    kept = kept_units(str(tmp_path))
    assert kept["heads.0"].tolist() == [True, False, True, True] and bool(kept["heads.1"].all())
    assert kept["neurons.1"].tolist() == [False, True, True, True, True, False, True, False]
    assert bool(kept["neurons.0"].all())


def test_overlap_counts_each_side_and_both():
    distilled = {"neurons.0": torch.tensor([True, True, False, False])}
    labels_only = {"neurons.0": torch.tensor([True, False, True, True])}
    assert overlap(distilled, labels_only) == {"neurons.0": {"distilled": 2, "labels_only": 3, "both": 1}}
    with pytest.raises(ValueError, match="different blocks"):
        overlap(distilled, {"neurons.1": torch.tensor([True])})
