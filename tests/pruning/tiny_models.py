"""Tiny random transformers models for the pruning / analysis / serialization tests (offline, seconds on CPU)."""

import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    ConvNextConfig,
    ConvNextForImageClassification,
    LlamaConfig,
    LlamaForCausalLM,
    ResNetConfig,
    ResNetForImageClassification,
    ViTConfig,
    ViTForImageClassification,
)


def tiny_bert(seed: int = 0, **overrides) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    config = dict(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    config.update(overrides)
    return randomize_biases(BertForSequenceClassification(BertConfig(**config)))


def tiny_vit(seed: int = 0) -> ViTForImageClassification:
    torch.manual_seed(seed)
    config = ViTConfig(
        image_size=16,
        patch_size=4,
        num_channels=3,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        num_labels=3,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return randomize_biases(ViTForImageClassification(config))


def tiny_llama(seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=100,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=False,
    )
    return LlamaForCausalLM(config)


def tiny_resnet(seed: int = 0) -> ResNetForImageClassification:
    torch.manual_seed(seed)
    config = ResNetConfig(
        num_channels=3,
        embedding_size=8,
        hidden_sizes=[16, 32],
        depths=[1, 1],
        layer_type="bottleneck",
        num_labels=3,
        image_size=32,
    )
    model = ResNetForImageClassification(config)
    _randomize_batchnorm(model)
    return model


def tiny_convnext(seed: int = 0) -> ConvNextForImageClassification:
    torch.manual_seed(seed)
    config = ConvNextConfig(
        num_channels=3, num_stages=2, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3, image_size=32, patch_size=4
    )
    return randomize_biases(ConvNextForImageClassification(config))


def randomize_biases(model: torch.nn.Module) -> torch.nn.Module:
    """transformers initializes biases to zero; random ones make shrinking and masking bugs visible."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.uniform_(-0.1, 0.1)
    return model


def _randomize_batchnorm(model: torch.nn.Module) -> None:
    """Non-trivial BN statistics so that shrinking bugs change the logits."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)


def text_batch(batch_size: int = 2, length: int = 8, vocab: int = 100, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {"input_ids": torch.randint(0, vocab, (batch_size, length), generator=generator)}


def labelled_batches(count: int = 4, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """`count` text batches of 8 x 16 tokens with random binary labels: calibration data for gradient scores."""
    generator = torch.Generator().manual_seed(seed)
    return [
        {
            **text_batch(batch_size=8, length=16, seed=seed + i),
            "labels": torch.randint(0, 2, (8,), generator=generator),
        }
        for i in range(count)
    ]


def image_batch(batch_size: int = 2, size: int = 16, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {"pixel_values": torch.randn(batch_size, 3, size, size, generator=generator)}


BUILDERS = {"bert": tiny_bert, "vit": tiny_vit, "llama": tiny_llama, "resnet": tiny_resnet, "convnext": tiny_convnext}


def batch_for(kind: str) -> dict[str, torch.Tensor]:
    if kind in ("bert", "llama"):
        return text_batch()
    return image_batch(size=32 if kind in ("resnet", "convnext") else 16)
