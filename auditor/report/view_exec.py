"""The executive part of the HTML and PDF reports: the verdict and why, the top weaknesses with
what to do, and what was not audited. Plain data from the report.json mapping; the templates
escape every string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auditor.base.model import NEW
from auditor.base.text import resource_text
from auditor.report.score import EXPOSURE_ID, Score
from auditor.report.view_findings import category_label

TOP_WEAKNESSES = 10
MESSAGE_CHARS = 240
EXEC_ROWS = 8  # not-audited kinds/checks and failed controls per framework shown up front
SEVERITY_WORDS = ("critical", "high", "medium")


def grade_reason(
    sc: Score, weaknesses: Mapping[str, int], titles: Mapping[str, str], coverage: Mapping[str, Any]
) -> str:
    """One line: why the grade is what it is (the weaknesses that weigh, the largest risk
    points, and an incomplete read when there was one)."""
    counted = [f"{weaknesses[s]:,} {s}" for s in SEVERITY_WORDS if weaknesses.get(s)]
    parts = []
    if counted:
        word = (
            "weakness" if sum(weaknesses.get(s, 0) for s in SEVERITY_WORDS) == 1 else "weaknesses"
        )
        parts.append(
            " and ".join([", ".join(counted[:-1]), counted[-1]] if len(counted) > 1 else counted)
            + f" {word}"
        )
    heavy = [
        ("entry points the internet reaches" if c == EXPOSURE_ID else c, p)
        for c, p in sc.deductions[:3]
    ]
    if heavy:
        listed = [
            f"{name} ({p} risk points)" if i == 0 else f"{name} ({p})"
            for i, (name, p) in enumerate(heavy)
        ]
        parts.append("most risk from " + ", ".join(listed))
    read, total = coverage.get("kinds_read", 0), coverage.get("kinds_total", 0)
    if total and read < total:
        parts.append(f"only {read} of {total} resource kinds read")
    if not parts:
        parts.append("no weakness that weighs, and nothing served to the internet in plaintext")
    text = f"Grade {sc.grade} ({sc.value}/100): " + "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def _short(message: str) -> str:
    """A message for one table row: whole up to MESSAGE_CHARS, else cut at a word and pointing to
    the finding, where it is whole (messages naming every group of workloads run to 700)."""
    if len(message) <= MESSAGE_CHARS:
        return message
    cut = message[:MESSAGE_CHARS].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + " … (whole in the finding)"


def top_weaknesses(
    ordered: Sequence[Mapping[str, Any]], docs: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per check, in the order of its worst finding (`ordered` is worst first): what is
    wrong (the worst finding), how many findings, and what to do."""
    rows: dict[str, dict[str, Any]] = {}
    for f in ordered:
        row = rows.get(f["check"])
        if row is None:
            if len(rows) == TOP_WEAKNESSES:
                continue
            doc = docs.get(f["check"])
            rows[f["check"]] = {
                "check": f["check"],
                "id": f["id"],
                "title": doc["title"] if doc else f["title"],
                "category": category_label(f["category"]),
                "severity": f["severity"],
                "severity_reason": f.get("severity_reason") or "",
                # the message names its resource in most checks: shown once
                "resource": ""
                if str(f["resource"].get("name")) in f["message"]
                else resource_text(f["resource"]),
                "message": _short(f["message"]),
                "todo": f["remediation"] or (doc["remediation"] if doc else ""),
                "count": 1,
                "new": int(f.get("baseline_status") == NEW),
            }
        else:
            row["count"] += 1
            row["new"] += int(f.get("baseline_status") == NEW)
    return list(rows.values())


def not_audited(coverage: Mapping[str, Any]) -> dict[str, Any]:
    """The first rows of what was not read or not run; the Coverage appendix lists them all."""
    unread, not_run = list(coverage["unread"]), list(coverage["not_run"])
    return {
        "complete": not unread and not not_run,
        "unread": unread[:EXEC_ROWS],
        "unread_hidden": max(0, len(unread) - EXEC_ROWS),
        "not_run": not_run[:EXEC_ROWS],
        "not_run_hidden": max(0, len(not_run) - EXEC_ROWS),
    }


def failed_controls(compliance: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per framework, its failed controls (the first EXEC_ROWS) for the executive summary."""
    out = []
    for fw in compliance:
        failed = [c for c in fw["controls"] if c["status"] == "failed"]
        out.append(
            {
                "anchor": fw["anchor"],
                "title": fw["framework"]["title"],
                "summary": fw["summary"],
                "failed": [{"id": c["id"], "title": c["title"]} for c in failed[:EXEC_ROWS]],
                "failed_hidden": max(0, len(failed) - EXEC_ROWS),
            }
        )
    return out
