"""Pruning: configs, schedules, score methods, masks, physical shrinking and the `PruningCallback`."""
