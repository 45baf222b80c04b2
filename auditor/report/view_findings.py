"""The findings sections of the HTML and PDF reports: findings grouped by category, severity and
check, the top risks, and how one finding reads (evidence excerpt, references, waiver, group).

Plain data from the report.json mapping; the templates escape every string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from auditor.base.model import NEW, Category
from auditor.base.text import resource_text

SEVERITIES = ("critical", "high", "medium", "low", "info")
CATEGORY_LABELS: dict[str, str] = {
    Category.EXPOSURE: "Ingress exposure",
    Category.TLS: "TLS",
    Category.EGRESS_REGISTRATION: "Egress registration",
    Category.EGRESS_BYPASS: "Egress-gateway bypass",
    Category.MTLS: "Mutual TLS",
    Category.AUTHORIZATION: "Authorization",
    Category.CONFIG: "Configuration",
}
EVIDENCE_MAX_LINES = 14
EVIDENCE_MAX_CHARS = 160
YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: ~10x faster at scale


def category_label(key: str) -> str:
    return CATEGORY_LABELS.get(key, key)


def evidence_yaml(evidence: Mapping[str, Any]) -> str:
    """A small YAML excerpt: capped in lines and line length so one finding cannot flood a page."""
    if not evidence:
        return ""
    text = yaml.dump(
        dict(evidence),
        Dumper=YAML_DUMPER,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    lines = [
        ln if len(ln) <= EVIDENCE_MAX_CHARS else ln[: EVIDENCE_MAX_CHARS - 1] + "…"
        for ln in text.rstrip("\n").split("\n")
    ]
    if len(lines) > EVIDENCE_MAX_LINES:
        more = len(lines) - EVIDENCE_MAX_LINES
        lines = [*lines[:EVIDENCE_MAX_LINES], f"# … {more} more lines in report.json"]
    return "\n".join(lines)


def reference_links(refs: Sequence[str]) -> list[dict[str, str | None]]:
    """Links only for https URLs; anything else (IST codes) is shown as text."""
    return [{"text": r, "href": r if r.startswith("https://") else None} for r in refs]


def _waiver_note(waiver: Mapping[str, Any]) -> dict[str, Any]:
    """What a finding shows of the waiver entry that waived it (or whose expiry ended)."""
    return {key: waiver.get(key) for key in ("index", "reason", "owner", "expires", "ticket")}


def finding_view(
    f: Mapping[str, Any],
    check_doc: Mapping[str, Any] | None,
    expired: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    check_remediation = check_doc["remediation"] if check_doc else None
    check_refs = list(check_doc["references"]) if check_doc else []
    own_refs = [r for r in f["references"] if r not in check_refs]
    waiver = f.get("waiver")
    lapsed = (expired or {}).get(f["id"]) if not waiver else None
    return {
        "id": f["id"],
        "check": f["check"],
        "severity": f["severity"],
        "severity_reason": f.get("severity_reason") or "",
        "resource": resource_text(f["resource"]),
        "kind": f["resource"]["kind"],
        "namespace": f["resource"].get("namespace") or "",
        "path": f["path"],
        "message": f["message"],
        "evidence": evidence_yaml(f["evidence"]),
        "remediation": f["remediation"] if f["remediation"] != check_remediation else None,
        "references": reference_links(own_refs),
        "waiver": _waiver_note(waiver) if isinstance(waiver, Mapping) else None,
        "expired_waiver": _waiver_note(lapsed) if lapsed else None,
        "new": f.get("baseline_status") == NEW,
        "group": _group_note(f),
    }


def _group_note(f: Mapping[str, Any]) -> str | None:
    """One weakness, one entry: how this finding relates to the others of its group."""
    group = f.get("group")
    if not isinstance(group, Mapping) or not group.get("related"):
        return None
    if group.get("primary") == f["id"]:
        return "Same weakness, counted once: " + ", ".join(str(r) for r in group["related"])
    return f"Part of the weakness of {group.get('primary')} (counted once)"


def findings_by_severity(
    ordered: Sequence[Mapping[str, Any]],
    docs: Mapping[str, Mapping[str, Any]],
    limit: int | None,
    expired: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Severity (worst first), then each check in the order of its worst finding, its findings
    in order: `ordered` comes in the risk order (auditor/report/risk.py), so the first card is
    the worst finding and a per-check cap cuts from the bottom of that order."""
    by_sev: dict[str, dict[str, list[Mapping[str, Any]]]] = {s: {} for s in SEVERITIES}
    for f in ordered:
        by_sev.setdefault(f["severity"], {}).setdefault(f["check"], []).append(f)
    out: list[dict[str, Any]] = []
    anchored: set[str] = set()
    for sev, by_check in by_sev.items():
        if not by_check:
            continue
        checks = []
        for check_id, items in by_check.items():
            doc = docs.get(check_id)
            shown = items if limit is None else items[:limit]
            checks.append(
                {
                    "id": check_id,
                    "anchor": check_id not in anchored,
                    "title": doc["title"] if doc else items[0]["title"],
                    "category": category_label(items[0]["category"]),
                    "rationale": doc["rationale"] if doc else "",
                    "remediation": doc["remediation"] if doc else items[0]["remediation"],
                    "references": reference_links(
                        list(doc["references"]) if doc else items[0]["references"]
                    ),
                    "count": len(items),
                    "findings": [finding_view(f, doc, expired) for f in shown],
                    "hidden": len(items) - len(shown),
                }
            )
            anchored.add(check_id)
        out.append({"severity": sev, "count": sum(c["count"] for c in checks), "checks": checks})
    return out
