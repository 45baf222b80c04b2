"""What the HTML and PDF templates show, computed from the report.json mapping alone.

Everything here is plain data (strings, numbers, lists); the templates escape every string. Only
the SVG diagrams arrive as markup, built by auditor.report.diagram with each string escaped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from auditor.baseline import NEW
from auditor.completeness import is_incomplete
from auditor.model import Category
from auditor.report import diagram, view_access, view_changes, view_compliance
from auditor.report.score import EXPOSURE_ID, FORMULA, is_waived, score
from auditor.report.text import display_time, resource_text
from auditor.report.view_mtls import mtls_context
from auditor.report.view_observed import observed_context

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
PDF_FINDINGS_PER_CHECK = 20
PDF_TABLE_ROWS = 150  # exposure and egress tables; external listeners sort first
PDF_BYPASS_REASONS = 3  # per external host; mesh-wide reasons repeat on every host
# Lines per egress table cell in the PDF (registering resources, direct senders): a host that
# a thousand namespaces register filled 100 of a 100k mesh's 282 pages (benchmarks/README.md).
PDF_CELL_LINES = 8
TOP_RISKS = 10
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


def target_text(source: Mapping[str, Any]) -> str:
    if source.get("context"):
        return str(source["context"])
    paths = source.get("paths") or []
    if paths:
        return ", ".join(str(p) for p in paths)
    return str(source.get("type", "input"))


def _waiver_note(waiver: Mapping[str, Any]) -> dict[str, Any]:
    """What a finding shows of the waiver entry that waived it (or whose expiry ended)."""
    return {key: waiver.get(key) for key in ("index", "reason", "owner", "expires", "ticket")}


def _finding_view(
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


def _findings_by_category(
    findings: Sequence[Mapping[str, Any]],
    docs: Mapping[str, Mapping[str, Any]],
    limit: int | None,
    expired: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Category (report order), then severity (worst first), then check ID; findings in order."""
    groups: dict[str, dict[str, dict[str, list[Mapping[str, Any]]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for f in findings:
        groups[f["category"]][f["severity"]][f["check"]].append(f)
    order = [str(c) for c in Category] + sorted(set(groups) - {str(c) for c in Category})
    out: list[dict[str, Any]] = []
    anchored: set[str] = set()
    for cat in order:
        if cat not in groups:
            continue
        severities = []
        for sev in SEVERITIES:
            by_check = groups[cat].get(sev)
            if not by_check:
                continue
            checks = []
            for check_id in sorted(by_check):
                items = by_check[check_id]
                doc = docs.get(check_id)
                shown = items if limit is None else items[:limit]
                checks.append(
                    {
                        "id": check_id,
                        "anchor": check_id not in anchored,
                        "title": doc["title"] if doc else items[0]["title"],
                        "rationale": doc["rationale"] if doc else "",
                        "remediation": doc["remediation"] if doc else items[0]["remediation"],
                        "references": reference_links(
                            list(doc["references"]) if doc else items[0]["references"]
                        ),
                        "count": len(items),
                        "findings": [_finding_view(f, doc, expired) for f in shown],
                        "hidden": len(items) - len(shown),
                    }
                )
                anchored.add(check_id)
            severities.append(
                {"severity": sev, "count": sum(c["count"] for c in checks), "checks": checks}
            )
        out.append(
            {
                "key": cat,
                "label": category_label(cat),
                "count": sum(s["count"] for s in severities),
                "severities": severities,
            }
        )
    return out


def _top_risks(
    findings: Sequence[Mapping[str, Any]], docs: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One line per check, worst severity first, then most resources affected."""
    per_check: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for f in findings:
        per_check[f["check"]].append(f)
    rows = []
    for check_id, items in per_check.items():
        worst = min(items, key=lambda f: SEVERITIES.index(f["severity"]))
        doc = docs.get(check_id)
        rows.append(
            {
                "check": check_id,
                "title": doc["title"] if doc else worst["title"],
                "severity": worst["severity"],
                "count": len(items),
                "new": sum(1 for f in items if f.get("baseline_status") == NEW),
                "example": resource_text(worst["resource"]),
                "category": category_label(worst["category"]),
            }
        )
    rows.sort(key=lambda r: (SEVERITIES.index(r["severity"]), -r["count"], r["check"]))
    return rows[:TOP_RISKS]


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


REACH_LABELS = {
    "internet": "internet",
    "restricted": "allowed source ranges",
    "internal": "private network",
    "node-local": "node addresses",
    "cluster": "cluster-internal",
}


def _exposure_rows(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        gw = e["gateway"]
        if e["tls"]:
            tls, tls_class = f"TLS {e['tls_mode']}", "tls"
        elif e.get("redirect_only"):
            tls, tls_class = "redirect to HTTPS", "redirect"
        else:
            tls, tls_class = "plaintext", "plain" if e.get("external") else "plain-internal"
        rows.append(
            {
                "host": e["host"],
                "port": e["port"],
                "protocol": e["protocol"],
                "tls": tls,
                "tls_class": tls_class,
                "external": bool(e.get("external")),
                "reach": REACH_LABELS.get(
                    str(e.get("reachability") or ""),
                    "external" if e.get("external") else "cluster-internal",
                )
                + (", around the Istio gateway" if e.get("via_istio_gateway") is False else ""),
                "addresses": list(e["addresses"]),
                "gateway": (f"{gw['kind']} {gw['namespace']}/{gw['name']}")
                if gw.get("namespace")
                else f"{gw['kind']} {gw['name']}",
                "listener": e.get("listener", ""),
                "routes": [resource_text(r) for r in e["routes"]],
                "backends": _rule_lines(e),
            }
        )
    return rows


def _rule_lines(entry: Mapping[str, Any]) -> list[str]:
    """Backends by route match (`path PathPrefix /debug → web:8080`), or plain backends for
    reports written before exposure entries carried their rules."""
    rules = entry.get("rules")
    if not rules:
        return list(entry["backends"])
    lines = []
    for rule in rules:
        target = ", ".join(rule["backends"]) or (
            "redirect to https" if rule.get("redirect") else "no backend"
        )
        lines.append(target if rule["match"] == "any request" else f"{rule['match']} → {target}")
    return list(dict.fromkeys(lines))


def _egress_port_line(port: Mapping[str, Any]) -> str:
    """`443 TLS: egress gateway ns/name, TLS origination application`."""
    gw = port.get("gateway")
    if port.get("path") == "egress-gateway" and isinstance(gw, Mapping):
        path = f"egress gateway {gw.get('namespace') or ''}/{gw.get('name', '')}".replace(" /", " ")
    elif port.get("path") == "egress-waypoint" and isinstance(gw, Mapping):
        path = f"egress waypoint {gw.get('namespace') or ''}/{gw.get('name', '')}"
    else:
        path = "direct"
    return (
        f"{port.get('number')} {port.get('protocol', '')}: {path}, "
        f"TLS origination {port.get('tls_origination', 'none')}"
    )


def _egress_direct_lines(port: Mapping[str, Any]) -> list[str]:
    """One line per group of workloads that reaches the port directly, and what stops it."""
    lines = []
    for g in port.get("direct") or []:
        verdict = str(g.get("verdict", ""))
        policies = ", ".join(str(p) for p in g.get("policies") or [])
        enforcement = {
            "no-policy": "no egress NetworkPolicy",
            "allowed": f"allowed by {policies}",
            "partial": f"only to {'; '.join(str(o) for o in g.get('only') or [])}",
            "blocked": f"blocked by NetworkPolicy {policies}",
        }.get(verdict, verdict)
        count = int(g.get("count") or 0)
        lines.append(
            f"{port.get('number')}: {g.get('namespace', '')} ({count} workload"
            f"{'s' if count != 1 else ''}) {g.get('why', '')}: {enforcement}"
        )
    more = int(port.get("direct_more") or 0)
    if more:
        lines.append(f"{port.get('number')}: and {more} more groups in report.json")
    return lines


def _cell(lines: list[str], limit: int | None) -> list[str]:
    """A table cell's lines, the first `limit` of them and a line saying how many more."""
    if limit is None or len(lines) <= limit:
        return lines
    return [*lines[:limit], f"… and {len(lines) - limit:,} more in report.json/HTML"]


def _egress_rows(
    entries: Sequence[Mapping[str, Any]], bypass_limit: int | None, cell_limit: int | None = None
) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        via = e.get("via_egress_gateway")
        bypass = [str(b) for b in e.get("bypass") or []]
        shown = bypass[:bypass_limit]
        rows.append(
            {
                "host": str(e.get("host", "")),
                "ports": [
                    " ".join(
                        str(p)
                        for p in (port.get("number"), port.get("protocol"), port.get("name"))
                        if p not in (None, "")
                    )
                    for port in e.get("ports") or []
                ],
                "registered_by": _cell(
                    [
                        resource_text(
                            {
                                "kind": r.get("kind", "ServiceEntry"),
                                "namespace": r.get("namespace"),
                                "name": r.get("name", ""),
                            }
                        )
                        for r in e.get("registered_by") or []
                    ],
                    cell_limit,
                ),
                "via": (
                    resource_text(
                        {
                            "kind": via.get("kind", "Gateway"),
                            "namespace": via.get("namespace"),
                            "name": via.get("name", ""),
                        }
                    )
                    if isinstance(via, Mapping)
                    else "direct from sidecar"
                ),
                "tls_origination": str(e.get("tls_origination") or "none"),
                "destination_class": str(e.get("destination_class") or "unknown"),
                "paths": [_egress_port_line(p) for p in e.get("ports") or []],
                "direct": _cell(
                    [line for p in e.get("ports") or [] for line in _egress_direct_lines(p)],
                    cell_limit,
                ),
                "notes": [str(n) for n in e.get("notes") or []],
                "bypass": shown,
                "bypass_hidden": len(bypass) - len(shown),
            }
        )
    return rows


def _incomplete(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first-page statement of an audit that failed closed (auditor/completeness.py)."""
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
    """The template context. `medium` is "html" (everything) or "pdf" (capped per check)."""
    docs = {d["id"]: d for d in data["checks"]}
    all_findings = list(data["findings"])
    active = [f for f in all_findings if not is_waived(f)]
    waived = [f for f in all_findings if is_waived(f)]
    has_waivers = (
        "waivers" in data or "waiver_audit" in data or any("waiver" in f for f in all_findings)
    )
    expired = view_changes.expired_waivers(data)
    coverage = (data.get("summary") or {}).get("coverage")
    sc = score(all_findings, data.get("exposure") or (), coverage)
    by_sev = Counter(f["severity"] for f in active)
    by_cat = Counter(f["category"] for f in active)
    by_cat_sev = Counter((f["category"], f["severity"]) for f in active)
    source = data["source"]
    limit = PDF_FINDINGS_PER_CHECK if medium == "pdf" else None
    table_limit = (
        PDF_TABLE_ROWS if medium == "pdf" else len(data["exposure"]) + len(data.get("egress") or [])
    )
    runs = {r["check"]: r for r in data["check_runs"]}
    resolved_rows, resolved_total, resolved_hidden = view_changes.resolved_rows(
        data, PDF_TABLE_ROWS if medium == "pdf" else None
    )
    not_compared_rows, not_compared_total, not_compared_hidden = view_changes.resolved_rows(
        data, PDF_TABLE_ROWS if medium == "pdf" else None, key="not_compared"
    )
    exposure = list(data["exposure"])
    egress = list(data.get("egress") or [])
    access = list(data.get("authorization") or [])  # absent in schema_version 1 reports
    access_limit = PDF_TABLE_ROWS if medium == "pdf" else len(access)
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
        "top_risks": _top_risks(active, docs),
        "coverage": _coverage(data, docs),
        "exposure_rows": _exposure_rows(exposure[:table_limit]),
        "exposure_total": len(exposure),
        "exposure_hidden": max(0, len(exposure) - table_limit),
        "exposure_external": sum(1 for e in exposure if e.get("external")),
        "exposure_plaintext": sum(
            1 for e in exposure if e.get("external") and not e["tls"] and not e.get("redirect_only")
        ),
        "exposure_svg": diagram.exposure_svg(exposure),
        "access_rows": view_access.access_rows(access[:access_limit]),
        "access_total": len(access),
        "access_hidden": max(0, len(access) - access_limit),
        "access_exposed": sum(1 for a in access if a.get("exposed")),
        "access_open": sum(1 for a in access if a.get("open_to_internet")),
        "egress_rows": _egress_rows(
            egress[:table_limit],
            PDF_BYPASS_REASONS if medium == "pdf" else None,
            PDF_CELL_LINES if medium == "pdf" else None,
        ),
        "egress_total": len(egress),
        "egress_hidden": max(0, len(egress) - table_limit),
        "egress_bypass": sum(1 for e in egress if e.get("bypass")),
        "egress_svg": diagram.egress_svg(egress),
        "observed": observed_context(data, PDF_TABLE_ROWS if medium == "pdf" else None),
        **mtls_context(data, PDF_TABLE_ROWS if medium == "pdf" else None),
        "categories": _findings_by_category(active, docs, limit, expired),
        "pdf_limit": limit,
        "has_waivers": has_waivers,
        "waived": [_finding_view(f, docs.get(f["check"])) for f in waived],
        "waiver_audit": view_changes.waiver_audit_rows(data, limit),
        "baseline": view_changes.baseline_summary(data),
        "compliance": view_compliance.compliance_views(data, limit),
        "attestation": view_compliance.attestation(data),
        "resolved_rows": resolved_rows,
        "resolved_total": resolved_total,
        "resolved_hidden": resolved_hidden,
        "not_compared_rows": not_compared_rows,
        "not_compared_total": not_compared_total,
        "not_compared_hidden": not_compared_hidden,
        "inventory": [
            {
                "kind": kind,
                "count": data["inventory"].get(kind, entry.get("count", 0)),
                "status": entry["status"],
            }
            for kind, entry in sorted(data["collection"].items())
        ]
        + [
            {"kind": kind, "count": count, "status": "ok"}
            for kind, count in sorted(data["inventory"].items())
            if kind not in data["collection"]
        ],
        "checks": [
            {
                **doc,
                "category_label": category_label(doc["category"]),
                "references": reference_links(doc["references"]),
                "run": runs.get(doc["id"]),
            }
            for doc in data["checks"]
        ],
    }
