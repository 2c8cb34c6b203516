import json
import math
import os

import pytest
from scipy import stats

from benchmarks.kd_share_uncertainty import (
    REPO,
    collect,
    kd_margin,
    markdown,
    paired_margin,
    pooled_across_teachers,
    pooled_markdown,
)


def row(key: str, accuracies: list[float], distill: bool, seeds: list[int] | None = None) -> dict:
    return {"key": key, "accuracies": accuracies, "accuracy_mean": sum(accuracies) / len(accuracies),
            "distill": distill, "seeds": list(range(len(accuracies))) if seeds is None else seeds}  # fmt: skip


def test_margin_is_the_distance_of_the_distilled_mean_from_the_midpoint_with_its_standard_error():
    kd, nokd = row("a_kd", [0.90, 0.91, 0.92], True), row("a_nokd", [0.86, 0.87, 0.88], False)
    check = kd_margin(kd, nokd, teacher_accuracy=0.92)
    assert check["gap"] == pytest.approx(5.0) and check["recovered"] == pytest.approx(4.0)
    assert check["share"] == pytest.approx(0.8) and check["margin"] == pytest.approx(1.5)
    # each side's sample variance is 1 pt^2 over 3 seeds; the labels-only mean enters the midpoint at half weight
    assert check["standard_error"] == pytest.approx(math.sqrt(1 / 3 + 1 / 12))
    assert check["z"] == pytest.approx(1.5 / math.sqrt(5 / 12)) and check["resolved"]
    assert check["seeds_to_resolve"] is None


def test_a_margin_inside_two_standard_errors_says_how_many_seeds_would_resolve_it():
    kd, nokd = row("a_kd", [0.880, 0.890, 0.900], True), row("a_nokd", [0.870, 0.880, 0.890], False)
    check = kd_margin(kd, nokd, teacher_accuracy=0.91)
    assert check["margin"] == pytest.approx(-0.5) and not check["resolved"]
    # per-seed variances 1 and 1 (at a quarter's weight): 2 * sqrt(1.25 / n) <= 0.5 needs n >= 20
    assert check["seeds_to_resolve"] == 20


def test_a_side_with_one_seed_gives_the_margin_without_a_standard_error_and_the_table_says_so():
    kd, nokd = row("a_kd", [0.880, 0.890, 0.900], True), row("a_nokd", [0.88], False)
    check = kd_margin(kd, nokd, teacher_accuracy=0.90)
    assert check["gap"] == pytest.approx(2.0) and check["margin"] == pytest.approx(0.0)
    assert check["standard_error"] is None and check["z"] is None and not check["resolved"]
    line = {"kd": "a_kd", "labels_only": "a_nokd", "seeds": [3, 1], "teacher_accuracy": 0.90, **check}
    assert any(text.startswith("| a_kd | a_nokd | 3/1 | 2.00 | +1.00 | 50% | +0.00 (one seed) | - | PASS, within noise |")
               for text in markdown({"t": [line]}))  # fmt: skip


def write_run(path, command: str, date: str, teacher: str, kd_accuracies: list[float], teacher_accuracy=0.90) -> None:
    path.mkdir(parents=True, exist_ok=True)
    rows = [row("v_kd", kd_accuracies, True), row("v_nokd", [0.85, 0.86, 0.87], False),
            row("v_nokd_lr1e-4", [0.86, 0.87, 0.88], False), row("w_kd", [0.88, 0.89], True)]  # fmt: skip
    run = {"command": command, "date": date, "settings": {"teacher_fingerprint": teacher},
           "teacher": {"accuracy": teacher_accuracy}, "rows": rows}  # fmt: skip
    (path / "suite_sst2.json").write_text(json.dumps(run))


