"""
Distill a small BERT teacher into a narrower student with `DistillationTrainer`, on one or several processes.

    # one process
    python examples/distributed_distillation.py --output_dir /tmp/distill
    # two CPU ranks (gloo) on one machine
    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 --main_process_port 29555 \
        examples/distributed_distillation.py --output_dir /tmp/distill

With `--int8 true` the student also trains in int8 (QAT, embedding tables included) and is saved converted.
Every rank writes `rank<k>_state.json` (a SHA-256 of its trained student's weights) so a test can check that all
ranks hold the same student and that the saved one is that student.
"""

import hashlib
import json
import os
from dataclasses import dataclass, field

import torch
from datasets import Dataset
from transformers import BertConfig, BertForSequenceClassification, HfArgumentParser, TrainingArguments

from hf_compress import DistillationConfig, DistillationTrainer, QuantizationCallback, QuantizationConfig


@dataclass
class ExampleArguments:
    num_examples: int = field(default=64, metadata={"help": "Synthetic training examples."})
    sequence_length: int = field(default=12, metadata={"help": "Tokens per example."})
    int8: bool = field(default=False, metadata={"help": "Also train in int8 (QAT), embedding tables included."})


def state_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().float().numpy().tobytes())
    return digest.hexdigest()


def tiny_bert(layers: int, hidden: int, seed: int) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=100,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
        num_labels=2,
    )
    return BertForSequenceClassification(config)


def synthetic_dataset(num_examples: int, length: int) -> Dataset:
    """Label = whether token 7 occurs in the sequence: learnable, deterministic, no download."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 100, (num_examples, length), generator=generator)
    labels = (ids == 7).any(dim=1).long()
    return Dataset.from_dict({"input_ids": ids.tolist(), "labels": labels.tolist()})


def main():
    parser = HfArgumentParser((ExampleArguments, TrainingArguments))
    example_args, training_args = parser.parse_args_into_dataclasses()
    teacher = tiny_bert(layers=2, hidden=32, seed=0)
    student = tiny_bert(layers=1, hidden=16, seed=1)
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher,
        distillation_config=DistillationConfig(alpha=0.5, temperature=2.0, hidden_loss_weight=0.1),
        args=training_args,
        train_dataset=synthetic_dataset(example_args.num_examples, example_args.sequence_length),
        callbacks=[QuantizationCallback(QuantizationConfig(bits=8, embeddings=8))] if example_args.int8 else None,
    )
    trainer.train()
    trainer.save_model(training_args.output_dir)
    rank = training_args.process_index
    record = {"rank": rank, "world_size": training_args.world_size, "digest": state_digest(trainer.model)}
    with open(os.path.join(training_args.output_dir, f"rank{rank}_state.json"), "w") as handle:
        json.dump(record, handle)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()  # a clean gloo teardown; exiting without it can abort a rank


if __name__ == "__main__":
    main()
