"""`QuantizationCallback`: QAT / PTQ inside any `transformers.Trainer` (plain, `DistillationTrainer`, with pruning)."""

import json
import logging
import os
from typing import Any

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from ..utils.config_mixin import atomic_write_text
from .config import QuantizationConfig
from .convert import convert
from .ordering import pruning_callbacks, pruning_end_step, sibling_callbacks
from .prepare import prepare_qat, qat_modules, select_modules
from .ptq import calibrate
from .resume import export_observer_state, import_observer_state


logger = logging.getLogger(__name__)

STATE_FILE = "hf_compress_quantization.json"


class QuantizationCallback(TrainerCallback, ExportableState):
    """
    Quantization-aware training (or post-training quantization) as a `Trainer` callback.

    Timeline (mode `"qat"`): the config is validated at `on_init_end` (bad group sizes or targets fail before
    training); selected `nn.Linear`s become fake-quantized at `on_train_begin`, or at `start_step`; observers freeze
    after `freeze_observers_step`; at `on_train_end` layers are converted to real low-bit `QuantizedLinear`s. With
    mode `"ptq"` nothing changes during training and the trained weights are quantized at `on_train_end`
    (activations calibrated on `calibration_data` or on the first training batches).

    Pruning: weights that are zero when fake-quantization starts are locked at exactly 0 (masked in `forward`,
    re-zeroed after every optimizer step) and zero is exactly representable in every scheme, so sparsity survives
    QAT and conversion. Default order is prune-then-quantize: when a `PruningCallback` with an `end_step` is in the
    same trainer and `start_step` is 0, fake-quantization starts at pruning's `end_step` (pass
    `start_after_pruning=False` to quantize from step 0; the masks are respected either way). Put the
    `PruningCallback` first: with structured pruning it shrinks the fake-quantized layers at `on_train_end`, keeping
    their scales, before they are converted here.

    Args:
        config (`QuantizationConfig` or `dict`): the quantization config.
        start_after_pruning (`bool`, defaults to `True`): delay QAT to the end of pruning as described above.
        calibration_data (iterable of batches, *optional*): PTQ activation calibration batches.
    """

    def __init__(self, config: QuantizationConfig | dict | None = None, start_after_pruning: bool = True,
                 calibration_data: Any = None):  # fmt: skip
        if config is None:
            config = QuantizationConfig()
        if isinstance(config, dict):
            config = QuantizationConfig.from_dict(config)
        if not isinstance(config, QuantizationConfig):
            raise ValueError(
                f"QuantizationCallback: config must be a QuantizationConfig, got {type(config).__name__}."
            )
        self.config = config
        self.start_after_pruning = start_after_pruning
        self.calibration_data = calibration_data
        self.effective_start_step: int | None = None
        self.prepared = False
        self.frozen = False
        self.converted = False
        self.observer_state: dict[str, Any] | None = None
        self._model = None

    # -- ExportableState --------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        if self._model is not None and self.prepared and not self.converted:
            self.observer_state = export_observer_state(self._model, include_weights=self.frozen)
        return {
            "args": {"config": self.config.to_dict(), "start_after_pruning": self.start_after_pruning},
            "attributes": {
                "effective_start_step": self.effective_start_step,
                "prepared": self.prepared,
                "frozen": self.frozen,
                "converted": self.converted,
                "observer_state": self.observer_state,
            },
        }

    # -- events -----------------------------------------------------------------------------------------------
    def on_init_end(self, args, state, control, model=None, **kwargs):
        if model is not None:
            select_modules(model, self.config)
        siblings = sibling_callbacks()
        later = pruning_callbacks(siblings[siblings.index(self) + 1 :] if self in siblings else [])
        for callback in later:
            if callback.config.shrink and callback.config.is_structured:
                raise ValueError(
                    f"{type(callback).__name__} (structured, shrink=True) comes after QuantizationCallback in the "
                    "Trainer's callbacks: it would shrink layers already converted to low bits. Pass it first: "
                    "callbacks=[PruningCallback(...), QuantizationCallback(...)]."
                )

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._model = model
        if state.global_step > 0:
            self._load_checkpoint_state(args, state.global_step)
        if not qat_modules(model):
            select_modules(model, self.config)
        if self.effective_start_step is None:
            self.effective_start_step = self.config.start_step
            end = pruning_end_step() if self.start_after_pruning and self.config.start_step == 0 else None
            if end is not None:
                self.effective_start_step = end
                logger.info("hf_compress: QAT starts at step %d, after pruning ends (prune-then-quantize).", end)
        self._maybe_prepare(state.global_step)
        if self.prepared and self.observer_state:
            import_observer_state(model, self.observer_state)
            if self.frozen:
                self._freeze(model)

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        self._maybe_prepare(state.global_step)

    @torch.no_grad()
    def on_optimizer_step(self, args, state, control, **kwargs):
        for module in qat_modules(self._model).values():
            module.apply_mask()

    def on_step_end(self, args, state, control, model=None, **kwargs):
        freeze_at = self.config.freeze_observers_step
        if self.prepared and not self.frozen and freeze_at is not None and state.global_step >= freeze_at:
            self._freeze(self._model)
            self.frozen = True

    def on_train_end(self, args, state, control, model=None, train_dataloader=None, **kwargs):
        if self.converted:
            return
        if self.config.mode == "ptq":
            prepare_qat(self._model, self.config)
            if self.config.static_activations:
                data = self.calibration_data if self.calibration_data is not None else train_dataloader
                calibrate(self._model, data, self.config.calibration_samples)
        elif not self.prepared:
            logger.warning("hf_compress: training ended before QAT started; quantizing the final weights (PTQ).")
            prepare_qat(self._model, self.config)
        convert(self._model)
        self.converted = True
        if hasattr(getattr(self._model, "config", None), "to_dict") or hasattr(self._model, "module"):
            from ..serialization.save import update_compression_config

            # stamp the layouts so that `trainer.save_model` writes a directory `from_pretrained` rebuilds
            update_compression_config(getattr(self._model, "module", self._model))

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            path = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}", STATE_FILE)
            atomic_write_text(path, json.dumps(self.state(), indent=1))

    # -- helpers ----------------------------------------------------------------------------------------------
    def _maybe_prepare(self, step: int) -> None:
        if self.config.mode != "qat" or self.converted or step < self.effective_start_step:
            return
        if not qat_modules(self._model):
            prepare_qat(self._model, self.config)
        self.prepared = True

    def _load_checkpoint_state(self, args, step: int) -> None:
        """Restore the attributes saved by `on_save` (works whether or not the Trainer restores callback states)."""
        path = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{step}", STATE_FILE)
        if not os.path.isfile(path):
            logger.warning(
                "hf_compress: resuming at step %d without %s; observers restart from the weights.", step, path
            )
            return
        with open(path, encoding="utf-8") as handle:
            for key, value in json.load(handle)["attributes"].items():
                setattr(self, key, value)

    @staticmethod
    def _freeze(model) -> None:
        for module in qat_modules(model).values():
            module.weight_observer.freeze(module.masked_weight())
            if module.input_observer is not None:
                module.input_observer.frozen = True
