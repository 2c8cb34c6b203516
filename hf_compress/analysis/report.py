"""`compression_report`: what compression did to a model, per layer and in total, optionally against its teacher."""

from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn

from .flops import count_flops
from .size import count_parameters, module_bits, quantized_weight, safetensors_bytes


@dataclass
class LayerRow:
    """One module with parameters (or an attention block's matmuls): sizes, sparsity, bits and forward FLOPs."""

    name: str
    type: str
    params: int
    nonzero: int
    sparsity: float
    bits: int
    flops: int


@dataclass
class CompressionReport:
    """
    Per-layer rows and totals; `teacher_*` and `*_ratio` are filled when a teacher was given (ratio = student /
    teacher, so 0.2 means 80% removed).
    """

    rows: list[LayerRow] = field(default_factory=list)
    params: int = 0
    nonzero_params: int = 0
    flops: int = 0
    bytes_on_disk: int | None = None
    input_shape: tuple[int, ...] = ()
    teacher_params: int | None = None
    teacher_flops: int | None = None
    teacher_bytes_on_disk: int | None = None

    @property
    def sparsity(self) -> float:
        return 1.0 - self.nonzero_params / self.params if self.params else 0.0

    def ratios(self) -> dict[str, float]:
        out = {}
        for key in ("params", "flops", "bytes_on_disk"):
            teacher = getattr(self, f"teacher_{key}")
            mine = getattr(self, key)
            if teacher and mine is not None:
                out[key] = mine / teacher
        return out

    def to_dict(self) -> dict:
        data = asdict(self)
        data["input_shape"] = list(self.input_shape)
        data["sparsity"] = self.sparsity
        data["ratios"] = self.ratios()
        return data

    def to_markdown(self, max_rows: int | None = None) -> str:
        lines = [
            "| layer | type | params | non-zero | sparsity | bits | MFLOPs |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for row in self.rows[:max_rows]:
            lines.append(
                f"| {row.name} | {row.type} | {row.params:,} | {row.nonzero:,} | {row.sparsity:.1%} | {row.bits} | "
                f"{row.flops / 1e6:.3f} |"
            )
        lines.append(
            f"| **total** | | {self.params:,} | {self.nonzero_params:,} | {self.sparsity:.1%} | | {self.flops / 1e6:.3f} |"
        )
        summary = [f"input shape {list(self.input_shape)}"]
        if self.bytes_on_disk is not None:
            summary.append(f"safetensors {self.bytes_on_disk / 1e6:.2f} MB")
        for key, ratio in self.ratios().items():
            summary.append(f"{key} vs teacher: {ratio:.3f}x ({1 - ratio:.1%} removed)")
        return "\n".join(lines) + "\n\n" + "; ".join(summary) + "\n"

    def __str__(self) -> str:
        return self.to_markdown()


def _rows(model: nn.Module, flops_by_name: dict[str, int]) -> list[LayerRow]:
    rows, seen = [], set()
    for name, module in model.named_modules():
        params = [p for p in module.parameters(recurse=False) if id(p) not in seen]
        seen.update(id(p) for p in params)
        tensors = [p.detach() for p in params] + [w for w in [quantized_weight(module)] if w is not None]
        flops = flops_by_name.pop(name, 0)
        if not tensors and not flops:
            continue
        total = sum(t.numel() for t in tensors)
        nonzero = sum(int(torch.count_nonzero(t).item()) for t in tensors)
        kind = "attention matmuls" if not tensors else type(module).__name__
        rows.append(
            LayerRow(name, kind, total, nonzero, 1 - nonzero / total if total else 0.0, module_bits(module), flops)
        )
    return rows


def compression_report(
    model: nn.Module,
    teacher: nn.Module | None = None,
    sequence_length: int = 128,
    image_size: int | None = None,
    save_dir: str | None = None,
    measure_bytes: bool = True,
) -> CompressionReport:
    """
    Count parameters, non-zero parameters, forward FLOPs (2 x MACs, per layer, at the given input size) and
    safetensors bytes of `model`, and compare with `teacher` when given.

    Args:
        model (`nn.Module`): the compressed model.
        teacher (`nn.Module`, *optional*): the original model.
        sequence_length (`int`, defaults to 128) / image_size (`int`, *optional*): input size for FLOPs.
        save_dir (`str`, *optional*): an existing save of `model` whose `*.safetensors` bytes are reported;
            otherwise the model is saved to a temporary directory when `measure_bytes`.
        measure_bytes (`bool`, defaults to `True`): whether to measure bytes on disk at all.

    Returns:
        `CompressionReport`.
    """
    from ..pruning.masks import unwrap_model

    model = unwrap_model(model)
    count = count_flops(model, sequence_length=sequence_length, image_size=image_size)
    by_name: dict[str, int] = {}
    for row in count.rows:
        by_name[row.name] = by_name.get(row.name, 0) + row.flops
    params, nonzero = count_parameters(model)
    report = CompressionReport(
        rows=_rows(model, dict(by_name)),
        params=params,
        nonzero_params=nonzero,
        flops=count.total_flops,
        input_shape=count.input_shape,
    )
    if measure_bytes or save_dir is not None:
        report.bytes_on_disk = safetensors_bytes(model, save_dir)
    if teacher is not None:
        teacher = unwrap_model(teacher)
        report.teacher_params = count_parameters(teacher)[0]
        report.teacher_flops = count_flops(teacher, sequence_length=sequence_length, image_size=image_size).total_flops
        if measure_bytes:
            report.teacher_bytes_on_disk = safetensors_bytes(teacher)
    return report
