"""Knowledge distillation: the loss terms, the frozen teacher and the `DistillationTrainer`."""
