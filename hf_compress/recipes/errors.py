"""The one error type a recipe raises for bad input: its message names the YAML path and what is allowed."""

import difflib
from collections.abc import Iterable


class RecipeError(ValueError):
    """
    A recipe (or a command-line override of it) is invalid. Raised before anything runs or is written.

    Args:
        path (`str`): where in the YAML the problem is, e.g. `stages[1].pruning.target_sparsity` (empty for the root).
        message (`str`): what is wrong and what is allowed.
    """

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


def join_path(path: str, key: str | int) -> str:
    """`join_path("stages", 1)` -> `"stages[1]"`; `join_path("model", "path")` -> `"model.path"`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def unknown_key_message(key: str, known: Iterable[str]) -> str:
    """`"unknown key; did you mean 'x'? known keys: [...]"`."""
    known = sorted(known)
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f" did you mean {close[0]!r}?" if close else ""
    return f"unknown key;{hint} known keys: {', '.join(known)}"
