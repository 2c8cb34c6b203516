"""
Compress a fine-tuned model with no training at all: one-shot structured pruning (attention heads + FFN neurons,
ranked by first-order Taylor importance on a few labelled batches, physically removed), then `refit_to_teacher_`
re-solves the layers that lost inputs so that they reproduce the unpruned model's, then int8 weights. Seconds on a
CPU; the result saves and reloads like any compressed model.

    hf-compress run recipes/quickstart.yaml      # leaves a fine-tuned digits ViT in outputs/quickstart/teacher
    python examples/prune_without_training.py --model outputs/quickstart/teacher --output-dir outputs/no-training
"""

import argparse
import copy
import json
import os
import sys

import torch
from torch.utils.data import DataLoader, Subset
from transformers import AutoModelForImageClassification


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from trainer_script import digits  # noqa: E402

from hf_compress import PruningConfig, QuantizationConfig, prune_, quantize_, refit_to_teacher_, save_compressed  # noqa: E402


@torch.no_grad()
def accuracy(model, dataset) -> float:
    model.eval()
    correct = 0
    for batch in DataLoader(dataset, batch_size=128):
        labels = batch.pop("labels")
        correct += (model(**batch).logits.argmax(-1) == labels).sum().item()
    return correct / len(dataset)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a fine-tuned digits classifier (1x8x8 inputs)")
    parser.add_argument("--output-dir", default="outputs/no-training")
    parser.add_argument("--flops", type=float, default=0.5, help="fraction of the forward FLOPs to remove")
    parser.add_argument("--calibration-rows", type=int, default=512, help="training rows for the scores and refit")
    parser.add_argument("--damping", type=float, default=0.1, help="refit_to_teacher_'s ridge strength")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train, held_out = digits()
    teacher = AutoModelForImageClassification.from_pretrained(args.model).eval()
    image_size = teacher.config.image_size
    calibration = DataLoader(Subset(train, range(min(len(train), args.calibration_rows))), batch_size=64)

    student = copy.deepcopy(teacher)
    pruning = PruningConfig(structure="heads+neurons", method="taylor", target_flops_reduction=args.flops,
                            image_size=image_size)  # fmt: skip
    prune_(student, pruning, calibration_data=calibration)
    scores = {"teacher": accuracy(teacher, held_out), "pruned": accuracy(student, held_out)}
    refit_to_teacher_(student, teacher, calibration, damping=args.damping)
    scores["refit"] = accuracy(student, held_out)
    quantize_(student, QuantizationConfig(mode="ptq", bits=8))
    scores["refit_int8"] = accuracy(student, held_out)
    save_compressed(student, args.output_dir)
    print(json.dumps(scores))
    return scores


if __name__ == "__main__":
    main()
