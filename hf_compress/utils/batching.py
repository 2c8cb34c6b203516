"""
Similar-length batches in random order: most of the padding of short-text batches goes, and, unlike the Trainer's
`group_by_length`, the batches do not run from the longest rows to the shortest within each group.
"""

import torch
from torch.utils.data import Subset


LENGTH_BUCKETS = "length_buckets"


def length_bucketed_order(lengths: list[int], batch_size: int, seed: int, bucket_batches: int = 50) -> list[int]:
    """
    Row indices for a sequential sampler: rows shuffled, cut into buckets of `bucket_batches` batches, sorted by
    length within a bucket and cut into batches, and then the batches of all buckets shuffled. Every batch holds rows
    of similar length (as with `group_by_length`) but the lengths no longer sweep from long to short within each
    bucket. A bucket's last, incomplete batch is dropped (fewer than `batch_size` rows per bucket).

    Args:
        lengths (`list[int]`): the token count of every row.
        batch_size (`int`): rows per batch (per optimizer micro-step, summed over data-parallel ranks).
        seed (`int`): seed of both shuffles.
        bucket_batches (`int`, defaults to 50): batches per bucket (the Trainer's `group_by_length` sorts 50 too).

    Returns:
        `list[int]`: row indices, `batch_size` consecutive ones per batch.
    """
    if batch_size < 1 or bucket_batches < 1:
        raise ValueError(f"length_bucketed_order: batch_size and bucket_batches must be >= 1, got {batch_size}, "
                         f"{bucket_batches}.")  # fmt: skip
    generator = torch.Generator().manual_seed(seed)
    shuffled = torch.randperm(len(lengths), generator=generator).tolist()
    size = batch_size * bucket_batches
    batches = []
    for start in range(0, len(shuffled), size):
        bucket = sorted(shuffled[start : start + size], key=lengths.__getitem__)
        batches += [bucket[i : i + batch_size] for i in range(0, len(bucket) - batch_size + 1, batch_size)]
    return [row for index in torch.randperm(len(batches), generator=generator).tolist() for row in batches[index]]


def length_bucketed(dataset, batch_size: int, seed: int, length_key: str = "input_ids") -> Subset:
    """
    `dataset` reordered by `length_bucketed_order` on the length of each row's `length_key`; train on it with
    `TrainingArguments(train_sampling_strategy="sequential")` so that the Trainer keeps the order.

    Raises:
        `ValueError`: when the rows have no `length_key` (e.g. images), naming the keys they have.
    """
    if len(dataset) and length_key not in dataset[0]:
        raise ValueError(
            f"length_bucketed: rows have no {length_key!r} to measure (keys: {sorted(dataset[0])}); length buckets "
            "apply to token sequences."
        )
    column = dataset[length_key] if hasattr(dataset, "column_names") else [row[length_key] for row in dataset]
    lengths = [len(ids) for ids in column]
    return Subset(dataset, length_bucketed_order(lengths, batch_size, seed))
