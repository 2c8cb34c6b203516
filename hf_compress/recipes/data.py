"""Load a recipe's dataset (Hub id, local csv/tsv/json/parquet files, or the built-in scikit-learn digits) and split it."""

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class DataSplits:
    """
    The raw training and held-out splits plus what the model head needs to know.

    Args:
        train / eval (`datasets.Dataset`): the splits (eval is the held-out split the report uses).
        num_labels (`int`, *optional*): classes, for classification tasks. label_names (`list[str]`): their names.
        description (`str`): where the data came from and how it was split, for the model card.
    """

    train: Any
    eval: Any
    num_labels: int | None = None
    label_names: list[str] = field(default_factory=list)
    description: str = ""
    preprocessed: bool = False


def _digits(cfg: dict[str, Any], seed: int) -> DataSplits:
    """scikit-learn's 1,797 real 8x8 handwritten digits, as 1-channel `pixel_values` in [-1, 1]."""
    import torch
    from datasets import Dataset
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    size = cfg["image_size"] or 8
    if size != 8:
        images = torch.nn.functional.interpolate(images, size=size, mode="bilinear", align_corners=False)
    images = (images - 0.5) / 0.5
    order = np.random.default_rng(seed).permutation(len(images))
    cut = len(images) - int(round(cfg["test_size"] * len(images)))
    splits = [
        Dataset.from_dict({"pixel_values": images[idx].numpy(), "labels": digits.target[idx].tolist()})
        for idx in (order[:cut], order[cut:])
    ]
    description = (
        f"scikit-learn digits (1,797 real 8x8 images, {size}x{size} input), split {len(splits[0])} train / "
        f"{len(splits[1])} held-out (seed {seed})"
    )
    names = [str(i) for i in range(10)]
    return DataSplits(*splits, num_labels=10, label_names=names, description=description, preprocessed=True)


def _load_raw(cfg: dict[str, Any]):
    from datasets import load_dataset

    if cfg["data_files"] is not None:
        from .sources import file_format

        files = cfg["data_files"]
        fmt = file_format(next(iter(files.values())), cfg["format"], "dataset.data_files")
        kwargs = {"delimiter": "\t"} if fmt == "tsv" else {}
        return load_dataset("csv" if fmt == "tsv" else fmt, data_files=files, **kwargs)
    return load_dataset(cfg["name"], cfg["config"])


def _truncate(dataset, limit: int | None, seed: int):
    if limit is None or limit >= len(dataset):
        return dataset
    return dataset.shuffle(seed=seed).select(range(limit))


def _labels(train, column: str) -> tuple[int | None, list[str]]:
    feature = train.features.get(column)
    names = getattr(feature, "names", None)
    if names is None and hasattr(feature, "feature"):
        names = getattr(feature.feature, "names", None)
    if names:
        return len(names), list(names)
    values = train[column]
    flat = [v for row in values for v in row] if values and isinstance(values[0], list) else values
    unique = sorted(set(flat))
    return (max(unique) + 1 if unique and all(isinstance(v, int) for v in unique) else len(unique)), [
        str(v) for v in unique
    ]


def load_splits(cfg: dict[str, Any], task: str, seed: int) -> DataSplits:
    """
    Load the training and held-out splits described by a validated `dataset:` section.

    Args:
        cfg (`dict`): the dataset section. task (`str`): the recipe task. seed (`int`): split / sampling seed.
    """
    if cfg["name"] == "sklearn_digits":
        splits = _digits(cfg, seed)
    else:
        raw = _load_raw(cfg)
        if cfg["train_split"] not in raw:
            from .errors import RecipeError

            raise RecipeError("dataset.train_split", f"{cfg['train_split']!r} not in the dataset's splits {list(raw)}")
        train = raw[cfg["train_split"]]
        if cfg["eval_split"] is not None:
            if cfg["eval_split"] not in raw:
                from .errors import RecipeError

                raise RecipeError(
                    "dataset.eval_split", f"{cfg['eval_split']!r} not in the dataset's splits {list(raw)}"
                )
            held = raw[cfg["eval_split"]]
            how = f"split {cfg['eval_split']!r}"
        else:
            parts = train.train_test_split(test_size=cfg["test_size"], seed=seed)
            train, held = parts["train"], parts["test"]
            how = f"{cfg['test_size']:.0%} of {cfg['train_split']!r} held out (seed {seed})"
        source = cfg["name"] + (f"/{cfg['config']}" if cfg["config"] else "") if cfg["name"] else "local files"
        splits = DataSplits(train, held, description=f"{source}: {how}")
        if task != "causal-lm":
            splits.num_labels, splits.label_names = _labels(train, cfg["label_column"])
    splits.train = _truncate(splits.train, cfg["max_train_samples"], seed)
    splits.eval = _truncate(splits.eval, cfg["max_eval_samples"], seed)
    splits.description += f"; used {len(splits.train)} train / {len(splits.eval)} held-out examples"
    return splits
