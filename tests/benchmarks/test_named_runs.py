"""
The top-level report lists what only named runs measured, each line from its latest run of its teacher: the
full run's teacher first, then the others with their teacher named.
"""

import json

from benchmarks.suite.named_runs import named_run_targets, named_runs_markdown


def line(target, passed=True, measured="m"):
    return {"target": target, "passed": passed, "measured": measured}


def write_run(root, name, command, date, targets, fingerprint="abc", teacher_accuracy=0.8945):
    directory = root / name
    directory.mkdir(parents=True)
    settings = {} if fingerprint is None else {"teacher_fingerprint": fingerprint}
    run = {"command": command, "date": date, "settings": settings, "targets": targets,
           "teacher": {"accuracy": teacher_accuracy}}  # fmt: skip
    (directory / "suite_sst2.json").write_text(json.dumps(run))


def test_named_run_lines_are_gathered_once_from_their_latest_run_and_the_rest_left_out(tmp_path):
    root = tmp_path / "results"
    floor = ">= 80% FLOPs removed within 1.0 pt of the teacher (2 epochs + KD)"
    stretch = ">= 90% (stretch) FLOPs removed within 1.0 pt of the teacher (three stages + KD)"
    share = "distillation recovers >= half the gap: three stages"
    write_run(root, "three_kd", "python benchmarks/run_suite.py --variants three_kd", "2026-11-28 17:27 UTC",
              [line(floor), line(stretch, measured="first"), line("full run under 180 min")])  # fmt: skip
    write_run(root, "three_pair", "python benchmarks/run_suite.py --variants three_kd three_nokd",
              "2026-11-28 18:03 UTC", [line(stretch, measured="latest"), line(share, passed=False)])  # fmt: skip
    write_run(root, "other_teacher", "python benchmarks/run_suite.py --variants x", "2026-11-29 00:00 UTC",
              [line("from another teacher"), line(floor, passed=False)], fingerprint="zzz",
              teacher_accuracy=0.8899)  # fmt: skip
    write_run(root, "unfingerprinted", "python benchmarks/run_suite.py --variants y", "2026-11-29 00:00 UTC",
              [line("no fingerprint")], fingerprint=None)  # fmt: skip
    write_run(root, "quick", "python benchmarks/run_suite.py --quick --variants z", "2026-11-29 00:00 UTC",
              [line("quick numbers")])  # fmt: skip
    write_run(root, "side", "python benchmarks/run_suite.py --seeds 0", "2026-11-29 00:00 UTC", [line("side run")])
    payload = {"settings": {"teacher_fingerprint": "abc"}, "targets": [line(floor)]}

    lines = named_run_targets(str(root), payload)

    same = [x for x in lines if x["same_teacher"]]
    assert [x["target"] for x in same] == [stretch, share]  # the full run's own line and run-wide lines left out
    assert same[0]["measured"] == "latest" and same[0]["command"].endswith("three_kd three_nokd")
    assert same[1]["passed"] is False
    # another teacher's lines are kept apart, its floor line too: it measured a different model
    other = [x for x in lines if not x["same_teacher"]]
    assert sorted(x["target"] for x in other) == sorted([floor, "from another teacher"])
    assert {x["teacher"] for x in other} == {"zzz"} and other[0]["teacher_accuracy"] == 0.8899
    assert named_run_targets(str(root), {"settings": {}, "targets": []}) == []  # no teacher to match: nothing

    text = "\n".join(named_runs_markdown(lines, str(tmp_path)))
    same_section, other_section = text.split("## Targets measured by named runs with another teacher")
    assert f"| {share} | **FAIL** |" in same_section and "[report](results/three_pair/BENCHMARKS.md)" in same_section
    assert "zzz" not in same_section and "from another teacher" not in same_section
    assert f"| {floor} | **FAIL** | m | zzz (88.99%) | `python benchmarks/run_suite.py --variants x`" in other_section
    only_other = "\n".join(named_runs_markdown(other, str(tmp_path)))
    assert "same teacher)" not in only_other and "| zzz (88.99%) |" in only_other
    assert named_runs_markdown([], str(tmp_path)) == []
