"""What the HTML and PDF show of control frameworks and of the attestation, from report.json alone.

Plain data only; the templates escape every string (framework files are user input too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.base.text import display_time, resource_text

STATUS_ORDER = {"failed": 0, "not assessed": 1, "waived": 2, "passed": 3}


def _finding_refs(
    ids: list[str], by_id: Mapping[str, Mapping[str, Any]], limit: int | None
) -> dict[str, Any]:
    shown = ids if limit is None else ids[:limit]
    rows = []
    for fid in shown:
        f = by_id.get(fid)
        if f is None:
            continue
        rows.append(
            {
                "check": f["check"],
                "severity": f["severity"],
                "resource": resource_text(f["resource"]),
                "waived": isinstance(f.get("waiver"), Mapping),
            }
        )
    return {"rows": rows, "hidden": len(ids) - len(shown)}


def compliance_views(data: Mapping[str, Any], limit: int | None) -> list[dict[str, Any]]:
    """One entry per framework: its results and each control, failed ones first."""
    by_id = {str(f["id"]): f for f in data["findings"]}
    out = []
    for entry in data.get("compliance") or ():
        fw = entry["framework"]
        controls = sorted(entry["controls"], key=lambda c: STATUS_ORDER.get(str(c["status"]), 9))
        out.append(
            {
                "anchor": "fw-" + "".join(ch if ch.isalnum() else "-" for ch in fw["id"]),
                "framework": fw,
                "summary": entry["summary"],
                "controls": [
                    {
                        **c,
                        "status_class": str(c["status"]).replace(" ", "-"),
                        "finding_refs": _finding_refs(list(c["findings"]), by_id, limit),
                    }
                    for c in controls
                ],
            }
        )
    return out


def attestation(data: Mapping[str, Any]) -> dict[str, Any]:
    """The facts an auditor cites: what, when, with what, how completely, against what, waived."""
    source = data["source"]
    collection = data["collection"]
    evidence = data.get("evidence") or {}
    runs = data["check_runs"]
    waivers = [
        {
            "index": w.get("index"),
            "target": w.get("target", ""),
            "owner": w.get("owner") or "not given",
            "reason": w.get("reason", ""),
            "expires": w.get("expires") or "never",
            "status": w.get("status", ""),
            "matched": len(w.get("findings") or ()),
        }
        for w in data.get("waiver_audit") or ()
    ]
    return {
        "generated_display": display_time(data["generated_at"]),
        "collected_display": display_time(source.get("collected_at"))
        if source.get("collected_at")
        else "",
        "input_sha256": evidence.get("input_sha256", ""),
        "input_objects": evidence.get("input_objects"),
        "digest_method": evidence.get("method", ""),
        "kinds_read": sum(1 for c in collection.values() if c["status"] == "ok"),
        "kinds_total": len(collection),
        "kinds_not_read": sorted(k for k, c in collection.items() if c["status"] != "ok"),
        "checks_ran": sum(1 for r in runs if r["status"] == "ran"),
        "checks_total": len(runs),
        "frameworks": [
            {
                "id": e["framework"]["id"],
                "title": e["framework"]["title"],
                "revision": e["framework"].get("revision", ""),
                "origin": e["framework"]["origin"],
                "sha256": e["framework"]["sha256"],
                "summary": e["summary"],
            }
            for e in data.get("compliance") or ()
        ],
        "waivers": waivers,
        "waivers_applied": "waiver_audit" in data,
    }
