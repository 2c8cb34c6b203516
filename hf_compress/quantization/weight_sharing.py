"""
Weight sharing (Deep Compression, Han et al. 2016): a per-layer k-means codebook and shared-weight fine-tuning.

`kmeans_codebook` clusters a layer's weights into at most `2^bits` centroids with linear initialisation (the
paper's best choice). Pruned zeros get their own centroid fixed at exactly 0, so pruning survives clustering.
`shared_gradient` is the shared-weight fine-tuning rule: the gradient of every weight of a cluster is replaced by
the sum of the cluster's gradients, so all members receive the same update as their centroid and stay equal.
"""

import torch


def kmeans_codebook(
    weight: torch.Tensor, num_centroids: int, iterations: int = 20
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Cluster `weight` into at most `num_centroids` values.

    Args:
        weight (`torch.Tensor`): the weights (any shape).
        num_centroids (`int`): codebook size, `2^bits`.
        iterations (`int`, defaults to 20): Lloyd iterations.

    Returns:
        `(codebook, indices)`: float32 `(K,)` with `K <= num_centroids`, and int64 indices shaped like `weight`.
        When `weight` has exact zeros, `codebook[0] == 0`.
    """
    flat = weight.detach().float().reshape(-1)
    unique = torch.unique(flat)
    if unique.numel() <= num_centroids:
        return unique, torch.searchsorted(unique, flat).reshape(weight.shape)
    has_zero = bool((flat == 0).any())
    values = flat[flat != 0] if has_zero else flat
    k = num_centroids - int(has_zero)
    centroids = torch.linspace(float(values.min()), float(values.max()), k)
    for _ in range(iterations):
        assign = _nearest(values, centroids)
        sums = torch.zeros(k).index_add_(0, assign, values)
        counts = torch.zeros(k).index_add_(0, assign, torch.ones_like(values))
        centroids = torch.where(counts > 0, sums / counts.clamp_min(1), centroids)
    centroids = torch.unique(centroids)
    if has_zero:
        centroids = torch.cat([torch.zeros(1), centroids[centroids != 0]])
    if has_zero:  # pruned weights use the zero centroid, the others never do (sparsity is unchanged)
        indices = torch.where(flat == 0, 0, _nearest(flat, centroids[1:]) + 1)
    else:
        indices = _nearest(flat, centroids)
    return centroids, indices.reshape(weight.shape)


def _nearest(values: torch.Tensor, centroids: torch.Tensor, chunk: int = 1 << 18) -> torch.Tensor:
    """Index of the nearest centroid for each value (chunked to bound memory)."""
    out = torch.empty(values.numel(), dtype=torch.int64)
    for start in range(0, values.numel(), chunk):
        part = values[start : start + chunk]
        out[start : start + chunk] = (part.unsqueeze(1) - centroids.unsqueeze(0)).abs().argmin(1)
    return out


def shared_gradient(
    grad: torch.Tensor, indices: torch.Tensor, num_centroids: int, zero_index: int | None = None
) -> torch.Tensor:
    """
    Replace each weight's gradient by the summed gradient of its cluster (Han et al., Eq. 3).

    Args:
        grad (`torch.Tensor`): gradient of the weight.
        indices (`torch.Tensor`): cluster index of every weight.
        num_centroids (`int`): codebook size.
        zero_index (`int`, *optional*): the pruned-zero cluster, whose gradient is forced to 0 (masks stay locked).
    """
    flat = indices.reshape(-1)
    sums = torch.zeros(num_centroids, dtype=grad.dtype, device=grad.device).index_add_(0, flat, grad.reshape(-1))
    if zero_index is not None:
        sums[zero_index] = 0
    return sums[flat].reshape(grad.shape)
