"""A tiny `transformers.Trainer` run for the pruning tests."""

import torch
from torch.utils.data import Dataset
from transformers import Trainer, TrainingArguments
from transformers.utils import logging as hf_logging


hf_logging.disable_progress_bar()


class RandomTextDataset(Dataset):
    """Random token sequences with a learnable label (parity of the first token)."""

    def __init__(self, size: int = 64, length: int = 8, vocab: int = 100, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(0, vocab, (size, length), generator=generator)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[index], "labels": self.ids[index, 0] % 2}


class RandomImageDataset(Dataset):
    """Random images with random labels (enough to produce gradients)."""

    def __init__(self, size: int = 32, image_size: int = 32, num_labels: int = 3, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        self.pixels = torch.randn(size, 3, image_size, image_size, generator=generator)
        self.labels = torch.randint(0, num_labels, (size,), generator=generator)

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"pixel_values": self.pixels[index], "labels": self.labels[index]}


def training_args(output_dir: str, max_steps: int = 50, **overrides) -> TrainingArguments:
    values = dict(
        output_dir=output_dir,
        max_steps=max_steps,
        per_device_train_batch_size=8,
        learning_rate=1e-2,
        weight_decay=0.01,
        optim="adamw_torch",
        lr_scheduler_type="constant",
        logging_steps=1000,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=0,
        data_seed=0,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    values.update(overrides)
    return TrainingArguments(**values)


def train(
    model, callbacks, output_dir: str, max_steps: int = 50, resume: str | None = None, dataset=None, **overrides
) -> Trainer:
    trainer = Trainer(
        model=model,
        args=training_args(output_dir, max_steps=max_steps, **overrides),
        train_dataset=dataset if dataset is not None else RandomTextDataset(),
        callbacks=callbacks if isinstance(callbacks, list) else [callbacks],
    )
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def find_callback(trainer: Trainer, cls: type):
    return next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, cls))
