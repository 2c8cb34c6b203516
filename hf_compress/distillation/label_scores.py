"""Hard-label gradients for pruning scores while distilling (`PruningConfig(score_loss="labels")`)."""

import torch

from ..pruning.callback import PruningCallback


def label_score_callbacks(callbacks: list, step: int) -> list[PruningCallback]:
    """
    The `PruningCallback`s among `callbacks` that score with the hard-label loss (`score_loss="labels"`) and want this
    step's gradients; every such callback is told that the trainer supplies them, so it never falls back to the
    distillation loss's gradients.
    """
    wanting = []
    for callback in callbacks:
        if isinstance(callback, PruningCallback) and callback.config.score_loss == "labels":
            callback.label_gradients_from_trainer = True
            if callback.wants_label_gradients(step):
                wanting.append(callback)
    return wanting


def feed_label_gradients(callbacks: list[PruningCallback], hard_loss: torch.Tensor) -> None:
    """
    Back-propagate `hard_loss` (the micro-batch's hard-label term, normalised like the training loss) to the
    parameters the `callbacks` score, keeping the graph for the training loss's own backward, and hand each callback
    its gradients. Parameters the loss does not reach get zeros.
    """
    parameters = {}
    for callback in callbacks:
        parameters.update(callback.scored_parameters())
    gradients = torch.autograd.grad(hard_loss, list(parameters.values()), retain_graph=True, allow_unused=True)
    by_name = {
        name: grad if grad is not None else torch.zeros_like(param)
        for (name, param), grad in zip(parameters.items(), gradients)
    }
    for callback in callbacks:
        callback.add_label_gradients({name: by_name[name] for name in callback.scored_parameters()})
