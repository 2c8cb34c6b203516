"""Share compressed models on the Hub: `push_compressed`, `hf-compress push`, and `model.push_to_hub` for them."""

import functools
import os
import shutil
import tempfile
from typing import Any

import torch.nn as nn


ARTIFACTS = ("README.md", "compression_config.json", "recipe.yaml", "report.json", "report.md", "report.png")
IGNORE_PATTERNS = ["teacher/*", "teacher/**", ".tmp-*", ".old-*", "**/.tmp-*", "checkpoint-*/**"]


def _check_directory(directory: str) -> str:
    directory = os.path.abspath(os.fspath(directory))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"{directory!r} is not a directory; pass a folder written by hf-compress or save_compressed"
        )
    if not os.path.isfile(os.path.join(directory, "config.json")):
        raise FileNotFoundError(f"{directory!r} has no config.json; it is not a saved model")
    return directory


def copy_artifacts(source: str, target: str) -> None:
    """Copy the card, configs, recipe and report files of `source` into `target` (those that exist)."""
    for name in ARTIFACTS:
        path = os.path.join(source, name)
        if os.path.isfile(path):
            shutil.copyfile(path, os.path.join(target, name))


def push_compressed(
    model_or_dir: nn.Module | str | os.PathLike,
    repo_id: str,
    token: str | None = None,
    private: bool | None = None,
    commit_message: str | None = None,
    revision: str | None = None,
    **kwargs: Any,
) -> str:
    """
    Upload a compressed model to the Hub: weights, `config.json` (with the hf_compress layouts),
    `compression_config.json`, the `README.md` model card, `recipe.yaml` and the report. The teacher copy that
    `hf-compress run` keeps under `teacher/` is not uploaded. The token is never logged or written anywhere.

    Args:
        model_or_dir (`nn.Module`, `str` or `os.PathLike`): a directory written by `hf-compress run` /
            `save_compressed`, or an in-memory compressed model (saved with `save_compressed` first).
        repo_id (`str`): `"user/name"`; created if missing.
        token (`str`, *optional*): Hub token (default: `HF_TOKEN` or the stored login).
        private (`bool`, *optional*): visibility of a newly created repo.
        commit_message (`str`, *optional*) / revision (`str`, *optional*): the commit's message and branch.

    Returns:
        `str`: the repo URL.
    """
    from huggingface_hub import HfApi

    kwargs.pop("max_shard_size", None)
    with tempfile.TemporaryDirectory(prefix="hf-compress-push-") as tmp:
        if isinstance(model_or_dir, nn.Module):
            from .serialization.save import save_compressed

            directory = save_compressed(model_or_dir, os.path.join(tmp, "model"))
            source = getattr(model_or_dir, "_hf_compress_artifacts", None)
            if source and os.path.isdir(source):
                for name in ARTIFACTS:
                    if not os.path.exists(os.path.join(directory, name)) and os.path.isfile(
                        os.path.join(source, name)
                    ):
                        shutil.copyfile(os.path.join(source, name), os.path.join(directory, name))
        else:
            directory = _check_directory(model_or_dir)
        api = HfApi(token=token)
        url = api.create_repo(repo_id, private=private, exist_ok=True)
        api.upload_folder(
            folder_path=directory,
            repo_id=repo_id,
            commit_message=commit_message or "Upload compressed model (hf-compress)",
            revision=revision,
            ignore_patterns=IGNORE_PATTERNS,
        )
    return str(url)


def attach_compressed_artifacts(model: nn.Module, directory: str | os.PathLike) -> nn.Module:
    """
    Make `model.save_pretrained` and `model.push_to_hub` write the same files `hf-compress push` uploads: the card,
    `compression_config.json`, `recipe.yaml` and report of `directory` travel with the weights. `run_recipe`
    calls this on the model it returns; call it after `load_compressed(directory)` too.

    Args:
        model (`nn.Module`): the compressed transformers model.
        directory (`str` or `os.PathLike`): the folder holding its card / configs / report.
    """
    directory = os.path.abspath(os.fspath(directory))
    original_save = getattr(model, "_hf_compress_original_save", None) or model.save_pretrained
    model._hf_compress_original_save = original_save
    model._hf_compress_artifacts = directory

    @functools.wraps(original_save)
    def save_pretrained(save_directory, *args, **kwargs):
        result = original_save(save_directory, *args, **kwargs)
        copy_artifacts(directory, os.fspath(save_directory))
        return result

    @functools.wraps(push_compressed)
    def push_to_hub(repo_id: str, commit_message: str | None = None, private: bool | None = None,
                    token: str | None = None, revision: str | None = None, **kwargs):  # fmt: skip
        return push_compressed(model, repo_id, token=token, private=private, commit_message=commit_message,
                               revision=revision)  # fmt: skip

    model.save_pretrained = save_pretrained
    model.push_to_hub = push_to_hub
    return model