def test_collect_takes_the_latest_run_per_teacher_against_the_stronger_twin_and_skips_quick_runs(tmp_path):
    write_run(tmp_path / "old", "run_suite.py --variants v_kd", "2026-01-01", "t1", [0.80, 0.81, 0.82])
    write_run(tmp_path / "new", "run_suite.py --variants v_kd", "2026-02-01", "t1", [0.88, 0.89, 0.90])
    write_run(tmp_path / "quick", "run_suite.py --quick", "2026-03-01", "t1", [0.50, 0.51, 0.52])
    write_run(tmp_path / "other", "run_suite.py --variants v_kd", "2026-01-01", "t2", [0.86, 0.87, 0.88])
    grouped = collect(str(tmp_path))
    assert sorted(grouped) == ["t1", "t2"]
    (line,) = grouped["t1"]  # w_kd has no labels-only twin
    assert line["kd"] == "v_kd" and line["labels_only"] == "v_nokd_lr1e-4" and line["date"] == "2026-02-01"
    assert line["recovered"] == pytest.approx(2.0) and line["margin"] == pytest.approx(0.5)
    (other,) = grouped["t2"]
    assert other["recovered"] == pytest.approx(0.0)
    table = markdown(grouped)
    assert any(text.startswith("| v_kd | v_nokd_lr1e-4 | 3/3 | 3.00 | +2.00 | 67% | +0.50 +/- ") for text in table)
    assert any(text.startswith("| v_kd |") and "| FAIL, " in text for text in table)
    # paired: margins 0, 0.5 and 1.0 points, t = sqrt(3), p = 1 - t / sqrt(t^2 + 2) with 2 degrees of freedom;
    # sqrt(n) first reaches Student's 97.5% point at n = 7 (2.65 >= 2.447; n = 6 gives 2.45 < 2.571)
    assert line["t"] == pytest.approx(math.sqrt(3)) and line["p"] == pytest.approx(1 - math.sqrt(3 / 5))
    assert any("| +1.7 (0.225) | PASS, within noise (~7 seeds to resolve) |" in text for text in table)


def test_paired_margin_tests_the_seeds_own_margins_with_student_t():
    kd, nokd = row("a_kd", [0.90, 0.91, 0.92], True), row("a_nokd", [0.86, 0.87, 0.88], False)
    check = paired_margin(kd, nokd, teacher_accuracy=0.92)
    # per-seed margins 90 - 89 = 1.0, 91 - 89.5 = 1.5, 92 - 90 = 2.0: mean 1.5, sample std 0.5
    assert check["paired_seeds"] == 3 and check["paired_margin"] == pytest.approx(1.5)
    assert check["paired_standard_error"] == pytest.approx(0.5 / math.sqrt(3))
    t = 1.5 / (0.5 / math.sqrt(3))
    assert check["t"] == pytest.approx(t)
    # with 2 degrees of freedom the two-sided p has a closed form: 1 - |t| / sqrt(t^2 + 2)
    assert check["p"] == pytest.approx(1 - t / math.sqrt(t**2 + 2)) and check["p"] < 0.05
    assert check["paired_resolved"] and check["paired_seeds_to_resolve"] is None


def test_paired_margin_uses_only_the_seeds_both_sides_ran():
    kd = row("a_kd", [0.90, 0.91, 0.92, 0.50], True, seeds=[1, 2, 3, 7])
    nokd = row("a_nokd", [0.10, 0.86, 0.87, 0.88], False, seeds=[0, 1, 2, 3])
    check = paired_margin(kd, nokd, teacher_accuracy=0.92)
    assert check["paired_seeds"] == 3 and check["paired_margin"] == pytest.approx(1.5)
    # one shared seed, 3: its margin (92 - 90 = 2.0), kept for pooling across teachers, but no t
    one = paired_margin(kd, row("a_nokd", [0.88, 0.89], False, seeds=[3, 4]), teacher_accuracy=0.92)
    assert one["paired_seeds"] == 1 and one["paired_margin"] == pytest.approx(2.0) and "p" not in one
    assert paired_margin(kd, row("a_nokd", [0.88], False, seeds=[9]), teacher_accuracy=0.92) is None
    no_seeds = {k: v for k, v in nokd.items() if k != "seeds"}
    assert paired_margin(kd, no_seeds, teacher_accuracy=0.92) is None
    # such a line keeps its unpaired check, and the table says why it has no paired one
    line = {"kd": "a_kd", "labels_only": "a_nokd", "seeds": [4, 4], "teacher_accuracy": 0.92,
            **kd_margin(kd, nokd, teacher_accuracy=0.92)}  # fmt: skip
    assert any(text.endswith("| - | fewer than 2 shared seeds |") for text in markdown({"t": [line]}))


