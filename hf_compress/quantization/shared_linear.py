"""`SharedWeightLinear`: weight-sharing fine-tuning (Deep Compression) on top of `QATLinear`."""

import torch
import torch.nn as nn

from .qat_linear import QATLinear
from .qscheme import QuantSpec
from .weight_sharing import kmeans_codebook, shared_gradient


class _SharedWeight(torch.autograd.Function):
    """Identity forward; backward sums the gradients of each cluster and gives the sum to all its members."""

    @staticmethod
    def forward(ctx, weight, indices, num_centroids, zero_index):
        ctx.save_for_backward(indices)
        ctx.num_centroids, ctx.zero_index = num_centroids, zero_index
        return weight.clone()

    @staticmethod
    def backward(ctx, grad_output):
        (indices,) = ctx.saved_tensors
        return shared_gradient(grad_output, indices.long(), ctx.num_centroids, ctx.zero_index), None, None, None


class SharedWeightLinear(QATLinear):
    """
    A layer whose weights are clustered into `2^bits` shared values (k-means at preparation).

    The weight stays a plain `Parameter` whose entries equal `codebook[indices]`: every member of a cluster receives
    the cluster's summed gradient, so members get identical optimizer updates and stay equal, which is the same as
    training the centroid (Han et al. 2016). Pruned zeros form a cluster fixed at 0.

    Args:
        linear (`nn.Linear`): the layer to wrap (parameters reused).
        spec (`QuantSpec`): `spec.bits` sets the codebook size `2^bits`.
        activation_bits (`int`, *optional*): fake-quantize the input to this many bits.
    """

    def __init__(self, linear: nn.Linear, spec: QuantSpec, activation_bits: int | None = None):
        super().__init__(linear, spec, activation_bits)
        self.register_buffer("indices", None, persistent=False)
        self.num_centroids = 0
        self.zero_index = None
        self.cluster()

    @torch.no_grad()
    def cluster(self) -> None:
        """Run k-means on the current weight and snap the weight onto the codebook."""
        codebook, indices = kmeans_codebook(self.masked_weight(), 2**self.spec.bits)
        self.num_centroids = codebook.numel()
        zero = (codebook == 0).nonzero()
        self.zero_index = int(zero[0]) if zero.numel() and self.keep_mask is not None else None
        self.indices = indices.to(torch.int32)
        self.weight.copy_(codebook[indices].to(self.weight.dtype))

    def codebook(self) -> tuple[torch.Tensor, torch.Tensor]:
        """`(codebook, indices)` of the current (clustered) weight."""
        return kmeans_codebook(self.masked_weight(), 2**self.spec.bits)

    def quantized_weight(self) -> torch.Tensor:
        weight = self.masked_weight()
        return _SharedWeight.apply(weight, self.indices, self.num_centroids, self.zero_index)
