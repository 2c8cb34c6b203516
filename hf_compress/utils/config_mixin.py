"""Shared persistence for the hf_compress config dataclasses (JSON only, never pickle)."""

import dataclasses
import json
import os
import tempfile
from typing import Any, TypeVar

from ..version import __version__
from .files import apply_default_permissions


T = TypeVar("T", bound="ConfigMixin")


def atomic_write_text(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary file and an atomic rename, so readers never see half a file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        apply_default_permissions(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


class ConfigMixin:
    """
    Base class of the hf_compress configs: `to_dict` / `from_dict` with strict keys, and JSON persistence.

    Subclasses are dataclasses. Unknown keys raise a `ValueError` that names them and lists the known fields.
    """

    config_name: str = "config"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable dictionary of every field."""
        return {field.name: _to_plain(getattr(self, field.name)) for field in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """Build a config from a dictionary; unknown keys are an error, not silently dropped."""
        if not isinstance(data, dict):
            raise ValueError(f"{cls.__name__}.from_dict expects a dict, got {type(data).__name__}.")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{cls.__name__} got unknown field(s) {unknown}; known fields: {sorted(known)}.")
        return cls(**data)

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def config_file_name(cls) -> str:
        return f"{cls.config_name}_config.json"

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs: Any) -> str:
        """
        Write `<name>_config.json` (with a `hf_compress_version` stamp) into `save_directory`, atomically.

        Args:
            save_directory (`str` or `os.PathLike`): directory to write to (created if missing).
            push_to_hub (`bool`, defaults to `False`): also upload the file; needs `repo_id=` in `kwargs`.

        Returns:
            `str`: the path of the written file.
        """
        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory={str(save_directory)!r} is a file; pass a directory.")
        path = os.path.join(save_directory, self.config_file_name())
        atomic_write_text(path, self._stamped_json())
        if push_to_hub:
            if "repo_id" not in kwargs:
                raise ValueError("save_pretrained(push_to_hub=True) needs repo_id=...")
            self.push_to_hub(kwargs.pop("repo_id"), **kwargs)
        return path

    @classmethod
    def from_pretrained(cls: type[T], pretrained_path_or_repo_id: str | os.PathLike, **hub_kwargs: Any) -> T:
        """Load `<name>_config.json` from a local directory or a Hub repo id (JSON only)."""
        path = os.path.join(pretrained_path_or_repo_id, cls.config_file_name())
        if not os.path.isfile(path):
            if os.path.isdir(pretrained_path_or_repo_id):
                raise FileNotFoundError(f"No {cls.config_file_name()} in {str(pretrained_path_or_repo_id)!r}.")
            from huggingface_hub import hf_hub_download

            path = hf_hub_download(str(pretrained_path_or_repo_id), cls.config_file_name(), **hub_kwargs)
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return cls.from_dict(_pop_version_stamp(cls, data))

    def push_to_hub(self, repo_id: str, commit_message: str | None = None, **kwargs: Any) -> str:
        """Upload `<name>_config.json` to `repo_id` on the Hub, creating the repo if needed. Returns the commit url."""
        from huggingface_hub import HfApi

        api = HfApi(token=kwargs.pop("token", None))
        api.create_repo(repo_id, exist_ok=True, private=kwargs.pop("private", None))
        info = api.upload_file(
            path_or_fileobj=self._stamped_json().encode("utf-8"),
            path_in_repo=self.config_file_name(),
            repo_id=repo_id,
            commit_message=commit_message or f"Upload {self.config_file_name()}",
            **kwargs,
        )
        return str(info)

    def _stamped_json(self) -> str:
        data = self.to_dict()
        data["hf_compress_version"] = __version__
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self))
        return f"{type(self).__name__}({fields})"


def _pop_version_stamp(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Drop the version stamp unless the class stores it as a field; refuse files from a newer major version."""
    data = dict(data)
    version = data.get("hf_compress_version")
    if version is not None and int(str(version).split(".")[0]) > int(__version__.split(".")[0]):
        raise ValueError(
            f"This {cls.config_file_name()} was written by hf_compress {version}, newer than the installed "
            f"{__version__}; upgrade with `pip install -U hf-compress`."
        )
    if "hf_compress_version" not in {f.name for f in dataclasses.fields(cls)}:
        data.pop("hf_compress_version", None)
    return data


def _to_plain(value: Any) -> Any:
    if isinstance(value, ConfigMixin):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    return value
