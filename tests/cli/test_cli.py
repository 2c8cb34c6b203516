"""`hf-compress`: non-zero exit and one clear line (no traceback) on user errors; subcommands wired."""

import os
import subprocess
import sys

import pytest
import yaml

from hf_compress.cli import main
from tests.recipes.conftest import BASE


@pytest.fixture
def recipe_file(tmp_path):
    data = dict(BASE, output_dir=str(tmp_path / "out"))
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--stages.0.pruning.target_sparsty", "0.5"], "stages[0].pruning.target_sparsty: unknown key"),
        (["--stages.3.training.max_steps", "1"], "--stages.3.training.max_steps: index 3 is out of range"),
        (["--training.learning_rate", "fast"], "--training.learning_rate: expected float"),
        (["--task", "translation"], "task: 'translation' is not allowed"),
        (["--seed"], "override --seed needs a value"),
        (["stray"], "unexpected argument 'stray'"),
    ],
)
def test_run_errors_exit_2_with_one_line(extra, fragment, recipe_file, tmp_path, capsys):
    assert main(["run", str(recipe_file), *extra]) == 2
    assert fragment in _error_line(capsys)
    assert not os.path.exists(tmp_path / "out")


def test_missing_recipe_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in _error_line(capsys)


def test_dry_run_validates_with_overrides(recipe_file, capsys):
    assert main(["run", str(recipe_file), "--dry-run", "--training.learning_rate=1e-4"]) == 0
    assert "is valid: 2 stage(s)" in capsys.readouterr().out


def test_report_and_push_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "has no config.json" in _error_line(capsys)
    assert main(["push", str(tmp_path / "missing"), "user/x"]) == 2
    assert "is not a directory" in _error_line(capsys)


def test_console_script_runs_reports_and_exports(recipe_file, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    script = os.path.join(os.path.dirname(sys.executable), "hf-compress")
    run = subprocess.run([script, "run", str(recipe_file), "--stages.1.training.max_steps", "1"], env=env,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "hf-compress: tiny (64 held-out examples)" in run.stdout and "FLOPs" in run.stdout
    out = str(tmp_path / "out")
    report = subprocess.run([script, "report", out, "--no-latency", "--plot", str(tmp_path / "sweep.png")], env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert report.returncode == 0, report.stderr[-3000:]
    assert "eval accuracy" in report.stdout and os.path.getsize(tmp_path / "sweep.png") > 1000
    bad = subprocess.run([script, "run", str(recipe_file), "--model.path", "/no/such/dir"], env=env,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "hf-compress run: error: model: set exactly one of 'path'" in bad.stderr
    help_ = subprocess.run([script, "export", "--help"], env=env, capture_output=True, text=True, timeout=600)
    assert help_.returncode == 0 and "--format" in help_.stdout
