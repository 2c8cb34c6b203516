"""
Writing benchmark results: every script's JSON goes through `write_json`, so results committed from one clone name
neither that clone's directory nor the workspace around it.
"""

import json
import os


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared")  # the assets beside the repository (`../shared`)


def _is_under(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def repo_relative(value):
    """
    `value` (a JSON payload) with every absolute path inside the repository, or inside the `../shared` directory
    beside it, written relative to the repository's root (`benchmarks/cache/...`, `../shared/data/sst2`); other
    values, and paths elsewhere, are returned unchanged. The input is not modified.
    """
    if isinstance(value, dict):
        return {key: repo_relative(item) for key, item in value.items()}
    if isinstance(value, list):
        return [repo_relative(item) for item in value]
    if isinstance(value, str) and os.path.isabs(value):
        path = os.path.normpath(value)
        if _is_under(path, REPO) or _is_under(path, SHARED):
            return os.path.relpath(path, REPO)
    return value


def write_json(path: str, payload: dict) -> None:
    """Write a results file atomically (creating its directory), its paths repo-relative, and say where it went."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(repo_relative(payload), handle, indent=2)
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")
