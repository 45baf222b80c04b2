"""Baselines and diffs: what changed since a previous report.json.

Findings are compared by their stable `id` (check ID + resource + distinguishing detail), so a
finding is `unchanged` across runs however its message is worded, and `new` only when the problem
itself is new. `--fail-on-new` gates on new findings alone, so CI fails for what a change
introduced, not for debt it inherited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from auditor.errors import InputError
from auditor.model import Severity
from auditor.waivers import is_waived

NEW = "new"
UNCHANGED = "unchanged"
RESOLVED = "resolved"
NOT_COMPARED = "not_compared"


def load_report(path: str | Path) -> dict[str, Any]:
    """A previous report.json, checked just enough to compare with (findings with ids)."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from exc
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{name}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or (data.get("tool") or {}).get("name") != "mesh-audit":
        raise InputError(f"{name}: not a mesh-audit report.json")
    findings = data.get("findings")
    if not isinstance(findings, list):
        raise InputError(f"{name}: report has no 'findings' list")
    for i, finding in enumerate(findings):
        if not isinstance(finding, dict) or not isinstance(finding.get("id"), str):
            raise InputError(f"{name}: findings[{i}] has no 'id'")
    return data


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