def test_an_unresolved_paired_margin_says_how_many_seeds_would_reach_p_below_five_percent():
    # margins -0.5, 0.5, 1.5 points: mean 0.5, sample std 1.0, t = 0.87
    kd, nokd = row("a_kd", [0.885, 0.895, 0.905], True), row("a_nokd", [0.88, 0.88, 0.88], False)
    check = paired_margin(kd, nokd, teacher_accuracy=0.90)
    assert check["paired_margin"] == pytest.approx(0.5) and not check["paired_resolved"]
    # 0.5 * sqrt(n) against Student's 97.5% point: n = 17 gives 2.06 < 2.120 (16 dof), n = 18 gives 2.12 >= 2.110
    assert check["paired_seeds_to_resolve"] == 18


def test_paired_margin_without_spread_is_resolved_unless_it_is_zero():
    kd, nokd = row("a_kd", [0.90, 0.91], True), row("a_nokd", [0.88, 0.90], False)
    check = paired_margin(kd, nokd, teacher_accuracy=0.92)  # margins 0.0 and 0.0
    assert check["t"] is None and check["p"] == 1.0 and not check["paired_resolved"]
    assert check["paired_seeds_to_resolve"] is None
    check = paired_margin(kd, row("a_nokd", [0.86, 0.88], False), teacher_accuracy=0.92)  # margins 1.0 and 1.0
    assert check["t"] is None and check["p"] == 0.0 and check["paired_resolved"]


def test_seeds_of_several_teachers_are_pooled_each_against_its_own_teacher(tmp_path):
    write_run(tmp_path / "a", "run_suite.py --variants v_kd", "2026-01-01", "t1", [0.88, 0.89, 0.90])
    assert pooled_across_teachers(collect(str(tmp_path))) == [] and pooled_markdown([]) == []  # one teacher only
    write_run(tmp_path / "b", "run_suite.py --variants v_kd", "2026-01-02", "t2", [0.89, 0.90, 0.91], 0.92)
    (line,) = pooled_across_teachers(collect(str(tmp_path)))  # w_kd has no labels-only twin under either
    assert line["kd"] == "v_kd" and line["labels_only"] == "v_nokd_lr1e-4"
    # against the twin's 86 / 87 / 88, the margins are 0, 0.5, 1.0 under the 90% teacher and again under the 92% one
    assert line["teachers"] == {"t1": {"seeds": 3, "paired_margin": pytest.approx(0.5)},
                                "t2": {"seeds": 3, "paired_margin": pytest.approx(0.5)}}  # fmt: skip
    assert line["paired_seeds"] == 6 and line["paired_margin"] == pytest.approx(0.5)
    t = 0.5 / (math.sqrt(0.2) / math.sqrt(6))  # sample variance 1.0 / 5
    assert line["t"] == pytest.approx(t) and line["p"] == pytest.approx(2 * stats.t.sf(t, 5)) and line["p"] < 0.05
    # recovered 2 points per seed under t1 and 3 under t2, gaps 4 / 3 / 2 and 6 / 5 / 4: 2.5 of 4
    assert line["share"] == pytest.approx(0.625)
    table = pooled_markdown([line])
    assert any(
        text.startswith("| v_kd | v_nokd_lr1e-4 | t1: 3 (+0.50), t2: 3 (+0.50) | 62% | +0.50 +/- ") for text in table
    )
    assert any("| PASS, resolved |" in text for text in table)


