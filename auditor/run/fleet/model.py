"""The fleet report: one row per cluster (score, grade, coverage, age, partial/stale), and the
weaknesses that recur across clusters. Plain data in, plain data out: the JSON, HTML and PDF
renderers all take this mapping; nothing here reads a clock (the caller passes `generated_at`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from auditor import __version__
from auditor.report.score import is_waived
from auditor.run.deliver.summary import score_of
from auditor.run.fleet.sources import ClusterReport
from auditor.run.partial import unread_kinds

FLEET_SCHEMA_VERSION = 1
SEVERITIES = ("critical", "high", "medium", "low", "info")
DEFAULT_STALE_HOURS = 48.0


def _when(stamp: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None


def _age_hours(generated_at: object, now: dt.datetime) -> float | None:
    when = _when(generated_at)
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return round((now - when).total_seconds() / 3600, 1)


def _row(item: ClusterReport, now: dt.datetime, stale_hours: float) -> dict[str, Any]:
    data = item.data
    value, grade = score_of(data)
    summary = data.get("summary") or {}
    coverage = summary.get("coverage") or {}
    checks = summary.get("checks") or {}
    unread = [u.line() for u in unread_kinds(data)]
    age = _age_hours(data.get("generated_at"), now)
    return {
        "cluster": item.cluster,
        "origin": item.origin,
        "generated_at": data.get("generated_at"),
        "age_hours": age,
        "stale": age is None or age > stale_hours,
        "score": value,
        "grade": grade,
        "findings": int(summary.get("total") or 0),
        "by_severity": {s: int((summary.get("by_severity") or {}).get(s) or 0) for s in SEVERITIES},
        "kinds_read": coverage.get("kinds_read"),
        "kinds_total": coverage.get("kinds_total"),
        "checks_ran": checks.get("ran"),
        "checks_total": checks.get("total"),
        "partial": bool(unread),
        "unread": unread,
        "tool_version": (data.get("tool") or {}).get("version"),
    }


def _recurring(items: Sequence[ClusterReport]) -> list[dict[str, Any]]:
    """Checks that fire (unwaived) in two or more clusters, most widespread and severe first."""
    clusters: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    worst: dict[str, int] = {}
    titles: dict[str, str] = {}
    for item in items:
        for finding in item.data.get("findings") or []:
            if is_waived(finding):
                continue
            check = str(finding.get("check"))
            clusters[check].add(item.cluster)
            counts[check] += 1
            sev = str(finding.get("severity"))
            rank = SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)
            worst[check] = min(worst.get(check, rank), rank)
            titles.setdefault(check, str(finding.get("title") or ""))
    rows: list[dict[str, Any]] = [
        {
            "check": check,
            "title": titles[check],
            "severity": SEVERITIES[worst[check]] if worst[check] < len(SEVERITIES) else "info",
            "clusters": sorted(names),
            "cluster_count": len(names),
            "findings": counts[check],
        }
        for check, names in clusters.items()
        if len(names) >= 2
    ]
    rows.sort(key=lambda r: (-r["cluster_count"], SEVERITIES.index(r["severity"]), r["check"]))
    return rows


def build_fleet(
    items: Sequence[ClusterReport],
    *,
    generated_at: str,
    stale_hours: float = DEFAULT_STALE_HOURS,
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`errors`: clusters that produced no report this run (name -> one-line reason)."""
    now = _when(generated_at) or dt.datetime.now(dt.UTC)
    rows = [_row(item, now, stale_hours) for item in items]
    scores = [r["score"] for r in rows]
    return {
        "kind": "MeshAuditFleet",
        "schema_version": FLEET_SCHEMA_VERSION,
        "tool": {"name": "mesh-audit", "version": __version__},
        "generated_at": generated_at,
        "stale_after_hours": stale_hours,
        "summary": {
            "clusters": len(rows),
            "lowest_score": min(scores) if scores else None,
            "mean_score": round(sum(scores) / len(scores)) if scores else None,
            "findings": sum(r["findings"] for r in rows),
            "stale": sorted(r["cluster"] for r in rows if r["stale"]),
            "partial": sorted(r["cluster"] for r in rows if r["partial"]),
            "failed": sorted(errors or {}),
        },
        "clusters": sorted(rows, key=lambda r: (r["score"], r["cluster"])),
        "recurring": _recurring(items),
        "errors": [{"cluster": k, "error": v} for k, v in sorted((errors or {}).items())],
    }
