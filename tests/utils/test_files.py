"""Atomic directory replacement leaves files with the permissions the umask gives, whatever wrote them."""

import os
import stat
import tempfile

from hf_compress.serialization import save_compressed
from hf_compress.utils.files import replace_directory
from tests.quantization.helpers import tiny_bert


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_owner_only_files_get_the_umask_permissions_when_the_directory_lands(tmp_path):
    staged = tempfile.mkdtemp(dir=tmp_path)
    os.makedirs(os.path.join(staged, "sub"))
    handle, private = tempfile.mkstemp(dir=os.path.join(staged, "sub"))
    os.close(handle)
    assert mode(private) == 0o600
    target = replace_directory(staged, tmp_path / "out")
    assert mode(os.path.join(target, "sub", os.path.basename(private))) == 0o666 & ~umask()
    assert mode(os.path.join(target, "sub")) == mode(target) == 0o777 & ~umask()


def test_a_saved_model_is_readable_as_its_config_is(tmp_path):
    path = save_compressed(tiny_bert(), tmp_path / "model", format="hf_compress")
    assert mode(os.path.join(path, "model.safetensors")) == mode(os.path.join(path, "config.json"))
    assert mode(os.path.join(path, "model.safetensors")) == 0o666 & ~umask()
