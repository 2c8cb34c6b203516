"""Two-rank CPU run (torchrun / accelerate launch): each rank trains with PruningCallback and dumps its masks.

The third callback prunes a student distilled with `DistillationTrainer`, scored with the hard-label loss.

Usage: torchrun --nproc_per_node 2 --master_port PORT ddp_masks.py OUT_DIR
"""

import os
import sys

import torch
import torch.distributed as dist
from safetensors.torch import save_file


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)

from hf_compress.distillation.config import DistillationConfig  # noqa: E402
from hf_compress.distillation.trainer import DistillationTrainer  # noqa: E402
from hf_compress.pruning.callback import PruningCallback  # noqa: E402
from hf_compress.pruning.config import PruningConfig  # noqa: E402
from hf_compress.pruning.masks import all_reduce_mean, broadcast_masks  # noqa: E402
from tests.pruning.helpers import RandomTextDataset, train, training_args  # noqa: E402
from tests.pruning.tiny_models import tiny_bert  # noqa: E402


def heads_and_neurons(**overrides) -> PruningConfig:
    """Masked (not shrunk) heads + neurons to -40% FLOPs on a cubic schedule with events every 3 steps."""
    values = dict(structure="heads+neurons", target_flops_reduction=0.4, schedule="cubic", frequency=3,
                  sequence_length=16, shrink=False)  # fmt: skip
    return PruningConfig(**{**values, **overrides})


def distil_with_label_scores(output_dir: str) -> PruningCallback:
    """Distil a tiny student while Taylor-scoring heads and neurons with the hard-label loss (`score_loss="labels"`)."""
    callback = PruningCallback(heads_and_neurons(method="taylor", end_step=6, score_loss="labels"))
    trainer = DistillationTrainer(
        model=tiny_bert(seed=1),
        teacher_model=tiny_bert(seed=2, num_hidden_layers=3),
        distillation_config=DistillationConfig(alpha=0.5, hidden_loss_weight=1.0),
        args=training_args(output_dir, max_steps=8, per_device_train_batch_size=4),
        train_dataset=RandomTextDataset(),
        callbacks=[callback],
    )
    trainer.train()
    return callback


def main(out_dir: str) -> None:
    rank = int(os.environ["RANK"])
    callbacks = [
        PruningCallback(
            PruningConfig(
                method="movement",
                structure="unstructured",
                target_sparsity=0.6,
                schedule="cubic",
                frequency=3,
                end_step=9,
            )
        ),
        PruningCallback(
            heads_and_neurons(method="movement", end_step=9, exclude=[r"intermediate"] + PruningConfig().exclude)
        ),
    ]
    model = tiny_bert(seed=0)
    train(model, callbacks, os.path.join(out_dir, "run"), max_steps=12, per_device_train_batch_size=4)
    assert dist.is_initialized() and dist.get_world_size() == 2
    callbacks.append(distil_with_label_scores(os.path.join(out_dir, "distil")))
    tensors = {}
    for index, callback in enumerate(callbacks):
        for name, keep in callback.keeps.items():
            tensors[f"cb{index}.{name}"] = keep.to(torch.uint8).contiguous()
    for name, param in model.named_parameters():
        tensors[f"param.{name}"] = param.detach().contiguous()
    # the primitives themselves, on deliberately rank-dependent inputs
    tensors["reduced"] = all_reduce_mean({"x": torch.full((3,), float(rank))})["x"]
    tensors["broadcast"] = broadcast_masks({"m": torch.tensor([rank == 0, rank == 1, True])})["m"].to(torch.uint8)
    save_file(tensors, os.path.join(out_dir, f"rank{rank}.safetensors"))
    # tear gloo down before interpreter exit: its background threads otherwise abort the process now and then
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
