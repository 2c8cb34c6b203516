"""`hf-compress export DIR --format onnx` (wire `add_export_parser` into the main CLI) / `python -m hf_compress.export`."""

import argparse
import json


def add_export_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `export` sub-command to an `argparse` sub-parsers object."""
    parser = subparsers.add_parser("export", help="Export a (compressed) model for fast CPU inference.")
    _add_arguments(parser)
    parser.set_defaults(func=run_export)
    return parser


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", help="Directory written by save_compressed / save_pretrained.")
    parser.add_argument("--format", default="onnx", choices=["onnx"], help="Export format.")
    parser.add_argument("--output-dir", default=None, help="Output directory (default: MODEL_DIR/onnx).")
    parser.add_argument("--quantize", default="int8", choices=["int8", "none"], help="ONNX Runtime int8 MatMuls.")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument(
        "--quantize-embeddings",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Store embedding tables as int8 (smaller file); default: when the model's own tables are quantized.",
    )
    parser.add_argument(
        "--fuse-attention",
        action="store_true",
        help="Fuse each attention block into ONNX Runtime's Attention op (BERT-type encoders; faster, ORT only).",
    )


def run_export(args: argparse.Namespace) -> dict:
    """Run the export described by parsed `args` and print the written paths as JSON."""
    import os

    from .onnx import export_onnx

    output_dir = args.output_dir or os.path.join(args.model_dir, "onnx")
    quantize = None if args.quantize == "none" else args.quantize
    result = export_onnx(
        args.model_dir,
        output_dir,
        quantize=quantize,
        opset=args.opset,
        quantize_embeddings=args.quantize_embeddings,
        fuse_attention=args.fuse_attention,
    )
    print(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m hf_compress.export", description="Export a compressed model.")
    _add_arguments(parser)
    return run_export(parser.parse_args(argv))
