"""What the HTML and PDF show of a baseline and a waivers file, from the report.json mapping.

All of it is absent (None or empty) for a report scanned without `--baseline` or `--waivers`, so
such a report renders exactly as before. Entries of `resolved[]` come from an older report, maybe
of an older mesh-audit: every field is read leniently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auditor.base.model import EXPIRED, NEW
from auditor.base.text import display_time, resource_text
from auditor.report.score import is_waived


def expired_waivers(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Finding id -> the first expired waiver entry that still matches it."""
    out: dict[str, Mapping[str, Any]] = {}
    for entry in data.get("waiver_audit") or []:
        if entry.get("status") == EXPIRED:
            for finding_id in entry.get("findings") or []:
                out.setdefault(finding_id, entry)
    return out


def baseline_summary(data: Mapping[str, Any]) -> dict[str, Any] | None:
    base = data.get("baseline")
    if not isinstance(base, Mapping):
        return None
    new = [f for f in data["findings"] if f.get("baseline_status") == NEW]
    return {
        "source": str(base.get("source") or "not recorded"),
        "generated_display": display_time(base.get("generated_at")),
        "new": int(base["new"]),
        "unchanged": int(base["unchanged"]),
        "resolved": int(base["resolved"]),
        "not_compared": int(base.get("not_compared") or 0),
        "new_waived": sum(1 for f in new if is_waived(f)),
        "new_by_severity": [
            {"severity": str(sev), "count": int(n)}
            for sev, n in (base.get("new_by_severity") or {}).items()
        ],
    }


def resolved_rows(
    data: Mapping[str, Any], limit: int | None, key: str = "resolved"
) -> tuple[list[dict[str, Any]], int, int]:
    """The "Resolved since baseline" rows (baseline order), how many in all, how many not shown.

    With key="not_compared": the baseline findings this scan could not judge, with the reason.
    """
    resolved: Sequence[Any] = data.get(key) or []
    entries = [r for r in resolved if isinstance(r, Mapping)]
    shown = entries if limit is None else entries[:limit]
    rows = []
    for r in shown:
        ref = r.get("resource")
        rows.append(
            {
                "id": str(r.get("id", "")),
                "check": str(r.get("check", "")),
                "title": str(r.get("title") or ""),
                "severity": str(r.get("severity", "")),
                "resource": resource_text(ref) if isinstance(ref, Mapping) else "",
                "path": str(r.get("path") or ""),
                "reason": str(r.get("not_compared_reason") or ""),
            }
        )
    return rows, len(entries), len(entries) - len(shown)


def waiver_target(entry: Mapping[str, Any]) -> str:
    """What a waiver entry names: a finding id, or a check and a resource pattern."""
    if entry.get("id"):
        return f"finding {entry['id']}"
    res = entry.get("resource") or {}
    target = "/".join(str(res.get(k, "*")) for k in ("kind", "namespace", "name"))
    return f"{entry.get('check')} on {target}" if res else f"{entry.get('check')} on any resource"


def waiver_audit_rows(data: Mapping[str, Any], limit: int | None) -> list[dict[str, Any]] | None:
    """One row per waivers-file entry, in file order; `limit` caps the finding ids per row."""
    audit = data.get("waiver_audit")
    if audit is None:
        return None
    rows = []
    for entry in audit:
        findings = [str(i) for i in entry.get("findings") or []]
        shown = findings if limit is None else findings[:limit]
        rows.append(
            {
                "index": entry["index"],
                "target": waiver_target(entry),
                "status": entry["status"],
                "expired": entry["status"] == EXPIRED,
                "reason": entry.get("reason") or "",
                "owner": entry.get("owner") or "",
                "expires": entry.get("expires") or "",
                "ticket": entry.get("ticket") or "",
                "findings": shown,
                "findings_hidden": len(findings) - len(shown),
            }
        )
    return rows
