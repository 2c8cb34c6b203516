"""Observers: track quantization parameters of weights (min-max) and activations (moving-average min-max)."""

import torch
import torch.nn as nn

from .qscheme import QuantSpec, compute_qparams


class WeightObserver(nn.Module):
    """
    Min-max observer of a weight: recomputes scales on every call until frozen, then keeps them.

    Buffers are non-persistent (a checkpoint of a QAT model keeps the original state-dict keys); frozen parameters
    survive `resume_from_checkpoint` through the `QuantizationCallback` state instead.

    Args:
        spec (`QuantSpec`): the weight's quantization scheme.
    """

    def __init__(self, spec: QuantSpec):
        super().__init__()
        self.spec = spec
        self.frozen = False
        for name in ("scale", "zero_point", "threshold"):
            self.register_buffer(name, torch.empty(0), persistent=False)

    def forward(self, weight: torch.Tensor) -> dict[str, torch.Tensor]:
        if not self.frozen or self.scale.numel() == 0:
            with torch.no_grad():
                for name, value in compute_qparams(weight, self.spec).items():
                    setattr(self, name, value)
        return self.qparams()

    def qparams(self) -> dict[str, torch.Tensor]:
        return {"scale": self.scale, "zero_point": self.zero_point, "threshold": self.threshold}

    def freeze(self, weight: torch.Tensor | None = None) -> None:
        """Stop updating; computes the parameters first from `weight` if none were observed yet."""
        if weight is not None and self.scale.numel() == 0:
            self(weight)
        self.frozen = True

    def load_qparams(self, values: dict[str, torch.Tensor]) -> None:
        for name, value in values.items():
            setattr(self, name, value.to(torch.float32))


class ActivationObserver(nn.Module):
    """
    Moving-average min-max observer of an activation (per tensor, asymmetric, range always includes 0).

    Args:
        bits (`int`, defaults to 8): activation bit width.
        momentum (`float`, defaults to 0.01): weight of the newest batch in the moving average (first batch: 1).
    """

    def __init__(self, bits: int = 8, momentum: float = 0.01):
        super().__init__()
        self.bits = bits
        self.momentum = momentum
        self.frozen = False
        self.register_buffer("min_val", torch.tensor(0.0), persistent=False)
        self.register_buffer("max_val", torch.tensor(0.0), persistent=False)
        self.register_buffer("initialized", torch.tensor(False), persistent=False)

    @torch.no_grad()
    def observe(self, x: torch.Tensor) -> None:
        if self.frozen:
            return
        low, high = x.detach().amin().float().clamp_max(0.0), x.detach().amax().float().clamp_min(0.0)
        if not bool(self.initialized):
            self.min_val.copy_(low)
            self.max_val.copy_(high)
            self.initialized.fill_(True)
        else:
            self.min_val.lerp_(low, self.momentum)
            self.max_val.lerp_(high, self.momentum)

    def qparams(self) -> tuple[torch.Tensor, torch.Tensor]:
        """`(scale, zero_point)` of the observed range."""
        qmax = 2**self.bits - 1
        scale = ((self.max_val - self.min_val) / qmax).clamp_min(1e-8)
        zero_point = (-self.min_val / scale).round().clamp(0, qmax)
        return scale, zero_point

    def get_state(self) -> dict[str, float | bool]:
        return {"min": float(self.min_val), "max": float(self.max_val), "initialized": bool(self.initialized)}

    def set_state(self, state: dict[str, float | bool]) -> None:
        self.min_val.fill_(state["min"])
        self.max_val.fill_(state["max"])
        self.initialized.fill_(bool(state["initialized"]))
