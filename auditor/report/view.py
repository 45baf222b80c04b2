"""What the HTML and PDF templates show, computed from the report.json mapping alone.

Everything here is plain data (strings, numbers, lists); the templates escape every string. Only
the SVG diagrams arrive as markup, built by auditor.report.diagram with each string escaped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from auditor.base.model import Category
from auditor.base.text import display_time
from auditor.input.completeness import is_incomplete
from auditor.report import (
    diagram,
    groups,
    risk,
    view_changes,
    view_compliance,
    view_exec,
    view_findings,
    view_inventories,
)
from auditor.report.score import EXPOSURE_ID, FORMULA, is_waived, score
from auditor.report.view_findings import SEVERITIES, category_label, reference_links
from auditor.report.view_observed import observed_context

PDF_FINDINGS_PER_CHECK = 20
PDF_TABLE_ROWS = 150  # rows of an appendix table that carry a weakness; the rest are counted
# The room of a map sheet in the PDF (pt): the landscape page's content width less the figure's
# padding, and its height less the chapter's heading, lead and legend, so the first sheet sits
# under its heading and no sheet is drawn over the footer.
PDF_MAP_PAGE = diagram.Page(width=740, height=370)


def target_text(source: Mapping[str, Any]) -> str:
    if source.get("context"):
        return str(source["context"])
    paths = source.get("paths") or []
    if paths:
        return ", ".join(str(p) for p in paths)
    return str(source.get("type", "input"))


def _coverage(data: Mapping[str, Any], docs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    checks_by_kind: dict[str, list[str]] = defaultdict(list)
    for doc in data["checks"]:
        for kind in doc["looks_at"]:
            checks_by_kind[kind].append(doc["id"])
    unread = [
        {
            "kind": kind,
            # a kind read with a message was read only in part (some namespaces forbidden)
            "status": entry["status"] if entry["status"] != "ok" else "partial",
            "message": entry.get("message", ""),
            "checks": sorted(checks_by_kind.get(kind, [])),
        }
        for kind, entry in sorted(data["collection"].items())
        if entry["status"] != "ok" or entry.get("message")
    ]
    not_run = [
        {
            "check": run["check"],
            "title": docs[run["check"]]["title"] if run["check"] in docs else "",
            "status": run["status"],
            "message": run["message"],
        }
        for run in data["check_runs"]
        if run["status"] != "ran"
    ]
    summary = data["summary"]
    return {
        "kinds_read": summary["coverage"]["kinds_read"],
        "kinds_total": summary["coverage"]["kinds_total"],
        "checks_ran": summary["checks"]["ran"],
        "checks_total": summary["checks"]["total"],
        "unread": unread,
        "not_run": not_run,
        "warnings": [
            {
                "source": w["source"],
                "where": " ".join(
                    p
                    for p in (
                        f"document {w['document']}" if w.get("document") is not None else "",
                        f"items[{w['item']}]" if w.get("item") is not None else "",
                        f"{w['kind']} {w['name']}" if w.get("kind") and w.get("name") else "",
                    )
                    if p
                ),
                "problem": w["problem"],
            }
            for w in data["warnings"]
        ],
    }


def _incomplete(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first-page statement of an audit that failed closed (auditor/input/completeness.py)."""
    if not is_incomplete(data):
        return None
    audit = data["audit"]
    return {
        "reasons": list(audit.get("reasons") or ()),
        "not_read": list(audit.get("not_read") or ()),
        "kinds_read": audit.get("kinds_read", 0),
        "kinds_needed": audit.get("kinds_needed", 0),
    }


