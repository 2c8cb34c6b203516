"""A validating registry of pruning score methods."""

from collections.abc import Callable


_PRUNING_METHODS: dict[str, type] = {}


def register_pruning_method(name: str) -> Callable[[type], type]:
    """
    Class decorator that registers a pruning score method under `name`.

    Args:
        name (`str`): the value users pass as `PruningConfig.method`.

    Raises:
        ValueError: if `name` is not a lower-case identifier, is already taken by another class, or the class does
            not subclass `PruningMethod`.
    """
    if not isinstance(name, str) or not name.replace("_", "").isalnum() or name != name.lower():
        raise ValueError(f"register_pruning_method: name={name!r} must be a lower-case identifier.")

    def decorator(cls: type) -> type:
        from .base import PruningMethod

        if not (isinstance(cls, type) and issubclass(cls, PruningMethod)):
            raise ValueError(f"register_pruning_method({name!r}): {cls!r} must subclass PruningMethod.")
        existing = _PRUNING_METHODS.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"register_pruning_method: {name!r} is already registered by {existing.__name__}.")
        _PRUNING_METHODS[name] = cls
        return cls

    return decorator


def available_pruning_methods() -> list[str]:
    return sorted(_PRUNING_METHODS)


def get_pruning_method(name: str) -> type:
    if name not in _PRUNING_METHODS:
        raise ValueError(f"Unknown pruning method {name!r}; allowed values: {available_pruning_methods()}.")
    return _PRUNING_METHODS[name]
