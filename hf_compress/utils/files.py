"""File helpers: temporary files and directories made for atomic writes get the permissions of a normal write."""

import os
import shutil
import tempfile


def apply_default_permissions(path: str | os.PathLike) -> None:
    """
    Give `path` the permissions `open`/`mkdir` would have given it under the current umask (`mkstemp` and
    `mkdtemp` create owner-only files and directories, which would otherwise survive the atomic rename).
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~umask)


def replace_directory(staged: str | os.PathLike, target: str | os.PathLike) -> str:
    """
    Move the complete directory `staged` to `target`. An existing `target` is moved aside first and deleted only
    after the new one is in place, so readers see either the old or the new directory, never a mix. Every file and
    folder in it first gets the permissions the umask gives (transformers 5 writes `model.safetensors` owner-only,
    as `mkstemp` does, while the `config.json` beside it is readable by all).

    Returns:
        `str`: the absolute path of `target`.
    """
    for root, folders, files in os.walk(staged):
        for name in folders + files:
            apply_default_permissions(os.path.join(root, name))
    apply_default_permissions(staged)
    target = os.path.abspath(os.fspath(target))
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    if not os.path.isdir(target):
        shutil.move(os.fspath(staged), target)
        return target
    backup = tempfile.mkdtemp(dir=parent, prefix=f".old-{os.path.basename(target)}-")
    os.rmdir(backup)
    os.replace(target, backup)
    shutil.move(os.fspath(staged), target)
    shutil.rmtree(backup, ignore_errors=True)
    return target
