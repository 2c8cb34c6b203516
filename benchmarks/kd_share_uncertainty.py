"""
How sure each "distillation recovers >= half the gap" line is, given the spread over seeds.

    python benchmarks/kd_share_uncertainty.py       # reads benchmarks/results/**/suite_sst2.json, trains nothing

The target holds when the distilled mean reaches the midpoint between the stronger labels-only twin's mean and the
teacher: margin = kd - (teacher + labels_only) / 2 >= 0. The teacher is one model, so only the two means carry seed
noise: standard error = sqrt(s_kd^2 / n_kd + s_nokd^2 / (4 n_nokd)) with each side's sample std over its seeds. A line
is "resolved" when the margin is at least two standard errors from 0, and for the others the script prints how many
seeds per side the same spreads would need to resolve a margin of that size. Picking the stronger of two labels-only
learning rates favours the labels-only side a little; that bias is left in, as in the suite's own check.

The two sides of a seed are matched: the seed fixes the batches and their order (the pruning ranks on the same
calibration batches for every seed), so the script also gives the paired test, Student's t over the seeds' own
margins kd_s - (teacher + labels_only_s) / 2 with n - 1 degrees of freedom (two-sided p; "resolved" at p < 0.05, and
the seeds that would resolve the same margin at the same per-seed spread). It is the stricter of the two with 3 seeds
(a t with 2 degrees of freedom needs |t| >= 4.3) and the more powerful when the two sides move together across seeds.

Prints one markdown table per teacher, then one for the variants measured under several teachers with their seeds
pooled (each seed's margin against its own teacher), and writes `benchmarks/results/kd_share_uncertainty.json`. A
line with one seed on a side has no spread to test: its table row gives the margin alone, and its seed still counts in
the pooled test (a retrained teacher gets a new fingerprint, so a seed can be the only one of its teacher).
`--quick` runs (a subsample) are left out. A row measured by several runs of one teacher pools their seeds when the
runs record the same recipe for it (a seed in two runs takes the later value), so a later run with new `--seeds` adds
to them without the earlier students in the cache; otherwise the latest run's row is taken.
"""

import argparse
import glob
import json
import math
import os
import statistics
import sys

from scipy import stats


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks.results_io import write_json  # noqa: E402
from benchmarks.suite.ledger import run_identity  # noqa: E402
from benchmarks.suite.report import stronger_labels_only_twin  # noqa: E402


def kd_margin(kd: dict, nokd: dict, teacher_accuracy: float) -> dict:
    """
    The half-gap check of one distilled row against one labels-only row, in accuracy points, with its standard error.

    Args:
        kd (`dict`), nokd (`dict`): suite rows with `accuracies` (one per seed, fractions).
        teacher_accuracy (`float`): the teacher's validation accuracy (fraction).

    Returns:
        `dict`: `gap` (teacher - labels only), `recovered` (kd - labels only), `share` (`None` without a gap),
        `margin` (kd - midpoint), `standard_error`, `z` (margin / standard error, `None` when it is 0), `resolved`
        (|z| >= 2) and `seeds_to_resolve` (seeds per side for |margin| = 2 standard errors at these spreads; `None`
        when resolved, or when the margin is 0 or there is no spread to scale). A side with one seed has no spread to
        estimate: then `standard_error` and `z` are `None` and the line is not resolved.
    """
    values = [[100 * a for a in row["accuracies"]] for row in (kd, nokd)]
    means = [statistics.mean(v) for v in values]
    teacher = 100 * teacher_accuracy
    gap, recovered = teacher - means[1], means[0] - means[1]
    margin = means[0] - (teacher + means[1]) / 2
    share = recovered / gap if gap > 0 else None
    if min(len(v) for v in values) < 2:
        return {"gap": gap, "recovered": recovered, "share": share, "margin": margin, "standard_error": None,
                "z": None, "resolved": False, "seeds_to_resolve": None}  # fmt: skip
    variances = [statistics.variance(v) / len(v) for v in values]  # of the mean
    standard_error = math.sqrt(variances[0] + variances[1] / 4)
    z = margin / standard_error if standard_error > 0 else None
    resolved = z is None or abs(z) >= 2
    seeds = None
    if not resolved and margin != 0:
        per_seed = variances[0] * len(kd["accuracies"]) + variances[1] * len(nokd["accuracies"]) / 4
        seeds = math.ceil(4 * per_seed / margin**2)
    return {
        "gap": gap,
        "recovered": recovered,
        "share": share,
        "margin": margin,
        "standard_error": standard_error,
        "z": z,
        "resolved": resolved,
        "seeds_to_resolve": seeds,
    }


