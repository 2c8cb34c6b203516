"""Low-bit embedding tables (`QuantizationConfig(embeddings=8|4)`): QAT, conversion, save / reload, tied tables."""

import json
import logging
import os
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from safetensors import safe_open
from transformers import LlamaConfig, LlamaForCausalLM

from hf_compress.quantization import (
    QATEmbedding,
    QuantizationCallback,
    QuantizationConfig,
    QuantizedEmbedding,
    dequantize_,
    prepare_qat,
    quantize_,
)
from hf_compress.quantization.convert import convert
from hf_compress.serialization import save_compressed

from .helpers import VOCAB, inputs, tiny_bert
from .test_callback import make_trainer
from .test_format import RELOAD


TABLES = ["bert.embeddings.word_embeddings", "bert.embeddings.position_embeddings",
          "bert.embeddings.token_type_embeddings"]  # fmt: skip


def tied_llama(tie: bool) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=tie)  # fmt: skip
    return LlamaForCausalLM(config).eval()


@pytest.mark.parametrize("bits", [8, 4])
def test_conversion_stores_what_qat_simulated_and_reloads_identically_in_a_fresh_process(tmp_path, bits):
    x = inputs()
    model = tiny_bert()
    prepare_qat(model, QuantizationConfig(embeddings=bits))
    assert all(isinstance(model.get_submodule(name), QATEmbedding) for name in TABLES)
    with torch.no_grad():
        simulated = model(**x).logits
    convert(model)
    assert all(isinstance(model.get_submodule(name), QuantizedEmbedding) for name in TABLES)
    with torch.no_grad():
        converted = model(**x).logits
    assert torch.equal(converted, simulated)
    # the row-wise lookup gives the whole table's dequantized rows, and every row keeps its own scale
    table = model.get_submodule(TABLES[0])
    ids = x["input_ids"].reshape(-1)
    assert torch.equal(table(x["input_ids"]).reshape(-1, table.embedding_dim), table.dequantized_weight()[ids])
    assert table.scale.shape == (VOCAB, 1) and table.scale.unique().numel() > VOCAB // 2

    save_compressed(model, tmp_path / "model", format="auto")
    layouts = json.load(open(tmp_path / "model" / "config.json"))["quantization_config"]["layouts"]
    assert sorted(layouts["quantized_embeddings"]["modules"]) == sorted(TABLES)
    with safe_open(str(tmp_path / "model" / "model.safetensors"), "pt") as f:
        stored = f.get_tensor(f"{TABLES[0]}.qweight")
        assert f"{TABLES[0]}.weight" not in f.keys()
    assert stored.dtype == (torch.int8 if bits == 8 else torch.uint8)
    assert stored.shape == (VOCAB, 32 if bits == 8 else 16)
    script = RELOAD.replace("__IDS__", str(x["input_ids"].tolist()))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path), "model"], capture_output=True, text=True,
                            env=env, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    from safetensors.torch import load_file

    reloaded = load_file(tmp_path / "reloaded.safetensors")
    assert torch.equal(reloaded["model.load_compressed"], converted)
    assert torch.equal(reloaded["model.from_pretrained"], converted)


def test_quantized_tables_make_the_saved_model_smaller_at_a_small_output_change(tmp_path):
    x = inputs()
    sizes, logits = {}, {}
    for name, embeddings in (("linear_only", None), ("int8_tables", 8), ("int4_tables", 4)):
        model = tiny_bert(hidden=64)
        quantize_(model, QuantizationConfig(mode="ptq", embeddings=embeddings))
        with torch.no_grad():
            logits[name] = model(**x).logits
        save_compressed(model, tmp_path / name, format="hf_compress")
        sizes[name] = os.path.getsize(tmp_path / name / "model.safetensors")
    assert sizes["int4_tables"] < sizes["int8_tables"] < sizes["linear_only"]
    # the tables hold (64 + 32 + 2) x 64 weights: fp32 -> int8 saves 3 bytes each, minus one fp32 scale per row (the
    # safetensors header, which names two tensors per table instead of one, takes a little of it back)
    assert sizes["linear_only"] - sizes["int8_tables"] >= 0.95 * (98 * 64 * 3 - 98 * 4)
    assert not torch.equal(logits["int8_tables"], logits["linear_only"])
    assert (logits["int8_tables"] - logits["linear_only"]).abs().max() < 0.02


def test_qat_trains_the_same_parameter_and_only_the_looked_up_rows():
    model = tiny_bert()
    original = model.bert.embeddings.word_embeddings.weight
    prepare_qat(model, QuantizationConfig(embeddings=8))
    table = model.bert.embeddings.word_embeddings
    assert table.weight is original
    ids = torch.tensor([[1, 2, 3, 0]])
    table(ids).sum().backward()
    touched = (table.weight.grad.abs().sum(-1) > 0).nonzero().flatten().tolist()
    assert touched == [1, 2, 3]  # row 0 is BERT's padding_idx: no gradient, as nn.Embedding
    # frozen observers: the same values from the stored per-row scales as from the rows' own
    before = table(ids)
    table.weight_observer.freeze(table.masked_weight())
    assert torch.equal(table(ids), before)


