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

from auditor.base.errors import InputError
from auditor.base.limits import LIMITS
from auditor.base.model import NEW, NOT_COMPARED, RESOLVED, UNCHANGED, Severity
from auditor.base.text import inert
from auditor.report.score import is_waived


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
        raise InputError(f"{name}: larger than {LIMITS.max_file_bytes} bytes (docs/limits.md)")
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


def _kind_key(resource: Mapping[str, Any]) -> str:
    api_version = str(resource.get("apiVersion") or "")
    group = api_version.rpartition("/")[0]
    return f"{group}/{resource['kind']}" if group else str(resource["kind"])


class Coverage:
    """What a report could judge: which checks ran, which kinds were fully read, which namespaces
    were in scope. A finding of an older report that is absent from this one is only `resolved`
    when this report could have seen it again; otherwise it is `not_compared`, with the reason.
    """

    def __init__(self, report: Mapping[str, Any]) -> None:
        self._runs = {r["check"]: r for r in report.get("check_runs") or []}
        self._looks_at = {
            c["id"]: list(c.get("looks_at") or []) for c in report.get("checks") or []
        }
        self._collection: Mapping[str, Mapping[str, Any]] = report.get("collection") or {}
        scoped = report.get("scope") or {}
        scope = scoped.get("namespaces") or (report.get("source") or {}).get("namespaces")
        self._scope: set[str] | None = set(scope) if scope else None
        self._not_judged = {
            f["id"]: str(f.get("not_judged_reason") or "") for f in scoped.get("not_judged") or []
        }

    def _kind_gap(self, key: str) -> str | None:
        entry = self._collection.get(key)
        if entry is None:
            return None
        if entry.get("status") != "ok":
            return f"{key} was not read in this scan ({entry.get('status')})"
        if entry.get("message"):
            return f"{key} was read only in part in this scan ({entry['message']})"
        return None

    def gap(self, finding: Mapping[str, Any]) -> str | None:
        """Why this report cannot say whether `finding` is still there, or None when it can."""
        check = str(finding.get("check"))
        run = self._runs.get(check)
        if run is None:
            return f"check {check} is not part of this scan"
        if run.get("status") != "ran":
            return f"check {check} did not run in this scan ({run.get('status')})"
        if finding.get("id") in self._not_judged:
            return self._not_judged[finding["id"]]
        resource = finding.get("resource") or {}
        namespace = resource.get("namespace")
        if resource.get("kind") == "Namespace" and not namespace:
            namespace = resource.get("name")
        if self._scope is not None and namespace and namespace not in self._scope:
            return f"namespace {namespace} was outside this scan's scope"
        keys = [_kind_key(resource), *self._looks_at.get(check, [])]
        for key in dict.fromkeys(keys):
            reason = self._kind_gap(key)
            if reason is not None:
                return reason
        return None


def _split_gone(
    gone: Sequence[Mapping[str, Any]], now: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Findings absent from `now`: (resolved, not compared with `not_compared_reason`)."""
    coverage = Coverage(now)
    resolved: list[dict[str, Any]] = []
    not_compared: list[dict[str, Any]] = []
    for finding in gone:
        reason = coverage.gap(finding)
        if reason is None:
            resolved.append(_strip(finding))
        else:
            not_compared.append({**_strip(finding), "not_compared_reason": reason})
    return resolved, not_compared


def apply_baseline(
    data: Mapping[str, Any], previous: Mapping[str, Any], source: str
) -> dict[str, Any]:
    """Report data with `baseline_status` on each finding, `resolved[]`, `not_compared[]` and a
    `baseline` summary.

    `resolved[]` holds the previous report's findings (as they were) whose id is gone now and that
    this scan could have seen again; `not_compared[]` holds the gone ones it could not (check
    skipped, kinds not or partly read, namespace out of scope), each with `not_compared_reason`.
    """
    old_ids = {f["id"] for f in previous["findings"]}
    findings = []
    for original in data["findings"]:
        finding = dict(original)
        finding["baseline_status"] = UNCHANGED if finding["id"] in old_ids else NEW
        findings.append(finding)
    new_ids = {f["id"] for f in findings}
    gone = [f for f in previous["findings"] if f["id"] not in new_ids]
    resolved, not_compared = _split_gone(gone, data)
    new = [f for f in findings if f["baseline_status"] == NEW]
    out = dict(data)
    out["findings"] = findings
    out["resolved"] = resolved
    out["not_compared"] = not_compared
    out["baseline"] = {
        "source": source,
        "generated_at": previous.get("generated_at"),
        "new": len(new),
        "unchanged": len(findings) - len(new),
        "resolved": len(resolved),
        "not_compared": len(not_compared),
        "new_by_severity": _by_severity(f for f in new if not is_waived(f)),
    }
    return out


def _by_severity(findings: Any) -> dict[str, int]:
    counts = {s.label: 0 for s in sorted(Severity, reverse=True)}
    for f in findings:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    return counts


def diff_reports(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The difference between two reports: findings new in `new`, resolved since `old`, kept,
    and gone from `new` where `new` could not see them (`not_compared`, see `Coverage`).

    Lists keep each report's order (severity first); an unchanged finding is shown as it is in
    the newer report.
    """
    old_ids = {f["id"] for f in old["findings"]}
    new_ids = {f["id"] for f in new["findings"]}
    added = [_strip(f) for f in new["findings"] if f["id"] not in old_ids]
    kept = [_strip(f) for f in new["findings"] if f["id"] in old_ids]
    gone, not_compared = _split_gone([f for f in old["findings"] if f["id"] not in new_ids], new)
    return {
        "old": _about(old),
        "new": _about(new),
        "counts": {
            NEW: len(added),
            RESOLVED: len(gone),
            UNCHANGED: len(kept),
            NOT_COMPARED: len(not_compared),
        },
        "new_findings": added,
        "resolved_findings": gone,
        "unchanged_findings": kept,
        "not_compared_findings": not_compared,
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
