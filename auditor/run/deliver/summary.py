"""The few numbers that travel with a report: into the upload index, a webhook, a fleet row."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from auditor.report.score import is_waived, score
from auditor.run.partial import unread_kinds

NEW_LISTED = 10
CLUSTER_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def cluster_name(data: Mapping[str, Any], override: str | None = None) -> str:
    """The report's cluster as a safe object-key segment: --cluster-name, else the context.

    Only letters, digits, `.`, `_` and `-` survive (a context name is tenant-ish text that ends
    up in object keys and URLs); an empty result is `cluster`."""
    source = data.get("source") or {}
    raw = override or str(source.get("context") or "") or str(source.get("type") or "")
    name = CLUSTER_NAME.sub("-", raw).strip(".-")
    return name[:100] or "cluster"


def score_of(data: Mapping[str, Any]) -> tuple[int, str]:
    """The report's score and grade: as recorded, or computed from its findings (older reports)."""
    recorded = data.get("score")
    if isinstance(recorded, Mapping) and "value" in recorded and "grade" in recorded:
        return int(recorded["value"]), str(recorded["grade"])
    if isinstance(recorded, int) and isinstance(data.get("grade"), str):
        return recorded, str(data["grade"])
    result = score(data.get("findings") or [])
    return result.value, result.grade


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
    out: dict[str, Any] = {
        "cluster": cluster,
        "generated_at": data.get("generated_at"),
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
