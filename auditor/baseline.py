"""Baselines and diffs: what changed since a previous report.json.

Findings are compared by their stable `id` (check ID + resource + distinguishing detail), so a
finding is `unchanged` across runs however its message is worded, and `new` only when the problem
itself is new. `--fail-on-new` gates on new findings alone, so CI fails for what a change
introduced, not for debt it inherited.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from auditor.errors import InputError
from auditor.limits import LIMITS
from auditor.model import Severity
from auditor.report.text import inert
from auditor.waivers import is_waived

NEW = "new"
UNCHANGED = "unchanged"
RESOLVED = "resolved"


def load_report(path: str | Path) -> dict[str, Any]:
    """A previous report.json (for --baseline and `diff`), checked for what is read from it.

    Each finding must be a complete finding as report.schema.json describes it (a baseline's
    findings are copied into `resolved[]`, and a report must validate against its own schema);
    `source` and `generated_at` are checked for type. Older reports with other top-level
    fields are still accepted.
    """
    name = str(path)
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read(LIMITS.max_file_bytes + 1)
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from exc
    if len(raw) > LIMITS.max_file_bytes:
        raise InputError(f"{name}: larger than {LIMITS.max_file_bytes} bytes (README: Limits)")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{name}: not valid JSON: {exc}") from exc
    tool = data.get("tool") if isinstance(data, dict) else None
    if not isinstance(tool, dict) or tool.get("name") != "mesh-audit":
        raise InputError(f"{name}: not a mesh-audit report.json (no tool.name 'mesh-audit')")
    findings = data.get("findings")
    if not isinstance(findings, list):
        raise InputError(f"{name}: report has no 'findings' list")
    finding_ok = _finding_validator()
    for i, finding in enumerate(findings):
        if not isinstance(finding, dict) or not isinstance(finding.get("id"), str):
            raise InputError(f"{name}: findings[{i}] has no 'id'")
        error = next(iter(finding_ok.iter_errors(finding)), None)
        if error is not None:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
            raise InputError(f"{name}: findings[{i}]{where}: {inert(error.message, 160)}")
    source = data.get("source")
    if source is not None and not (
        isinstance(source, dict)
        and isinstance(source.get("context") or "", str)
        and isinstance(source.get("paths") or [], list)
        and all(isinstance(p, str) for p in source.get("paths") or [])
    ):
        raise InputError(f"{name}: source: expected a mapping with a 'paths' list of strings")
    if data.get("generated_at") is not None and not isinstance(data["generated_at"], str):
        raise InputError(f"{name}: generated_at: expected a string")
    assert isinstance(data, dict)
    return data


@cache
def _finding_validator() -> Any:
    import jsonschema

    schema = json.loads(
        resources.files("auditor.schema").joinpath("report.schema.json").read_text("utf-8")
    )
    finding = {"$defs": schema["$defs"], **schema["properties"]["findings"]["items"]}
    return jsonschema.Draft202012Validator(finding)


def _strip(finding: Mapping[str, Any]) -> dict[str, Any]:
    """A finding from an old report, without the old run's own baseline marks."""
    return {k: v for k, v in finding.items() if k != "baseline_status"}


def apply_baseline(
    data: Mapping[str, Any], previous: Mapping[str, Any], source: str
) -> dict[str, Any]:
    """Report data with `baseline_status` on each finding, `resolved[]` and a `baseline` summary.

    `resolved[]` holds the previous report's findings (as they were) whose id is gone now.
    """
    old_ids = {f["id"] for f in previous["findings"]}
    findings = []
    for original in data["findings"]:
        finding = dict(original)
        finding["baseline_status"] = UNCHANGED if finding["id"] in old_ids else NEW
        findings.append(finding)
    new_ids = {f["id"] for f in findings}
    resolved = [_strip(f) for f in previous["findings"] if f["id"] not in new_ids]
    new = [f for f in findings if f["baseline_status"] == NEW]
    out = dict(data)
    out["findings"] = findings
    out["resolved"] = resolved
    out["baseline"] = {
        "source": source,
        "generated_at": previous.get("generated_at"),
        "new": len(new),
        "unchanged": len(findings) - len(new),
        "resolved": len(resolved),
        "new_by_severity": _by_severity(f for f in new if not is_waived(f)),
    }
    return out


def _by_severity(findings: Any) -> dict[str, int]:
    counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
    for f in findings:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    return counts


def diff_reports(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The difference between two reports: findings new in `new`, resolved since `old`, and kept.

    Lists keep each report's order (severity first); an unchanged finding is shown as it is in
    the newer report.
    """
    old_ids = {f["id"] for f in old["findings"]}
    new_ids = {f["id"] for f in new["findings"]}
    added = [_strip(f) for f in new["findings"] if f["id"] not in old_ids]
    kept = [_strip(f) for f in new["findings"] if f["id"] in old_ids]
    gone = [_strip(f) for f in old["findings"] if f["id"] not in new_ids]
    return {
        "old": _about(old),
        "new": _about(new),
        "counts": {NEW: len(added), RESOLVED: len(gone), UNCHANGED: len(kept)},
        "new_findings": added,
        "resolved_findings": gone,
        "unchanged_findings": kept,
    }


def _about(report: Mapping[str, Any]) -> dict[str, Any]:
    source = report.get("source") or {}
    return {
        "generated_at": report.get("generated_at"),
        "source": source.get("context") or ", ".join(source.get("paths") or []) or None,
        "findings": len(report["findings"]),
    }


def gating_findings(
    findings: Sequence[Mapping[str, Any]], threshold: Severity, *, new_only: bool = False
) -> list[Mapping[str, Any]]:
    """Findings that make `--fail-on` (or, with new_only, `--fail-on-new`) exit 1.

    Waived findings never gate.
    """
    return [
        f
        for f in findings
        if not is_waived(f)
        and Severity.parse(f["severity"]) >= threshold
        and (not new_only or f.get("baseline_status") == NEW)
    ]
