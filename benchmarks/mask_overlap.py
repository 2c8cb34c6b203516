"""
Which heads and FFN neurons a distilled student and its labels-only twin kept: per transformer block, the units each
side kept and how many both kept. Trains nothing; reads the masked (not shrunk) students a suite run cached.

The at-once order prunes while training, ranking units by the gradients of the loss each side trains on, so the two
sides of a pair can end with different architectures; the orders that prune before training give both sides one.

Usage: python benchmarks/mask_overlap.py --run order_joint_depth80x3ep_ramp6 --seeds 0 1 [--labels-only-suffix
nokd_lr1e-4] [--cache benchmarks/cache/suite] [--output benchmarks/results/mask_overlap.json]
"""

import argparse
import json
import os
import sys

import torch
from transformers.utils import logging as hf_logging


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hf_compress.quantization.dequantize import dequantize_layers_  # noqa: E402
from hf_compress.serialization.load import load_compressed  # noqa: E402


def kept_units(path: str) -> dict[str, torch.Tensor]:
    """
    Per block, the heads (`heads.<i>`, rows of the query projection by head) and FFN neurons (`neurons.<i>`, rows of
    the intermediate projection) whose weights are not all zero, as boolean masks.
    """
    model = load_compressed(path)
    dequantize_layers_(model)
    heads = model.config.num_attention_heads
    kept = {}
    for index, block in enumerate(model.base_model.encoder.layer):
        query = block.attention.self.query.weight.detach()
        kept[f"heads.{index}"] = query.reshape(heads, -1).abs().sum(dim=1) != 0
        kept[f"neurons.{index}"] = block.intermediate.dense.weight.detach().abs().sum(dim=1) != 0
    return kept


def overlap(distilled: dict[str, torch.Tensor], labels_only: dict[str, torch.Tensor]) -> dict[str, dict[str, int]]:
    """Per unit group: kept by the distilled side, by the labels-only side, and by both."""
    if distilled.keys() != labels_only.keys():
        raise ValueError(f"the two students have different blocks: {sorted(distilled)} vs {sorted(labels_only)}.")
    return {
        name: {
            "distilled": int(distilled[name].sum()),
            "labels_only": int(labels_only[name].sum()),
            "both": int((distilled[name] & labels_only[name]).sum()),
        }
        for name in distilled
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="variant stem, e.g. order_joint_depth80x3ep_ramp6")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--labels-only-suffix", default="nokd_lr1e-4", help="the twin's key after the stem")
    parser.add_argument("--cache", default=os.path.join(REPO, "benchmarks", "cache", "suite"))
    parser.add_argument("--output", default=None, help="also write the table as JSON here")
    args = parser.parse_args()
    hf_logging.disable_progress_bar()
    results = {}
    for seed in args.seeds:
        paths = [os.path.join(args.cache, f"{args.run}_{side}_seed{seed}") for side in ("kd", args.labels_only_suffix)]
        missing = [path for path in paths if not os.path.isdir(path)]
        if missing:
            raise SystemExit(f"--run/--seeds: no cached student at {missing}; run the suite for that variant first.")
        results[seed] = overlap(kept_units(paths[0]), kept_units(paths[1]))
    print("| seed | group | kept with KD | kept labels only | kept by both |\n|---|---|---|---|---|")
    for seed, groups in results.items():
        for name, counts in groups.items():
            print(f"| {seed} | {name} | {counts['distilled']} | {counts['labels_only']} | {counts['both']} |")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            json.dump({"run": args.run, "labels_only": args.labels_only_suffix, "seeds": results}, handle, indent=1)


if __name__ == "__main__":
    main()
