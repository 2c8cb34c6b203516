"""
The targets that only runs of named variants measure (the recipes too long for the 3-hour full run), gathered for the
top-level `BENCHMARKS.md` so that a reader sees them next to the full run's, each with the command that measured it.
"""

import glob
import json
import os


# lines of a run that describe that run as a whole, not a model: a named run's says nothing of the full suite
RUN_LINES = ("full run", "quick run")


def named_run_targets(results_root: str, payload: dict) -> list[dict]:
    """
    Target lines of the named-variant runs under `results_root` (`<dir>/suite_sst2.json`, one level down) that
    `payload`'s own targets do not already hold. A line measured by several runs of one teacher (a source variant
    comes with each run that starts from it) is taken from the latest. `--quick` runs and runs without a teacher
    fingerprint are left out, and so is everything when `payload` has no fingerprint to compare with.

    Returns:
        `list[dict]`: `target`, `passed`, `measured`, `command`, `date`, `report` (the path of the run's markdown),
        `teacher` (its fingerprint), `teacher_accuracy` and `same_teacher` (whether it distilled from `payload`'s
        teacher, `settings.teacher_fingerprint`), in the order the runs first measured them.
    """
    fingerprint = payload.get("settings", {}).get("teacher_fingerprint")
    if fingerprint is None:
        return []
    own = {t["target"] for t in payload.get("targets", [])}
    found: dict[tuple[str, str], dict] = {}
    for path in glob.glob(os.path.join(results_root, "*", "suite_sst2.json")):
        with open(path, encoding="utf-8") as handle:
            run = json.load(handle)
        command = run.get("command", "")
        teacher = run.get("settings", {}).get("teacher_fingerprint")
        if "--variants" not in command or "--quick" in command or teacher is None:
            continue
        report = os.path.join(os.path.dirname(os.path.abspath(path)), "BENCHMARKS.md")
        for target in run.get("targets", []):
            name = target["target"]
            if (teacher == fingerprint and name in own) or name.startswith(RUN_LINES):
                continue
            key = (teacher, name)
            if key in found and found[key]["date"] >= run["date"]:
                continue
            first = found.get(key, {}).get("first", run["date"])
            found[key] = {**target, "command": command.strip(), "date": run["date"], "report": report,
                          "teacher": teacher, "teacher_accuracy": run.get("teacher", {}).get("accuracy"),
                          "same_teacher": teacher == fingerprint, "first": first}  # fmt: skip
    lines = sorted(found.values(), key=lambda line: (line["first"], line["target"]))
    return [{k: v for k, v in line.items() if k != "first"} for line in lines]


def named_runs_markdown(lines: list[dict], root: str) -> list[str]:
    """
    The `BENCHMARKS.md` sections of `named_run_targets`, its links relative to `root`: the lines of the same teacher,
    then those of other teachers, each with its teacher (a section without lines is left out).
    """
    same = [line for line in lines if line["same_teacher"]]
    other = [line for line in lines if not line["same_teacher"]]
    text = []
    if same:
        text += [
            "",
            "## Targets measured by named runs (longer recipes, same teacher)",
            "",
            "These recipes would push the full run past its 3 hours, so they run when named (`--variants ...`); each "
            "line gives the command that measured it and links that run's own report.",
            "",
            "| target | result | measured | command |",
            "|---|---|---|---|",
        ]
        text += [
            f"| {line['target']} | {_result(line)} | {line['measured']} | {_source(line, root)} |" for line in same
        ]
    if other:
        text += [
            "",
            "## Targets measured by named runs with another teacher",
            "",
            "Runs that distilled from another teacher than the full run's (another weight fingerprint: fine-tuned "
            "again, as on another machine, or on other rows). Each line is measured against its own teacher, given "
            "by its fingerprint and validation accuracy.",
            "",
            "| target | result | measured | teacher | command |",
            "|---|---|---|---|---|",
        ]
        text += [
            f"| {line['target']} | {_result(line)} | {line['measured']} | {line['teacher']} "
            f"({_accuracy(line['teacher_accuracy'])}) | {_source(line, root)} |"
            for line in other
        ]
    return text


def _result(line: dict) -> str:
    return "PASS" if line["passed"] else "**FAIL**"


def _accuracy(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _source(line: dict, root: str) -> str:
    """The line's command, date and a link to its run's report."""
    return f"`{line['command']}` ({line['date']}, [report]({os.path.relpath(line['report'], root)}))"