def paired_margin(kd: dict, nokd: dict, teacher_accuracy: float, level: float = 0.05) -> dict | None:
    """
    The half-gap check on the seeds both rows share, one margin per seed, tested with Student's t.

    Args:
        kd (`dict`), nokd (`dict`): suite rows with `seeds` and `accuracies` (one per seed, fractions).
        teacher_accuracy (`float`): the teacher's validation accuracy (fraction).
        level (`float`, defaults to 0.05): the two-sided p below which the line counts as resolved.

    Returns:
        `dict` or `None` (no shared seed, or rows without `seeds`): `seed_margins` (`seed_margins`' list), and with
        2 or more shared seeds `student_t`'s keys; with one, only `paired_seeds` (1) and `paired_margin` (its margin),
        which is enough for `pooled_across_teachers`.
    """
    margins = seed_margins(kd, nokd, teacher_accuracy)
    if not margins:
        return None
    if len(margins) == 1:
        return {"seed_margins": margins, "paired_seeds": 1, "paired_margin": margins[0]["margin"]}
    return {"seed_margins": margins, **student_t([m["margin"] for m in margins], level)}


def seed_margins(kd: dict, nokd: dict, teacher_accuracy: float) -> list[dict]:
    """
    One `dict` per seed both suite rows ran (none when either lacks `seeds`): `seed`, and `kd`, `labels_only` and
    `margin` (kd - the midpoint between the teacher and labels only) in points.
    """
    if "seeds" not in kd or "seeds" not in nokd:
        return []
    kd_by_seed = dict(zip(kd["seeds"], kd["accuracies"]))
    nokd_by_seed = dict(zip(nokd["seeds"], nokd["accuracies"]))
    teacher = 100 * teacher_accuracy
    return [
        {"seed": s, "kd": 100 * kd_by_seed[s], "labels_only": 100 * nokd_by_seed[s],
         "margin": 100 * kd_by_seed[s] - (teacher + 100 * nokd_by_seed[s]) / 2}
        for s in sorted(set(kd_by_seed) & set(nokd_by_seed))
    ]  # fmt: skip


def student_t(margins: list[float], level: float = 0.05) -> dict:
    """
    Student's t test of per-seed margins against 0 (two-sided, n - 1 degrees of freedom).

    Args:
        margins (`list[float]`): one margin per seed, in points (at least 2).
        level (`float`, defaults to 0.05): the two-sided p below which the margin counts as resolved.

    Returns:
        `dict`: `paired_seeds`, `paired_margin` (their mean), `paired_standard_error`, `t` (`None` without spread),
        `p`, `paired_resolved` and `paired_seeds_to_resolve` (the fewest seeds whose t would reach the level at this
        mean and per-seed spread; `None` when resolved, or when the margin or the spread is 0).
    """
    n, mean, spread = len(margins), statistics.mean(margins), statistics.stdev(margins)
    standard_error = spread / math.sqrt(n)
    if spread == 0:
        t, p = None, (0.0 if mean != 0 else 1.0)
    else:
        t = mean / standard_error
        p = float(2 * stats.t.sf(abs(t), n - 1))
    resolved = p < level
    seeds = None
    if not resolved and mean != 0 and spread > 0:
        seeds = n + 1
        while abs(mean) / (spread / math.sqrt(seeds)) < stats.t.ppf(1 - level / 2, seeds - 1):
            seeds += 1
    return {
        "paired_seeds": n,
        "paired_margin": mean,
        "paired_standard_error": standard_error,
        "t": t,
        "p": p,
        "paired_resolved": resolved,
        "paired_seeds_to_resolve": seeds,
    }


