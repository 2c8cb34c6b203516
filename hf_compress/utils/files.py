"""File helpers: temporary files and directories made for atomic writes get the permissions of a normal write."""

import os


def apply_default_permissions(path: str | os.PathLike) -> None:
    """
    Give `path` the permissions `open`/`mkdir` would have given it under the current umask (`mkstemp` and
    `mkdtemp` create owner-only files and directories, which would otherwise survive the atomic rename).
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~umask)
