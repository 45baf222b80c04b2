"""The fleet report: one row per cluster (score, grade, coverage, age, partial/stale/incomplete),
the weaknesses that recur across clusters, and what could not be read. Plain data in, plain data
out: the JSON, HTML and PDF renderers all take this mapping; nothing here reads a clock (the
caller passes `generated_at`).

A report is untrusted input: every field is type-checked here (a number that is not an integer
in range is null, a string is capped) so no renderer meets a surprise. The score and grade are
the report's own (auditor/run/deliver/summary.py: copied, never recomputed); an incomplete audit
has none and its row says `incomplete` with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from auditor import __version__
from auditor.report.score import is_waived
from auditor.run.deliver.summary import incomplete_reason, score_of
from auditor.run.fleet.sources import ClusterReport, Unreadable
from auditor.run.partial import unread_kinds

FLEET_SCHEMA_VERSION = 2
MAX_TEXT = 1_000  # characters of one string copied from a report
MAX_COUNT = 10**12
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
    try:
        return round((now - when).total_seconds() / 3600, 1)
    except OverflowError:
        return None


def _int(value: object) -> int | None:
    """A count as the report holds it; anything else (a string, a float, a bool, a huge or
    negative number) is None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        return None
    return value


def _str(value: object) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _unread(data: Mapping[str, Any]) -> list[str]:
    collection = {k: v for k, v in _map(data.get("collection")).items() if isinstance(v, Mapping)}
    return [u.line()[:MAX_TEXT] for u in unread_kinds({"collection": collection})]


def _row(item: ClusterReport, now: dt.datetime, stale_hours: float) -> dict[str, Any]:
    data = item.data
    value, grade = score_of(data)
    reason = incomplete_reason(data)
    summary = _map(data.get("summary"))
    coverage = _map(summary.get("coverage"))
    checks = _map(summary.get("checks"))
    severities = _map(summary.get("by_severity"))
    unread = _unread(data)
    age = _age_hours(data.get("generated_at"), now)
    return {
        "cluster": item.cluster[:MAX_TEXT],
        "origin": item.origin[:MAX_TEXT],
        "generated_at": _str(data.get("generated_at")),
        "age_hours": age,
        "stale": age is None or age > stale_hours,
        "complete": reason is None,
        "incomplete": None if reason is None else reason[:MAX_TEXT],
        "score": value,
        "grade": grade,
        "findings": _int(summary.get("total")) or 0,
        "by_severity": {s: _int(severities.get(s)) or 0 for s in SEVERITIES},
        "kinds_read": _int(coverage.get("kinds_read")),
        "kinds_total": _int(coverage.get("kinds_total")),
        "checks_ran": _int(checks.get("ran")),
        "checks_total": _int(checks.get("total")),
        "partial": bool(unread),
        "unread": unread,
        "tool_version": _str(_map(data.get("tool")).get("version")),
    }


def _recurring(items: Sequence[ClusterReport]) -> list[dict[str, Any]]:
    """Checks that fire (unwaived) in two or more clusters, most widespread and severe first."""
    clusters: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    worst: dict[str, int] = {}
    titles: dict[str, str] = {}
    for item in items:
        for finding in item.data.get("findings") or []:
            if not isinstance(finding, Mapping) or is_waived(finding):
                continue
            check = str(finding.get("check"))[:MAX_TEXT]
            clusters[check].add(item.cluster)
            counts[check] += 1
            sev = str(finding.get("severity"))
            rank = SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)
            worst[check] = min(worst.get(check, rank), rank)
            titles.setdefault(check, str(finding.get("title") or "")[:MAX_TEXT])
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
    unreadable: Sequence[Unreadable] = (),
) -> dict[str, Any]:
    """`errors`: clusters that produced no report this run (name -> one-line reason);
    `unreadable`: reports that could not be read (listed, never scored)."""
    now = _when(generated_at) or dt.datetime.now(dt.UTC)
    rows = [_row(item, now, stale_hours) for item in items]
    scores = [r["score"] for r in rows if r["score"] is not None]
    return {
        "kind": "MeshAuditFleet",
        "schema_version": FLEET_SCHEMA_VERSION,
        "tool": {"name": "mesh-audit", "version": __version__},
        "generated_at": generated_at,
        "stale_after_hours": stale_hours,
        "summary": {
            "clusters": len(rows),
            # over the complete audits only: an incomplete one has no score to count
            "lowest_score": min(scores) if scores else None,
            "mean_score": round(sum(scores) / len(scores)) if scores else None,
            "findings": sum(r["findings"] for r in rows),
            "stale": sorted(r["cluster"] for r in rows if r["stale"]),
            "partial": sorted(r["cluster"] for r in rows if r["partial"]),
            "incomplete": sorted(r["cluster"] for r in rows if not r["complete"]),
            "failed": sorted(errors or {}),
            "unreadable": len(unreadable),
        },
        # what needs attention first: incomplete audits (no score), then the lowest scores
        "clusters": sorted(
            rows, key=lambda r: (r["score"] is not None, r["score"] or 0, r["cluster"])
        ),
        "recurring": _recurring(items),
        "errors": [{"cluster": k, "error": v} for k, v in sorted((errors or {}).items())],
        "unreadable": [
            {"origin": u.origin[:MAX_TEXT], "error": u.error[:MAX_TEXT]} for u in unreadable
        ],
    }
