"""Length buckets: batches of similar length in random order, for a Trainer that reads the rows in order."""

import pytest
import torch
from datasets import Dataset

from hf_compress.utils.batching import length_bucketed, length_bucketed_order


def test_length_buckets_batch_similar_lengths_in_random_order_not_longest_first():
    lengths = [int(x) for x in torch.randint(1, 60, (6400,), generator=torch.Generator().manual_seed(1))]
    order = length_bucketed_order(lengths, batch_size=32, seed=0)
    assert len(order) == len(set(order)) == 6400  # 4 buckets of 1600 rows: no partial batch, nothing repeated
    batches = [[lengths[i] for i in order[k : k + 32]] for k in range(0, len(order), 32)]
    spread = sum(max(b) - min(b) for b in batches) / len(batches)
    assert spread < 3  # a random batch of these lengths spans ~55 tokens
    longest = [max(b) for b in batches]
    # group_by_length walks each run of 50 batches from the longest rows to the shortest; these are in random order
    falling = sum(a > b for a, b in zip(longest, longest[1:]))
    assert 0.3 < falling / (len(longest) - 1) < 0.7
    assert order == length_bucketed_order(lengths, batch_size=32, seed=0)
    assert order != length_bucketed_order(lengths, batch_size=32, seed=1)


def test_length_buckets_drop_only_each_buckets_incomplete_batch():
    order = length_bucketed_order(list(range(100)), batch_size=32, seed=0, bucket_batches=2)  # buckets of 64 and 36
    assert len(order) == 96 and len(set(order)) == 96
    with pytest.raises(ValueError, match="batch_size and bucket_batches must be >= 1"):
        length_bucketed_order([1, 2], batch_size=0, seed=0)


@pytest.mark.parametrize("kind", ["datasets", "list"])
def test_a_dataset_is_reordered_by_the_length_of_its_token_ids(kind):
    rows = [{"input_ids": list(range(1 + (i * 7) % 23)), "label": i % 2} for i in range(200)]
    dataset = Dataset.from_list(rows) if kind == "datasets" else rows
    ordered = length_bucketed(dataset, batch_size=8, seed=4)
    assert ordered.indices == length_bucketed_order([len(r["input_ids"]) for r in rows], 8, 4)
    assert ordered[0] == dataset[ordered.indices[0]]


def test_rows_without_token_ids_are_refused_with_their_keys():
    with pytest.raises(ValueError, match=r"rows have no 'input_ids' to measure \(keys: \['label', 'pixel_values'\]\)"):
        length_bucketed([{"pixel_values": [0.0], "label": 0}], batch_size=1, seed=0)
