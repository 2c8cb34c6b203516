"""
A user's existing `transformers.Trainer` script (fine-tuning an image classifier on scikit-learn's digits), made to
prune, quantize and distill with hf_compress by THREE changed lines, marked `# <- hf-compress (k/3)`:
the trainer class (with the teacher) and two callbacks.

    hf-compress run recipes/quickstart.yaml            # gives a fine-tuned digits ViT in outputs/quickstart/teacher
    python examples/trainer_script.py --model outputs/quickstart/teacher --output-dir outputs/trainer-script
"""

import argparse

import numpy as np
import torch
from datasets import Dataset
from sklearn.datasets import load_digits
from transformers import AutoModelForImageClassification, Trainer, TrainingArguments  # noqa: F401

from hf_compress import DistillationTrainer
from hf_compress.pruning import PruningCallback
from hf_compress.quantization import QuantizationCallback


def digits(seed: int = 0):
    data = load_digits()
    images = (torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0 - 0.5) / 0.5
    order = np.random.default_rng(seed).permutation(len(images))
    cut = len(images) - int(round(0.2 * len(images)))
    return [
        Dataset.from_dict({"pixel_values": images[idx].numpy(), "labels": data.target[idx].tolist()}).with_format(
            "torch"
        )
        for idx in (order[:cut], order[cut:])
    ]


def accuracy(eval_pred):
    return {"accuracy": float((np.argmax(eval_pred.predictions, -1) == eval_pred.label_ids).mean())}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="a fine-tuned digits classifier (1x8x8 inputs)")
    parser.add_argument("--output-dir", default="outputs/trainer-script")
    parser.add_argument("--epochs", type=float, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, held_out = digits()
    model = AutoModelForImageClassification.from_pretrained(args.model)
    training_args = TrainingArguments(
        args.output_dir, num_train_epochs=args.epochs, per_device_train_batch_size=64, learning_rate=5e-4,
        report_to="none", save_strategy="no", use_cpu=True, logging_steps=50,
    )  # fmt: skip
    trainer = DistillationTrainer(teacher_model=args.model,  # <- hf-compress (1/3): was `trainer = Trainer(`
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=held_out,
        compute_metrics=accuracy,
        callbacks=[
            PruningCallback(structure="unstructured", target_sparsity=0.5, end_step=100, frequency=10),  # <- hf-compress (2/3)
            QuantizationCallback({"bits": 8}),  # <- hf-compress (3/3)
        ],
    )  # fmt: skip
    trainer.train()
    print(trainer.evaluate())
    trainer.save_model(args.output_dir)


if __name__ == "__main__":
    main()
