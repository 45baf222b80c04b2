"""The few numbers that travel with a report: into the upload index, a webhook, a fleet row.

One score: the report's own `summary.score` and `summary.grade` (auditor/report/score.py, with
exposure and coverage) are copied, never computed again here. An incomplete audit (fail closed,
exit 4) has no score anywhere it travels: `complete` is false and `incomplete` says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from auditor.input.completeness import is_incomplete
from auditor.report.score import is_waived
from auditor.run.partial import unread_kinds

NEW_LISTED = 10
GRADES = frozenset({"A", "B", "C", "D", "F"})
CLUSTER_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def cluster_name(data: Mapping[str, Any], override: str | None = None) -> str:
    """The report's cluster as a safe object-key segment: --cluster-name, else the context.

    Only letters, digits, `.`, `_` and `-` survive (a context name is tenant-ish text that ends
    up in object keys and URLs); an empty result is `cluster`."""
    source = data.get("source") or {}
    raw = override or str(source.get("context") or "") or str(source.get("type") or "")
    name = CLUSTER_NAME.sub("-", raw).strip(".-")
    return name[:100] or "cluster"


def score_of(data: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """The report's own score and grade; (None, None) for an incomplete audit or a report that
    records none (never recomputed: another formula would disagree with the report)."""
    if is_incomplete(data):
        return None, None
    summary = data.get("summary")
    if not isinstance(summary, Mapping):
        return None, None
    value, grade = summary.get("score"), summary.get("grade")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        return None, None
    if not isinstance(grade, str) or grade not in GRADES:
        return None, None
    return value, grade


def incomplete_reason(data: Mapping[str, Any]) -> str | None:
    """Why an audit failed closed, one line (None when it is complete)."""
    if not is_incomplete(data):
        return None
    reasons = data["audit"].get("reasons")
    text = "; ".join(str(r) for r in reasons) if isinstance(reasons, list) else ""
    return text or "too little of the cluster could be read"


def new_findings(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Findings marked new against the baseline (none without a baseline), not waived."""
    if "baseline" not in data:
        return []
    return [
        f
        for f in data.get("findings") or []
        if f.get("baseline_status") == "new" and not is_waived(f)
    ]


def summarize(data: Mapping[str, Any], cluster: str) -> dict[str, Any]:
    value, grade = score_of(data)
    summary = data.get("summary") or {}
    coverage = summary.get("coverage") or {}
    new = new_findings(data)
    reason = incomplete_reason(data)
    out: dict[str, Any] = {
        "cluster": cluster,
        "generated_at": data.get("generated_at"),
        "complete": reason is None,
        "incomplete": reason,
        "score": value,
        "grade": grade,
        "findings": summary.get("total", 0),
        "by_severity": dict(summary.get("by_severity") or {}),
        "kinds_read": coverage.get("kinds_read"),
        "kinds_total": coverage.get("kinds_total"),
        "unread": [u.kind for u in unread_kinds(data)],
        "baseline": "baseline" in data,
        "new": len(new),
        "new_findings": [
            {
                "check": f.get("check"),
                "severity": f.get("severity"),
                "title": f.get("title"),
                "resource": f.get("resource"),
            }
            for f in new[:NEW_LISTED]
        ],
    }
    return out