def write_seeds(path, date: str, seeds: list[int], kd: list[float], nokd: list[float], learning_rate=3e-4) -> None:
    """A named-variants run of one distilled row and its twin on `seeds`, with the per-seed recipe entries."""
    path.mkdir(parents=True, exist_ok=True)
    rows = [row("v_kd", kd, True, seeds), row("v_nokd", nokd, False, seeds)]
    runs = [{"key": key, "seed": s, "steps": 100, "student_rows": 1000, "learning_rate": learning_rate,
             "distill": key == "v_kd", "distillation": None}
            for key in ("v_kd", "v_nokd") for s in seeds]  # fmt: skip
    run = {"command": "run_suite.py --variants v_kd v_nokd", "date": date, "settings": {"teacher_fingerprint": "t1"},
           "teacher": {"accuracy": 0.90}, "rows": rows, "runs": runs}  # fmt: skip
    (path / "suite_sst2.json").write_text(json.dumps(run))


def test_seeds_of_one_teacher_and_recipe_from_several_runs_are_pooled_and_a_repeated_seed_takes_the_later_value(
    tmp_path,
):
    write_seeds(tmp_path / "first", "2026-01-01 10:00 UTC", [0], [0.80], [0.80])
    write_seeds(tmp_path / "second", "2026-01-02 10:00 UTC", [0, 1, 2], [0.88, 0.89, 0.90], [0.86, 0.87, 0.88])
    write_seeds(tmp_path / "third", "2026-01-03 10:00 UTC", [3], [0.91], [0.89])
    (line,) = collect(str(tmp_path))["t1"]
    # seed 0 is the second run's 88 / 86, not the first's 80 / 80; seed 3 comes from the third run
    assert [m["seed"] for m in line["seed_margins"]] == [0, 1, 2, 3] and line["seeds"] == [4, 4]
    assert [m["kd"] for m in line["seed_margins"]] == pytest.approx([88.0, 89.0, 90.0, 91.0])
    assert line["recovered"] == pytest.approx(2.0) and line["gap"] == pytest.approx(2.5)
    assert line["date"] == "2026-01-03 10:00 UTC"
    assert line["runs"] == [os.path.relpath(tmp_path / name / "suite_sst2.json", REPO)
                            for name in ("first", "second", "third")]  # fmt: skip


def test_a_later_run_of_another_recipe_replaces_the_seeds_instead_of_pooling_with_them(tmp_path):
    write_seeds(tmp_path / "first", "2026-01-01 10:00 UTC", [0, 1], [0.88, 0.89], [0.86, 0.87])
    write_seeds(tmp_path / "second", "2026-01-02 10:00 UTC", [2, 3], [0.80, 0.81], [0.79, 0.80], learning_rate=1e-4)
    (line,) = collect(str(tmp_path))["t1"]
    assert [m["seed"] for m in line["seed_margins"]] == [2, 3] and line["kd"] == "v_kd"
    assert line["recovered"] == pytest.approx(1.0)
    assert line["runs"] == [os.path.relpath(tmp_path / "second" / "suite_sst2.json", REPO)]


def test_a_teacher_with_one_seed_adds_that_seed_to_the_pooled_test(tmp_path):
    write_seeds(tmp_path / "t1", "2026-01-01 10:00 UTC", [0, 1], [0.88, 0.89], [0.86, 0.87])
    one = tmp_path / "t2" / "suite_sst2.json"
    write_seeds(tmp_path / "t2", "2026-01-02 10:00 UTC", [0], [0.91], [0.88])
    one.write_text(one.read_text().replace('"t1"', '"t2"'))
    grouped = collect(str(tmp_path))
    (single,) = grouped["t2"]
    assert single["seeds"] == [1, 1] and single["standard_error"] is None and single["paired_seeds"] == 1
    (line,) = pooled_across_teachers(grouped)
    # margins 88 - 88 = 0.0 and 89 - 88.5 = 0.5 under t1, 91 - 89 = 2.0 under t2 (both teachers at 90%)
    assert line["teachers"] == {"t1": {"seeds": 2, "paired_margin": pytest.approx(0.25)},
                                "t2": {"seeds": 1, "paired_margin": pytest.approx(2.0)}}  # fmt: skip
    assert line["paired_seeds"] == 3 and line["paired_margin"] == pytest.approx(2.5 / 3)