def build(data: Mapping[str, Any], *, medium: str) -> dict[str, Any]:
    """The template context. `medium` is "html" (everything) or "pdf" (capped, maps in sheets)."""
    pdf = medium == "pdf"
    docs = {d["id"]: d for d in data["checks"]}
    order = risk.RiskOrder(data)
    all_findings = order.findings()
    active = [f for f in all_findings if not is_waived(f)]
    waived = [f for f in all_findings if is_waived(f)]
    has_waivers = (
        "waivers" in data or "waiver_audit" in data or any("waiver" in f for f in all_findings)
    )
    expired = view_changes.expired_waivers(data)
    coverage_counts = (data.get("summary") or {}).get("coverage") or {}
    sc = score(all_findings, data.get("exposure") or (), coverage_counts)
    by_sev = Counter(f["severity"] for f in active)
    weaknesses = Counter(g[0]["severity"] for g in groups.active_groups(all_findings))
    by_cat = Counter(f["category"] for f in active)
    by_cat_sev = Counter((f["category"], f["severity"]) for f in active)
    source = data["source"]
    limit = PDF_FINDINGS_PER_CHECK if pdf else None
    table_limit = PDF_TABLE_ROWS if pdf else None
    resolved_rows, resolved_total, resolved_hidden = view_changes.resolved_rows(data, table_limit)
    not_compared_rows, not_compared_total, not_compared_hidden = view_changes.resolved_rows(
        data, table_limit, key="not_compared"
    )
    coverage = _coverage(data, docs)
    compliance = view_compliance.compliance_views(data, limit)
    return {
        "medium": medium,
        "tool": data["tool"],
        "generated_at": data["generated_at"],
        "generated_display": display_time(data["generated_at"]),
        "target": target_text(source),
        "source": source,
        "command": data.get("command"),
        "incomplete": _incomplete(data),
        "mesh_config": data["mesh_config"],
        "score": {
            "value": sc.value,
            "grade": sc.grade,
            "reason": view_exec.grade_reason(
                sc, weaknesses, {c: d["title"] for c, d in docs.items()}, coverage_counts
            ),
            "formula": FORMULA,
            "deductions": [
                {
                    "check": c,
                    "points": p,
                    "title": docs[c]["title"]
                    if c in docs
                    else ("Entry points the internet reaches" if c == EXPOSURE_ID else ""),
                }
                for c, p in sc.deductions
            ],
        },
        "total": len(active),
        "weaknesses_total": sum(weaknesses.values()),
        "waived_total": len(waived),
        "by_severity": [{"severity": s, "count": by_sev.get(s, 0)} for s in SEVERITIES],
        "by_category": [
            {
                "key": str(c),
                "label": category_label(str(c)),
                "count": by_cat.get(str(c), 0),
                "by_severity": [by_cat_sev.get((str(c), s), 0) for s in SEVERITIES],
            }
            for c in Category
        ],
        "top_weaknesses": view_exec.top_weaknesses(active, docs),
        "coverage": coverage,
        "not_audited": view_exec.not_audited(coverage),
        **view_inventories.inventories(data, order, table_limit, PDF_MAP_PAGE if pdf else None),
        "observed": observed_context(data, table_limit),
        "severities": view_findings.findings_by_severity(active, docs, limit, expired),
        "pdf_limit": limit,
        "has_waivers": has_waivers,
        "waived": [view_findings.finding_view(f, docs.get(f["check"])) for f in waived],
        "waiver_audit": view_changes.waiver_audit_rows(data, limit),
        "baseline": view_changes.baseline_summary(data),
        "compliance": compliance,
        "compliance_summary": view_exec.failed_controls(compliance),
        "attestation": view_compliance.attestation(data),
        "resolved_rows": resolved_rows,
        "resolved_total": resolved_total,
        "resolved_hidden": resolved_hidden,
        "not_compared_rows": not_compared_rows,
        "not_compared_total": not_compared_total,
        "not_compared_hidden": not_compared_hidden,
        "inventory": _inventory(data),
        "checks": [
            {
                **doc,
                "category_label": category_label(doc["category"]),
                "references": reference_links(doc["references"]),
                "run": {r["check"]: r for r in data["check_runs"]}.get(doc["id"]),
            }
            for doc in data["checks"]
        ],
    }


def _inventory(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "kind": kind,
            "count": data["inventory"].get(kind, entry.get("count", 0)),
            "status": entry["status"],
        }
        for kind, entry in sorted(data["collection"].items())
    ] + [
        {"kind": kind, "count": count, "status": "ok"}
        for kind, count in sorted(data["inventory"].items())
        if kind not in data["collection"]
    ]
