"""Prune-then-quantize ordering: find a pruning callback running in the same `Trainer` and its end step."""

import inspect

from transformers.trainer_callback import CallbackHandler


def sibling_callbacks() -> list:
    """
    The callbacks of the `Trainer` whose event is being dispatched (empty when not called from a callback event).

    `TrainerCallback` events receive neither the trainer nor its other callbacks, so this walks up the call stack to
    the dispatching `CallbackHandler`.
    """
    frame = inspect.currentframe()
    try:
        while frame is not None:
            owner = frame.f_locals.get("self")
            if isinstance(owner, CallbackHandler):
                return list(owner.callbacks)
            frame = frame.f_back
    finally:
        del frame
    return []


def pruning_end_step(callbacks: list | None = None) -> int | None:
    """
    The largest `end_step` of the pruning callbacks among `callbacks` (default: the sibling callbacks), or `None`.

    A pruning callback is recognised by its class name containing "Pruning" and a config (`config` or
    `pruning_config` attribute, or a list of them in `configs`) with an integer `end_step`.
    """
    callbacks = sibling_callbacks() if callbacks is None else callbacks
    ends = []
    for callback in callbacks:
        if "Pruning" not in type(callback).__name__:
            continue
        configs = getattr(callback, "configs", None) or [
            getattr(callback, "config", None) or getattr(callback, "pruning_config", None)
        ]
        for config in configs if isinstance(configs, (list, tuple)) else [configs]:
            end = getattr(config, "end_step", None)
            if isinstance(end, int):
                ends.append(end)
    return max(ends) if ends else None
