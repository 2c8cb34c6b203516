"""`QATLinear`: an `nn.Linear` whose weight (and optionally input) is fake-quantized during training."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .fake_quant import fake_quantize_activation, fake_quantize_dynamic_activation
from .observers import ActivationObserver, WeightObserver
from .qscheme import QuantSpec
from .weight_fake_quant import WeightFakeQuantMixin


class QATLinear(WeightFakeQuantMixin, nn.Linear):
    """
    Fake-quantizes its weight in `forward` with a straight-through estimator.

    `weight` and `bias` stay the very same leaf `Parameter`s as the original layer (the optimizer, pruning masks and
    state-dict keys keep working). Zero maps exactly to zero for every scheme, and weights that are zero when the
    layer is prepared (pruned) are locked: they are masked in `forward` (no gradient reaches them) and re-zeroed by
    `QuantizationCallback` after every optimizer step.

    Args:
        linear (`nn.Linear`): the layer to wrap; its parameters are reused, not copied.
        spec (`QuantSpec`): weight scheme.
        activation_bits (`int` or `"dynamic"`, *optional*): fake-quantize the input to this many bits with an observed
            range, or (`"dynamic"`) to 8 bits with each input's own range.
    """

    def __init__(self, linear: nn.Linear, spec: QuantSpec, activation_bits: int | None = None):
        nn.Module.__init__(self)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight
        self.bias = linear.bias
        self.spec = spec
        self.weight_observer = WeightObserver(spec)
        self.activation_bits = activation_bits
        static = isinstance(activation_bits, int)
        self.input_observer = ActivationObserver(activation_bits) if static else None
        self.calibrating = False
        self.register_buffer("keep_mask", None, persistent=False)
        self.lock_zeros()

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation_bits == "dynamic":
            return fake_quantize_dynamic_activation(x)
        if self.input_observer is None:
            return x
        if self.training or self.calibrating:
            self.input_observer.observe(x)
        if not bool(self.input_observer.initialized):
            return x
        scale, zero_point = self.input_observer.qparams()
        return fake_quantize_activation(x, scale, zero_point, self.activation_bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.quantize_input(x), self.quantized_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, spec={self.spec}, activation_bits={self.activation_bits}"
