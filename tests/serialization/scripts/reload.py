"""Reload saved compressed models in a fresh process and compare with the logits recorded before saving.

Usage: python reload.py CASE_DIR [CASE_DIR ...]; each CASE_DIR holds `model/` (the save), `expected.safetensors`
(inputs + logits) and `meta.json` ({"auto_class": ..., "shapes": {param: shape}}). Prints one JSON line per case.
With `--plain`, hf_compress is NOT imported: it tries plain transformers and reports the outcome.
"""

import json
import os
import sys

import torch
from safetensors.torch import load_file


os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)


def main() -> None:
    plain = "--plain" in sys.argv
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    top_level_registers = None
    if not plain:
        from transformers.quantizers.auto import AUTO_QUANTIZER_MAPPING

        import hf_compress  # noqa: F401

        # `import hf_compress` alone registers the quantizer once hf_compress/__init__ imports .serialization
        top_level_registers = "hf_compress" in AUTO_QUANTIZER_MAPPING
        import hf_compress.serialization as serialization
    for case in [a for a in sys.argv[1:] if not a.startswith("--")]:
        meta = json.load(open(os.path.join(case, "meta.json")))
        expected = load_file(os.path.join(case, "expected.safetensors"))
        inputs = {k.removeprefix("input."): v for k, v in expected.items() if k.startswith("input.")}
        auto_class = getattr(transformers, meta["auto_class"])
        result = {"case": os.path.basename(case), "top_level_registers": top_level_registers}
        try:
            model, info = auto_class.from_pretrained(os.path.join(case, "model"), output_loading_info=True)
        except Exception as err:  # reported to the test, which decides
            result["error"] = f"{type(err).__name__}: {err}"
            print(json.dumps(result), flush=True)
            continue
        result["loading_info"] = {k: sorted(map(str, v)) for k, v in info.items() if k != "error_msgs"}
        loaded = {"auto": model}
        if not plain:
            loaded["load_compressed"] = serialization.load_compressed(os.path.join(case, "model"))
        for name, mdl in loaded.items():
            mdl.eval()
            with torch.no_grad():
                logits = mdl(**inputs).logits
            result[f"{name}_max_diff"] = (logits - expected["logits"]).abs().max().item()
            shapes = {k: list(v.shape) for k, v in mdl.state_dict().items()}
            result[f"{name}_shapes_equal"] = shapes == meta["shapes"]
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
