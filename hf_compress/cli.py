"""
`hf-compress`: run a recipe, report on a compressed model, export it to ONNX, push it to the Hub.

    hf-compress run RECIPE.yaml [--stages.0.training.max_steps 10] [--training.learning_rate 3e-4] ...
    hf-compress report DIR [DIR ...] [--teacher DIR]
    hf-compress export DIR --format onnx
    hf-compress push DIR REPO_ID [--private] [--token TOKEN]

User errors (bad recipe, missing files, bad arguments) exit with status 2 and one line on stderr, no traceback.
"""

import argparse
import os
import sys

from .version import __version__


USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, PermissionError, KeyError, OSError)


def _overrides(extra: list[str]) -> list[tuple[str, str]]:
    """`["--a.b", "1", "--c=2"]` -> `[("a.b", "1"), ("c", "2")]`; a flag without a value is an error."""
    pairs, i = [], 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or token == "--":
            raise ValueError(f"unexpected argument {token!r}; overrides look like --key.sub value")
        if "=" in token:
            key, value = token[2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(extra) or (extra[i + 1].startswith("--") and not _is_number(extra[i + 1])):
                raise ValueError(f"override {token} needs a value, e.g. {token} 10")
            key, value = token[2:], extra[i + 1]
            i += 2
        pairs.append((key, value))
    return pairs


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _run(args, extra: list[str]) -> int:
    from .recipes import load_recipe, run_recipe
    from .reporting.summary import summary_text

    recipe = load_recipe(args.recipe, _overrides(extra))
    if args.dry_run:
        print(f"recipe {args.recipe} is valid: {len(recipe.stages)} stage(s), output_dir {recipe.output_dir}")
        return 0
    result = run_recipe(recipe)
    print(
        summary_text(result.report, f"hf-compress: {recipe.name} ({result.report['eval_examples']} held-out examples)")
    )
    return 0


def _report(args, extra: list[str]) -> int:
    from .reporting.command import report_command

    if extra:
        raise ValueError(f"unexpected arguments {extra}")
    print(report_command(args.dirs, teacher=args.teacher, latency=not args.no_latency, plot=args.plot))
    return 0


def _push(args, extra: list[str]) -> int:
    from .hub import push_compressed

    if extra:
        raise ValueError(f"unexpected arguments {extra}")
    url = push_compressed(args.dir, args.repo_id, token=args.token, private=args.private or None)
    print(f"pushed {args.dir} to {url}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `hf-compress` argument parser (subcommands run, report, export, push)."""
    from .export.cli import add_export_parser

    parser = argparse.ArgumentParser(prog="hf-compress", description="Prune, quantize and distill HF models.")
    parser.add_argument("--version", action="version", version=f"hf-compress {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a YAML recipe; any --key.sub value overrides the recipe")
    run.add_argument("recipe", help="the recipe file, e.g. recipes/quickstart.yaml")
    run.add_argument("--dry-run", action="store_true", help="only validate the recipe and the overrides")
    run.set_defaults(handler=_run)
    report = sub.add_parser("report", help="report on compressed model directories (teacher side by side)")
    report.add_argument("dirs", nargs="+", help="directories written by `hf-compress run` or save_compressed")
    report.add_argument("--teacher", help="the teacher directory (default: DIR/teacher when present)")
    report.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    report.add_argument("--plot", help="PNG path for accuracy vs FLOPs when several DIRs are given")
    report.set_defaults(handler=_report)
    add_export_parser(sub)
    push = sub.add_parser("push", help="upload a compressed model directory to the Hub")
    push.add_argument("dir")
    push.add_argument("repo_id")
    push.add_argument("--private", action="store_true")
    push.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN / the stored login)")
    push.set_defaults(handler=_push)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hf-compress` console script. Returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    if args.command != "run" and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    handler = getattr(args, "handler", None)
    try:
        if handler is None:  # `export`, registered by hf_compress.export.cli with its own `func`
            args.func(args)
            return 0
        return int(handler(args, extra) or 0)
    except KeyboardInterrupt:
        print("hf-compress: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"hf-compress {args.command}: error: {_redact(message)}", file=sys.stderr)
        return 2


def _redact(text: str) -> str:
    """Never print a token: mask anything that looks like one (and the current HF_TOKEN)."""
    import re

    token = os.environ.get("HF_TOKEN")
    if token:
        text = text.replace(token, "***")
    return re.sub(r"hf_[A-Za-z0-9]{8,}", "hf_***", text)


if __name__ == "__main__":
    sys.exit(main())