def test_qat_with_a_trainer_converts_the_tables_and_resumes_exactly(tmp_path):
    config = QuantizationConfig(bits=8, embeddings=8, start_step=1, freeze_observers_step=2)

    def run(output_dir, resume=None):
        model = tiny_bert()
        trainer = make_trainer(output_dir, model, [QuantizationCallback(config)], max_steps=6,
                               save_strategy="steps", save_steps=3)  # fmt: skip
        trainer.train(resume_from_checkpoint=resume)
        with torch.no_grad():
            return model, model(**inputs()).logits

    model, full = run(tmp_path / "full")
    assert all(isinstance(model.get_submodule(name), QuantizedEmbedding) for name in TABLES)
    state = json.load(open(tmp_path / "full" / "checkpoint-3" / "hf_compress_quantization.json"))
    assert len(state["attributes"]["observer_state"][TABLES[0]]["weight"]["scale"]) == VOCAB
    _, resumed = run(tmp_path / "full", resume=str(tmp_path / "full" / "checkpoint-3"))
    torch.testing.assert_close(resumed, full, rtol=0, atol=1e-6)


def test_tied_tables_stay_in_full_precision_with_a_warning_and_untied_ones_are_quantized(tmp_path, caplog):
    x = {"input_ids": inputs()["input_ids"]}
    tied = tied_llama(tie=True)
    with caplog.at_level(logging.WARNING, logger="hf_compress.quantization.prepare"):
        quantize_(tied, QuantizationConfig(mode="ptq", embeddings=8))
    assert type(tied.model.embed_tokens) is nn.Embedding
    assert tied.lm_head.weight is tied.model.embed_tokens.weight
    assert "'model.embed_tokens' in full precision: its weight is tied to ['lm_head']" in caplog.text

    untied = tied_llama(tie=False)
    quantize_(untied, QuantizationConfig(mode="ptq", embeddings=4))
    assert isinstance(untied.model.embed_tokens, QuantizedEmbedding)
    with torch.no_grad():
        expected = untied(**x).logits
    save_compressed(untied, tmp_path / "llama", format="auto")
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "llama").eval()
    with torch.no_grad():
        assert torch.equal(reloaded(**x).logits, expected)


def test_exclude_patterns_keep_tables_and_the_default_embed_pattern_does_not():
    model = tiny_bert()
    prepare_qat(model, QuantizationConfig(embeddings=8))  # default exclude holds "embed": tables are still taken
    assert isinstance(model.bert.embeddings.position_embeddings, QATEmbedding)
    model = tiny_bert()
    prepare_qat(model, QuantizationConfig(embeddings=8, exclude=["classifier", "position_embeddings"]))
    assert type(model.bert.embeddings.position_embeddings) is nn.Embedding
    assert isinstance(model.bert.embeddings.word_embeddings, QATEmbedding)
    model = tiny_bert()
    prepare_qat(model, QuantizationConfig())  # embeddings=None: tables untouched
    assert not any(isinstance(m, QATEmbedding) for m in model.modules())


def test_dequantize_gives_float_tables_with_the_same_outputs(tmp_path):
    x = inputs()
    model = tiny_bert()
    quantize_(model, QuantizationConfig(mode="ptq", embeddings=4))
    with torch.no_grad():
        expected = model(**x).logits
    dequantize_(model)
    assert type(model.bert.embeddings.word_embeddings) is nn.Embedding
    assert model.bert.embeddings.word_embeddings.padding_idx == 0
    with torch.no_grad():
        assert torch.equal(model(**x).logits, expected)


def test_tables_of_an_already_converted_model_are_quantized_alone():
    x = inputs()
    model = tiny_bert()
    quantize_(model, QuantizationConfig(mode="ptq"))
    with torch.no_grad():
        linear_only = model(**x).logits
    quantize_(model, QuantizationConfig(mode="ptq", embeddings=8))
    assert isinstance(model.bert.embeddings.word_embeddings, QuantizedEmbedding)
    with torch.no_grad():
        assert (model(**x).logits - linear_only).abs().max() < 0.01
    with pytest.raises(ValueError, match=r"embeddings=8, .* selects no nn.Linear module and no embedding table"):
        quantize_(model, QuantizationConfig(mode="ptq", embeddings=8))  # nothing left to quantize


def test_a_model_without_tables_says_so(caplog):
    model = nn.Sequential(nn.Linear(4, 4))
    with caplog.at_level(logging.WARNING, logger="hf_compress.quantization.prepare"):
        prepare_qat(model, QuantizationConfig(embeddings=8, exclude=[]))
    assert "QuantizationConfig.embeddings=8, but Sequential has no nn.Embedding table to quantize" in caplog.text
