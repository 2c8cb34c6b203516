"""
Pruning score methods. Each method lives in its own file and registers itself with `register_pruning_method`, so a
new method is one file plus one import line here.
"""

from .base import PruningMethod
from .magnitude import MagnitudePruning
from .movement import MovementPruning
from .registry import available_pruning_methods, get_pruning_method, register_pruning_method
from .taylor import TaylorPruning


__all__ = [
    "MagnitudePruning",
    "MovementPruning",
    "PruningMethod",
    "TaylorPruning",
    "available_pruning_methods",
    "get_pruning_method",
    "register_pruning_method",
]
