"""Word-swapped copies for the suite's augmented variants: what is swapped, with what, and how the copies are batched."""

import dataclasses
import itertools

import pytest
import torch
from transformers import BertTokenizerFast, default_data_collator

from benchmarks.suite.augment import SwappedCopies, batches_apart, neighbour_table, swap_words
from benchmarks.suite.compress import TrainingPlan, compress
from benchmarks.suite.variants import select
from hf_compress import load_compressed
from tests.pruning.tiny_models import tiny_bert


SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["".join(pair) for pair in itertools.product("abcdefghij", repeat=2)][:75]  # ids 5..79
PIECES = [f"##{letter}" for letter in "klmnopqrstuvwxyzabcd"]  # ids 80..99
VOCAB = SPECIALS + WORDS + PIECES


def vocabulary() -> dict[str, int]:
    return {token: i for i, token in enumerate(VOCAB)}


def test_neighbours_are_the_nearest_whole_words_by_cosine_and_never_the_word_itself():
    embeddings = torch.randn(len(VOCAB), 8, generator=torch.Generator().manual_seed(0))
    embeddings[6] = embeddings[5] * 3.0  # same direction as id 5: its nearest word
    embeddings[80] = embeddings[5]  # a word piece, as close as can be, but not a whole word
    table, continuation = neighbour_table(embeddings, vocabulary(), neighbours=4)
    assert table[5, 0] == 6 and table[6, 0] == 5
    words = set(range(5, 80))
    for word in words:
        assert word not in table[word].tolist() and set(table[word].tolist()) <= words
    unit = torch.nn.functional.normalize(embeddings[5:80], dim=-1)
    similarity = unit[10 - 5] @ unit.T
    similarity[10 - 5] = -2
    assert table[10].tolist() == (similarity.topk(4).indices + 5).tolist()
    assert (table[:5] == -1).all() and (table[80:] == -1).all()
    assert continuation[80:].all() and not continuation[:80].any()


def test_a_too_small_vocabulary_is_refused_with_the_counts():
    with pytest.raises(ValueError, match="3 whole words, need more than 4"):
        neighbour_table(torch.randn(5, 4), {"aa": 0, "bb": 1, "cc": 2, "[PAD]": 3, "##x": 4}, neighbours=4)


def test_swaps_keep_the_length_and_replace_only_single_piece_words_with_their_neighbours():
    embeddings = torch.randn(len(VOCAB), 8, generator=torch.Generator().manual_seed(1))
    table, continuation = neighbour_table(embeddings, vocabulary(), neighbours=3)
    ids = [2, 7, 30, 81, 44, 3]  # [CLS] word word+##piece word [SEP]
    swapped = swap_words(ids, table, continuation, 1.0, torch.Generator().manual_seed(0))
    assert len(swapped) == len(ids)
    assert swapped[0] == 2 and swapped[5] == 3  # specials stay
    assert swapped[2] == 30 and swapped[3] == 81  # the first piece of a two-piece word stays, and so does its piece
    assert swapped[1] in table[7].tolist() and swapped[4] in table[44].tolist()
    assert swap_words(ids, table, continuation, 0.0, torch.Generator().manual_seed(0)) == ids


def rows(count: int) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    return [
        {"input_ids": torch.randint(5, 80, (4 + i % 9,), generator=generator).tolist(), "attention_mask": [1] * (4 + i % 9),
         "labels": i % 2}
        for i in range(count)
    ]  # fmt: skip


@pytest.mark.parametrize("labelled", [True, False])
def test_copies_keep_or_drop_the_label_and_batches_never_mix_rows_with_copies(labelled):
    originals = rows(96)
    table, continuation = neighbour_table(torch.randn(len(VOCAB), 8), vocabulary(), neighbours=3)
    copies = SwappedCopies(originals, table, continuation, 0.5, copies=2, seed=0, labelled=labelled)
    assert len(copies) == 192
    assert all(len(c["input_ids"]) == len(originals[i % 96]["input_ids"]) for i, c in enumerate(copies))
    assert any(c["input_ids"] != originals[i % 96]["input_ids"] for i, c in enumerate(copies))
    assert all(("labels" in c) == labelled for c in copies)
    if labelled:
        assert all(c["labels"] == originals[i % 96]["labels"] for i, c in enumerate(copies))
    lengths = [len(r["input_ids"]) for r in originals]
    stream = batches_apart(originals, copies, lengths, batch_size=8, seed=0)
    kinds = [index >= 96 for index in stream.indices]  # False: an original row, True: a copy
    batches = [kinds[i : i + 8] for i in range(0, len(kinds), 8)]
    assert all(len(set(batch)) == 1 for batch in batches)
    assert sum(not batch[0] for batch in batches) == 12 and sum(batch[0] for batch in batches) == 24
    assert sorted(stream.indices) == list(range(288))  # every row and copy once (96 = 12 full batches per stream)
    assert batches[:12] != [[False] * 8] * 12  # the two kinds are shuffled together, not one after the other
    assert stream.indices == batches_apart(originals, copies, lengths, batch_size=8, seed=0).indices


@pytest.fixture(scope="module")
def worded_plan(tmp_path_factory):
    work = tmp_path_factory.mktemp("augmented")
    BertTokenizerFast(vocab=vocabulary()).save_pretrained(work / "teacher")
    tiny_bert().save_pretrained(work / "teacher")
    data = [{**row, "input_ids": torch.tensor(row["input_ids"][:4]), "attention_mask": torch.ones(4, dtype=torch.long),
             "labels": torch.tensor(row["labels"])} for row in rows(64)]  # fmt: skip
    return TrainingPlan(str(work / "teacher"), data, default_data_collator, steps=2, work=str(work),
                        sampling="length_buckets", max_steps=4)  # fmt: skip


@pytest.mark.parametrize("key, labelled", [("paper80x2ep_aug_kd", False), ("paper80x2ep_aug_nokd_lr1e-4", True)])
def test_an_augmented_variant_trains_on_the_rows_and_their_copies(worded_plan, monkeypatch, key, labelled):
    import benchmarks.suite.compress as suite_compress

    seen = {}
    real = suite_compress.DistillationTrainer if labelled is False else suite_compress.Trainer

    def recording(*args, **kwargs):
        seen["rows"] = kwargs["train_dataset"]
        return real(*args, **kwargs)

    monkeypatch.setattr(suite_compress, "DistillationTrainer" if not labelled else "Trainer", recording)
    (variant,) = [v for v in select([key]) if v.key == key]
    path, _ = compress(variant, 0, worded_plan)
    stream = seen["rows"]
    assert len(stream) == 128 and sorted(stream.indices) == list(range(128))
    copies = [stream[i] for i in range(128) if stream.indices[i] >= 64]
    assert len(copies) == 64 and all(("labels" in c) == labelled for c in copies)
    assert load_compressed(path) is not None


def test_augmentation_needs_length_buckets(worded_plan):
    with pytest.raises(ValueError, match="sampling='length_buckets'"):
        dataclasses.replace(worded_plan, sampling="random").augmented_rows(0, {"copies": 1, "probability": 0.4,
                                                                              "neighbours": 3}, labelled=True)  # fmt: skip
