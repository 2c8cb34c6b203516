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
    distilled from the same teacher as `payload` (`settings.teacher_fingerprint`) and that `payload`'s own targets do
    not already hold. A line measured by several runs (a source variant comes with each run that starts from it) is
    taken from the latest. `--quick` runs and runs without a teacher fingerprint are left out.

    Returns:
        `list[dict]`: `target`, `passed`, `measured`, `command`, `date`, `report` (the path of the run's markdown), in
        the order the runs first measured them.
    """
    fingerprint = payload.get("settings", {}).get("teacher_fingerprint")
    if fingerprint is None:
        return []
    own = {t["target"] for t in payload.get("targets", [])}
    found: dict[str, dict] = {}
    for path in glob.glob(os.path.join(results_root, "*", "suite_sst2.json")):
        with open(path, encoding="utf-8") as handle:
            run = json.load(handle)
        command = run.get("command", "")
        if "--variants" not in command or "--quick" in command:
            continue
        if run.get("settings", {}).get("teacher_fingerprint") != fingerprint:
            continue
        report = os.path.join(os.path.dirname(os.path.abspath(path)), "BENCHMARKS.md")
        for target in run.get("targets", []):
            name = target["target"]
            if name in own or name.startswith(RUN_LINES):
                continue
            if name in found and found[name]["date"] >= run["date"]:
                continue
            first = found.get(name, {}).get("first", run["date"])
            found[name] = {**target, "command": command.strip(), "date": run["date"], "report": report, "first": first}
    lines = sorted(found.values(), key=lambda line: (line["first"], line["target"]))
    return [{k: v for k, v in line.items() if k != "first"} for line in lines]


def named_runs_markdown(lines: list[dict], root: str) -> list[str]:
    """The `BENCHMARKS.md` section of `named_run_targets`, its links relative to `root` (empty without lines)."""
    if not lines:
        return []
    text = [
        "",
        "## Targets measured by named runs (longer recipes, same teacher)",
        "",
        "These recipes would push the full run past its 3 hours, so they run when named (`--variants ...`); each "
        "line gives the command that measured it and links that run's own report.",
        "",
        "| target | result | measured | command |",
        "|---|---|---|---|",
    ]
    for line in lines:
        result = "PASS" if line["passed"] else "**FAIL**"
        link = os.path.relpath(line["report"], root)
        text.append(
            f"| {line['target']} | {result} | {line['measured']} | `{line['command']}` ({line['date']}, "
            f"[report]({link})) |"
        )
    return text
