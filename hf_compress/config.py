"""`CompressionConfig`: the distillation, pruning and quantization configs of one compression run."""

from dataclasses import dataclass, field

from .distillation.config import DistillationConfig
from .pruning.config import PruningConfig
from .quantization.config import QuantizationConfig
from .utils.config_mixin import ConfigMixin
from .version import __version__


COMPRESSION_CONFIG_NAME = "compression_config.json"  # == CompressionConfig.config_file_name()


@dataclass(repr=False)
class CompressionConfig(ConfigMixin):
    """
    Everything that was done to a model: saved as `compression_config.json` next to its weights.

    Args:
        distillation (`DistillationConfig`, *optional*): the distillation loss used to recover accuracy.
        pruning (`list[PruningConfig]`, defaults to `[]`): pruning passes, applied in order.
        quantization (`QuantizationConfig`, *optional*): the quantization applied after pruning.
        hf_compress_version (`str`): the version that wrote the config (stamped automatically).
    """

    config_name = "compression"

    distillation: DistillationConfig | None = field(default=None, metadata={"help": "Distillation settings."})
    pruning: list[PruningConfig] = field(default_factory=list, metadata={"help": "Pruning passes, in order."})
    quantization: QuantizationConfig | None = field(default=None, metadata={"help": "Quantization settings."})
    hf_compress_version: str = field(default=__version__, metadata={"help": "Version that wrote this config."})

    def __post_init__(self):
        if isinstance(self.distillation, dict):
            self.distillation = DistillationConfig.from_dict(self.distillation)
        if isinstance(self.pruning, (PruningConfig, dict)):
            self.pruning = [self.pruning]
        if not isinstance(self.pruning, (list, tuple)):
            raise ValueError(f"CompressionConfig.pruning must be a list of PruningConfig, got {self.pruning!r}.")
        self.pruning = [p if isinstance(p, PruningConfig) else PruningConfig.from_dict(p) for p in self.pruning]
        if isinstance(self.quantization, dict):
            self.quantization = QuantizationConfig.from_dict(self.quantization)
        for name, expected in (("distillation", DistillationConfig), ("quantization", QuantizationConfig)):
            value = getattr(self, name)
            if value is not None and not isinstance(value, expected):
                raise ValueError(f"CompressionConfig.{name} must be a {expected.__name__} or None, got {value!r}.")