def pooled_across_teachers(grouped: dict[str, list[dict]], level: float = 0.05) -> list[dict]:
    """
    The paired test of every distilled variant measured under more than one teacher against the same labels-only
    twin, its seeds pooled: each seed's margin is taken against its own teacher's accuracy, and the teachers are
    treated as one more source of seed-to-seed noise (so a teacher effect shared by all of one teacher's seeds makes
    the pooled p optimistic; the per-teacher means are given beside it to show one).

    Returns:
        `list[dict]`: per variant `kd`, `labels_only`, `teachers` (fingerprint -> seeds and mean margin), `share`
        (the mean per-seed recovery over the mean per-seed gap) and `student_t`'s keys.
    """
    by_pair: dict[tuple[str, str], dict[str, dict]] = {}
    for teacher, lines in grouped.items():
        for line in lines:
            if "seed_margins" in line:
                by_pair.setdefault((line["kd"], line["labels_only"]), {})[teacher] = line
    pooled = []
    for (kd, labels_only), lines in sorted(by_pair.items()):
        if len(lines) < 2:
            continue
        by_seed = [(100 * line["teacher_accuracy"], m) for line in lines.values() for m in line["seed_margins"]]
        recovered = statistics.mean(m["kd"] - m["labels_only"] for _, m in by_seed)
        gap = statistics.mean(teacher - m["labels_only"] for teacher, m in by_seed)
        teachers = {
            t: {"seeds": line["paired_seeds"], "paired_margin": line["paired_margin"]} for t, line in lines.items()
        }
        pooled.append({"kd": kd, "labels_only": labels_only, "teachers": teachers,
                       "share": recovered / gap if gap > 0 else None,
                       **student_t([m["margin"] for _, m in by_seed], level)})  # fmt: skip
    return pooled


def recipe_of(run: dict, key: str, path: str) -> str:
    """
    The recipe of row `key` in a suite results file: the ledger identity (`run_identity`) of its per-seed `runs`
    entries less seed and teacher, as JSON; a file without entries for it (or with entries that disagree) gets a
    recipe of its own that matches no other.
    """
    entries = {json.dumps(run_identity({**r, "seed": None, "teacher": None})) for r in run.get("runs", [])
               if r["key"] == key}  # fmt: skip
    return entries.pop() if len(entries) == 1 else f"unrecorded in {path}"


def merge_row(merged: dict | None, row: dict, recipe: str, source: dict) -> dict:
    """
    `row` (from `source`, a results file's repo-relative `path` and `date`, later than `merged`'s) merged into
    `merged`: when both have the same recipe and both record their seeds, the seeds are pooled and a seed in both
    takes the later value; otherwise the later row wins. The result keeps the `runs` it came from and the latest `date`.
    """
    if merged is None or merged["recipe"] != recipe or "seeds" not in merged or "seeds" not in row:
        return {**row, "recipe": recipe, "runs": [source["path"]], "date": source["date"]}
    by_seed = dict(zip(merged["seeds"], merged["accuracies"])) | dict(zip(row["seeds"], row["accuracies"]))
    seeds = sorted(by_seed)
    accuracies = [by_seed[s] for s in seeds]
    return {**row, "seeds": seeds, "accuracies": accuracies, "accuracy_mean": statistics.mean(accuracies),
            "recipe": recipe, "runs": merged["runs"] + [source["path"]], "date": source["date"]}  # fmt: skip


def rows_by_teacher(results_root: str) -> dict[str, dict]:
    """
    Every row of the non-quick suite results under `results_root` (`suite_sst2.json` there and one level down) with a
    teacher fingerprint, merged per teacher and key with `merge_row` in date order, so seeds of one recipe and one
    teacher measured by several runs count together.

    Returns:
        `dict`: teacher fingerprint -> `teacher_accuracy` (from its latest run) and `rows` (key -> merged row).
    """
    paths = glob.glob(os.path.join(results_root, "suite_sst2.json"))
    paths += glob.glob(os.path.join(results_root, "*", "suite_sst2.json"))
    runs = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            runs.append((json.load(handle), path))
    teachers: dict[str, dict] = {}
    for run, path in sorted(runs, key=lambda pair: (pair[0]["date"], pair[1])):
        teacher = run.get("settings", {}).get("teacher_fingerprint")
        if "--quick" in run.get("command", "") or teacher is None:
            continue
        entry = teachers.setdefault(teacher, {"rows": {}})
        entry["teacher_accuracy"] = run["teacher"]["accuracy"]
        source = {"path": os.path.relpath(path, REPO), "date": run["date"]}
        for row in run["rows"]:
            recipe = recipe_of(run, row["key"], source["path"])
            entry["rows"][row["key"]] = merge_row(entry["rows"].get(row["key"]), row, recipe, source)
    return teachers


