"""What `DistillationTrainer.save_model` writes next to the weights: `compression_config.json` and a model card."""

import os

from ..config import CompressionConfig


def compression_config_of(trainer) -> CompressionConfig | None:
    """The `CompressionConfig` of a trainer's distillation config and hf_compress callbacks (`None` if none)."""
    from ..pruning.callback import PruningCallback
    from ..quantization.callback import QuantizationCallback

    callbacks = trainer.callback_handler.callbacks
    pruning = [c.config for c in callbacks if isinstance(c, PruningCallback)]
    quantization = next((c.config for c in callbacks if isinstance(c, QuantizationCallback)), None)
    distillation = getattr(trainer, "distillation_config", None)
    if not (pruning or quantization or distillation):
        return None
    return CompressionConfig(distillation=distillation, pruning=pruning, quantization=quantization)


def write_compression_artifacts(trainer, output_dir: str) -> None:
    """
    Write `compression_config.json` and a `README.md` model card (hf-compress tags, settings, base model when it
    is a Hub id) into `output_dir`, which already holds the saved model.
    """
    from .model_card import build_model_card

    config = compression_config_of(trainer)
    if config is None:
        return
    config.save_pretrained(output_dir)
    base = getattr(getattr(trainer.model, "config", None), "_name_or_path", None) or None
    card = build_model_card(
        config.to_dict(),
        model_name=os.path.basename(os.path.abspath(output_dir)),
        base_model=base if base and not os.path.exists(base) else None,
        repo_hint=output_dir,
    )
    card.save(os.path.join(output_dir, "README.md"))
