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


def pruning_callbacks(callbacks: list | None = None) -> list:
    """The `PruningCallback`s among `callbacks` (default: the sibling callbacks)."""
    from ..pruning.callback import PruningCallback  # lazy: pruning imports serialization, which imports us

    callbacks = sibling_callbacks() if callbacks is None else callbacks
    return [callback for callback in callbacks if isinstance(callback, PruningCallback)]


def pruning_end_step(callbacks: list | None = None) -> int | None:
    """The largest explicit `end_step` of the pruning callbacks among `callbacks` (default: the siblings), or `None`."""
    ends = [c.config.end_step for c in pruning_callbacks(callbacks) if isinstance(c.config.end_step, int)]
    return max(ends) if ends else None
