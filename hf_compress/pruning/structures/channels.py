"""Conv-channel pruning: a channel is an output channel of a conv (with its norm) and the next conv's input."""

import logging

import torch.nn as nn

from .base import ParamSlice, PruneGroup, linear_slices


logger = logging.getLogger(__name__)

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _plain_conv(module: nn.Module) -> bool:
    return isinstance(module, _CONVS) and module.groups == 1


def _group(
    name: str, producer: tuple[str, nn.Module], norm: tuple[str, nn.Module] | None, consumer: tuple[str, nn.Module]
):
    slices = linear_slices(producer[0], producer[1], 0)
    modules = [producer[0]]
    if norm is not None and norm[1].affine:
        slices += [ParamSlice(norm[0], "weight", 0), ParamSlice(norm[0], "bias", 0)]
    if norm is not None:
        modules.append(norm[0])
    slices += linear_slices(consumer[0], consumer[1], 1)
    modules.append(consumer[0])
    return PruneGroup(
        name=name,
        structure="channels",
        num_units=producer[1].out_channels if isinstance(producer[1], _CONVS) else producer[1].out_features,
        slices=slices,
        modules=modules,
    )


def _sequential_chains(name: str, seq: nn.Sequential) -> list[PruneGroup]:
    """conv -> [batchnorm] -> parameter-free modules -> conv, inside one `nn.Sequential`."""
    prefix = f"{name}." if name else ""
    children = list(seq.named_children())
    groups = []
    for i, (child_name, child) in enumerate(children):
        if not _plain_conv(child):
            continue
        norm = None
        for next_name, nxt in children[i + 1 :]:
            if isinstance(nxt, _NORMS) and norm is None and nxt.num_features == child.out_channels:
                norm = (prefix + next_name, nxt)
            elif _plain_conv(nxt) and nxt.in_channels == child.out_channels:
                groups.append(
                    _group(prefix + child_name, (prefix + child_name, child), norm, (prefix + next_name, nxt))
                )
                break
            elif any(True for _ in nxt.parameters()):
                break
    return groups


def _resnet_chains(name: str, seq: nn.Sequential) -> list[PruneGroup]:
    """transformers' ResNet blocks: `layer` is a Sequential of conv layers, each with `.convolution` + `.normalization`."""
    prefix = f"{name}." if name else ""
    groups = []
    items = list(seq.named_children())
    for (a_name, a), (b_name, b) in zip(items, items[1:]):
        conv_a, conv_b = getattr(a, "convolution", None), getattr(b, "convolution", None)
        norm_a = getattr(a, "normalization", None)
        if not (_plain_conv(conv_a) and _plain_conv(conv_b) and conv_b.in_channels == conv_a.out_channels):
            continue
        norm = (f"{prefix}{a_name}.normalization", norm_a) if isinstance(norm_a, _NORMS) else None
        if norm_a is not None and norm is None:
            logger.info("channels pruning leaves %s%s alone: unsupported normalization", prefix, a_name)
            continue
        conv_a_name = f"{prefix}{a_name}.convolution"
        groups.append(_group(conv_a_name, (conv_a_name, conv_a), norm, (f"{prefix}{b_name}.convolution", conv_b)))
    return groups


def find_channel_groups(model: nn.Module) -> list[PruneGroup]:
    """
    Groups of conv output channels whose consumers are known exactly: chains inside `nn.Sequential` containers,
    transformers' ResNet bottleneck / basic blocks, and ConvNeXt's point-wise (`pwconv1` -> `pwconv2`) expansion.
    Channels feeding a residual sum are never pruned.

    Args:
        model (`nn.Module`): the model to scan.
    """
    groups = []
    for name, module in model.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(module, nn.Sequential):
            first = next(iter(module.children()), None)
            if first is not None and hasattr(first, "convolution"):
                groups += _resnet_chains(name, module)
            else:
                groups += _sequential_chains(name, module)
        pw1, pw2 = getattr(module, "pwconv1", None), getattr(module, "pwconv2", None)
        if isinstance(pw1, nn.Linear) and isinstance(pw2, nn.Linear) and pw2.in_features == pw1.out_features:
            if getattr(module, "grn", None) is not None:
                logger.info("channels pruning leaves %s alone: GRN normalizes across channels", name)
                continue
            groups.append(_group(prefix + "pwconv1", (prefix + "pwconv1", pw1), None, (prefix + "pwconv2", pw2)))
    return groups
