"""Pruning: configs, schedules, score methods, masks, physical shrinking and the `PruningCallback`."""

from .callback import PruningCallback
from .config import PruningConfig
from .methods import PruningMethod, available_pruning_methods, register_pruning_method
from .oneshot import prune_
from .shrink import ShrinkResult, shrink_model
from .structures import PruneGroup, find_groups


__all__ = [
    "PruneGroup",
    "PruningCallback",
    "PruningConfig",
    "PruningMethod",
    "ShrinkResult",
    "available_pruning_methods",
    "find_groups",
    "prune_",
    "register_pruning_method",
    "shrink_model",
]
