"""
The pruning state written next to every checkpoint (`hf_compress_pruning.safetensors`): unit keep-masks, the score
method's accumulated statistics, and the schedule counters (in the safetensors metadata). With it,
`resume_from_checkpoint` continues pruning exactly, whether or not the Trainer restores callback attributes.
"""

import json
import os

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file


STATE_FILE = "hf_compress_pruning.safetensors"


def save_pruning_state(callback, directory: str) -> str:
    """
    Write `callback`'s masks, scores and counters to `directory/hf_compress_pruning.safetensors`.

    Args:
        callback (`PruningCallback`): a set-up callback.
        directory (`str`): the checkpoint directory (created if missing).

    Returns:
        `str`: the written path.
    """
    tensors = {f"keep.{name}": keep.to("cpu", torch.uint8).contiguous() for name, keep in callback.keeps.items()}
    tensors.update({k: v.detach().cpu().contiguous() for k, v in callback._method.state_tensors().items()})
    counters = {
        "last_event_step": callback.last_event_step,
        "current_amount": callback.current_amount,
        "events": callback.events,
    }
    path = os.path.join(directory, STATE_FILE)
    os.makedirs(directory, exist_ok=True)
    metadata = {"counters": json.dumps(counters), "config": callback.config.to_json_string()}
    save_file(tensors, path, metadata=metadata)
    return path


def load_pruning_state(callback, path: str) -> None:
    """
    Restore into a set-up `callback` what `save_pruning_state` wrote (keep-masks, scores, counters).

    Raises:
        ValueError: if the file has no mask for one of the callback's groups (another model or config).
    """
    with safe_open(path, framework="pt") as handle:
        counters = json.loads(handle.metadata()["counters"])
    tensors = load_file(path)
    device = next(iter(callback._params.values())).device
    for group in callback.groups:
        key = f"keep.{group.name}"
        if key not in tensors:
            raise ValueError(f"{path} has no mask for {group.name}: it was written for another model or config.")
        callback.keeps[group.name] = tensors[key].bool().to(device)
    callback._method.load_state_tensors({k: v.to(device) for k, v in tensors.items()})
    callback.last_event_step = counters["last_event_step"]
    callback.current_amount = counters["current_amount"]
    callback.events = counters["events"]