def collect(results_root: str) -> dict[str, list[dict]]:
    """
    Every distilled row with labels-only twins in the suite results under `results_root` (`rows_by_teacher`: seeds of
    one teacher and recipe pooled over runs), checked with `kd_margin` against its stronger twin, grouped by teacher
    fingerprint.
    """
    grouped: dict[str, list[dict]] = {}
    for teacher, entry in sorted(rows_by_teacher(results_root).items()):
        rows, accuracy = list(entry["rows"].values()), entry["teacher_accuracy"]
        for kd in sorted([r for r in rows if r["distill"]], key=lambda r: r["key"]):
            nokd = stronger_labels_only_twin(kd, rows)
            if nokd is None:
                continue
            grouped.setdefault(teacher, []).append({
                "kd": kd["key"],
                "labels_only": nokd["key"],
                "seeds": [len(kd["accuracies"]), len(nokd["accuracies"])],
                "teacher_accuracy": accuracy,
                "date": max(kd["date"], nokd["date"]),
                "runs": sorted(set(kd["runs"] + nokd["runs"])),
                **kd_margin(kd, nokd, accuracy),
                **(paired_margin(kd, nokd, accuracy) or {}),
            })  # fmt: skip
    return grouped


def markdown(grouped: dict[str, list[dict]]) -> list[str]:
    """One table per teacher: the check's numbers in points, and whether the seeds resolve it."""
    text = []
    for teacher, lines in grouped.items():
        text += [
            f"teacher {teacher} ({100 * lines[0]['teacher_accuracy']:.2f}%)",
            "",
            "| distilled | vs | seeds | gap | recovered | share | margin +/- s.e. | z | verdict | paired t (p) "
            "| paired verdict |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for line in lines:
            share = "-" if line["share"] is None else f"{line['share']:.0%}"
            z = "-" if line["z"] is None else f"{line['z']:+.1f}"
            verdict = verdict_text(line["margin"], line["resolved"], line["seeds_to_resolve"], "seeds/side")
            text.append(
                f"| {line['kd']} | {line['labels_only']} | {line['seeds'][0]}/{line['seeds'][1]} | {line['gap']:.2f} "
                f"| {line['recovered']:+.2f} | {share} | {margin_cell(line['margin'], line['standard_error'])} "
                f"| {z} | {verdict} | {paired_cells(line)} |"
            )
        text.append("")
    return text


def pooled_markdown(pooled: list[dict]) -> list[str]:
    """The variants measured under several teachers, their seeds pooled (`pooled_across_teachers`)."""
    if not pooled:
        return []
    text = [
        "across teachers (each seed against its own teacher, seeds pooled)",
        "",
        "| distilled | vs | seeds per teacher (mean margin) | share | margin +/- s.e. | paired t (p) | paired verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for line in pooled:
        teachers = ", ".join(f"{t}: {v['seeds']} ({v['paired_margin']:+.2f})" for t, v in line["teachers"].items())
        share = "-" if line["share"] is None else f"{line['share']:.0%}"
        text.append(
            f"| {line['kd']} | {line['labels_only']} | {teachers} | {share} "
            f"| {line['paired_margin']:+.2f} +/- {line['paired_standard_error']:.2f} | {paired_cells(line)} |"
        )
    return text + [""]


def margin_cell(margin: float, standard_error: float | None) -> str:
    """A margin with its standard error, or with "one seed" where a side has no spread to estimate one."""
    return f"{margin:+.2f} (one seed)" if standard_error is None else f"{margin:+.2f} +/- {standard_error:.2f}"


def paired_cells(line: dict) -> str:
    """The paired test's two table cells: t with its p, and the verdict at p < 0.05."""
    if "p" not in line:
        return "- | fewer than 2 shared seeds"
    t = "-" if line["t"] is None else f"{line['t']:+.1f}"
    verdict = verdict_text(line["paired_margin"], line["paired_resolved"], line["paired_seeds_to_resolve"], "seeds")
    return f"{t} ({line['p']:.3f}) | {verdict}"


def verdict_text(margin: float, resolved: bool, seeds_to_resolve: int | None, unit: str) -> str:
    """PASS or FAIL by the margin's sign, and whether the seeds resolve it (or how many would)."""
    verdict = "PASS" if margin >= 0 else "FAIL"
    if resolved:
        return verdict + ", resolved"
    if seeds_to_resolve is not None:
        return verdict + f", within noise (~{seeds_to_resolve} {unit} to resolve)"
    return verdict + ", within noise"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=os.path.join(REPO, "benchmarks", "results"))
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "kd_share_uncertainty.json"))
    args = parser.parse_args()
    grouped = collect(args.results)
    pooled = pooled_across_teachers(grouped)
    print("\n".join(markdown(grouped) + pooled_markdown(pooled)))
    payload = {"command": "python benchmarks/kd_share_uncertainty.py", "teachers": grouped, "across_teachers": pooled}
    write_json(args.output, payload)


if __name__ == "__main__":
    main()
