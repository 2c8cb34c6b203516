"""Attention-head pruning: a head is a chunk of the Q/K/V output rows and of the output projection's inputs."""

import logging

import torch.nn as nn

from .base import PruneGroup, get_submodule, linear_slices


logger = logging.getLogger(__name__)

# (query, key, value, output) attribute names; output `None` means the sibling `<parent>.output.dense` (BERT, ViT)
_PROJECTION_NAMES = (
    ("q_proj", "k_proj", "v_proj", "o_proj"),  # Llama, Mistral, Qwen, OPT, ...
    ("query", "key", "value", None),  # BERT, RoBERTa, ViT, DeiT, ...
    ("q_lin", "k_lin", "v_lin", "out_lin"),  # DistilBERT
)
HEAD_COUNT_ATTRIBUTES = ("num_attention_heads", "num_heads", "n_heads", "num_key_value_heads")


def _head_dim(module: nn.Module) -> int | None:
    for attr in ("head_dim", "attention_head_size", "dim_per_head"):
        value = getattr(module, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    dim, heads = getattr(module, "dim", None), getattr(module, "n_heads", None)
    return dim // heads if isinstance(dim, int) and isinstance(heads, int) else None


def find_head_groups(model: nn.Module) -> list[PruneGroup]:
    """
    One group per attention block. With grouped-query attention a unit is one key/value head together with the
    query heads that read it, so the block stays valid after shrinking.

    Args:
        model (`nn.Module`): the model to scan.
    """
    groups = []
    for name, module in model.named_modules():
        for q_name, k_name, v_name, o_name in _PROJECTION_NAMES:
            projections = [getattr(module, attr, None) for attr in (q_name, k_name, v_name)]
            if not all(isinstance(p, nn.Linear) for p in projections):
                continue
            prefix = f"{name}." if name else ""
            if o_name is None:
                parent_name = name.rsplit(".", 1)[0] if "." in name else ""
                out_name = f"{parent_name}.output.dense" if parent_name else "output.dense"
            else:
                out_name = prefix + o_name
            out = get_submodule(model, out_name)
            head_dim = _head_dim(module)
            if not isinstance(out, nn.Linear) or head_dim is None:
                logger.info("heads pruning leaves %s alone: no output projection or head size found", name)
                break
            q, k, v = projections
            q_heads, kv_heads = q.out_features // head_dim, k.out_features // head_dim
            if kv_heads == 0 or q_heads % kv_heads or v.out_features != k.out_features:
                logger.info("heads pruning leaves %s alone: unexpected projection sizes", name)
                break
            names = [prefix + q_name, prefix + k_name, prefix + v_name]
            slices = []
            for proj_name, proj in zip(names, projections):
                slices += linear_slices(proj_name, proj, 0)
            slices += linear_slices(out_name, out, 1)
            attributes = [a for a in HEAD_COUNT_ATTRIBUTES if isinstance(getattr(module, a, None), int)]
            attributes += ["all_head_size"] if isinstance(getattr(module, "all_head_size", None), int) else []
            groups.append(
                PruneGroup(
                    name=name,
                    structure="heads",
                    num_units=kv_heads,
                    slices=slices,
                    modules=[name, *names, out_name],
                    attributes={name: attributes},
                )
            )
            break
    return groups
