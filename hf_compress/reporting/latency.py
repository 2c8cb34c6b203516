"""CPU latency of a model's forward pass: median over timed runs, at fixed thread count and batch sizes."""

import statistics
import time

import torch
import torch.nn as nn

from ..analysis.flops import dummy_inputs


@torch.no_grad()
def measure_latency(
    model: nn.Module,
    batch_sizes: list[int] | tuple[int, ...] = (1, 32),
    threads: int = 2,
    runs: int = 20,
    warmup: int = 3,
    sequence_length: int = 128,
    image_size: int | None = None,
) -> dict[str, float]:
    """
    Median forward latency in milliseconds per batch size, e.g. `{"batch_1_ms": 1.2, "batch_32_ms": 9.8}`.

    Args:
        model (`nn.Module`): a transformers model (its `main_input_name` picks a text or image dummy batch).
        batch_sizes (`list[int]`, defaults to `(1, 32)`): batch sizes to time.
        threads (`int`, defaults to 2): `torch.set_num_threads` while timing (restored afterwards).
        runs (`int`, defaults to 20) / warmup (`int`, defaults to 3): timed and untimed passes per batch size.
        sequence_length (`int`, defaults to 128) / image_size (`int`, *optional*): the dummy input size.
    """
    previous = torch.get_num_threads()
    was_training = model.training
    model.eval()
    torch.set_num_threads(threads)
    results = {}
    try:
        for batch_size in batch_sizes:
            inputs = dummy_inputs(model, sequence_length, image_size, batch_size)
            for _ in range(warmup):
                model(**inputs)
            times = []
            for _ in range(max(1, runs)):
                start = time.perf_counter()
                model(**inputs)
                times.append((time.perf_counter() - start) * 1000)
            results[f"batch_{batch_size}_ms"] = statistics.median(times)
    finally:
        torch.set_num_threads(previous)
        model.train(was_training)
    return results
