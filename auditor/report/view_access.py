"""The access table (report.json `authorization[]`) as template rows: exposed workloads first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _source_text(source: Mapping[str, Sequence[str]]) -> str:
    if "anyone" in source:
        return "any caller"
    return "; ".join(f"{k} {', '.join(v)}" for k, v in source.items())


def caller_lines(entry: Mapping[str, Any]) -> list[str]:
    default = entry.get("default")
    if default == "allow-all":
        return ["anyone (no ALLOW policy)"]
    if default == "deny-all":
        return ["nobody (deny-all)"]
    lines = []
    for caller in entry.get("effective_callers") or ():
        who = " or ".join(_source_text(s) for s in caller.get("sources") or ()) or "any caller"
        scope = ", some operations" if caller.get("limited_to_operations") else ""
        lines.append(f"{who}{scope} ({caller['policy']} rule {caller['rule']})")
    return lines


def identity_lines(entry: Mapping[str, Any]) -> tuple[str, list[str]]:
    """(status, lines) for the access table's "Identity rules" column (AUTHZ015's model)."""
    rules = entry.get("identity_rules") or {}
    status = str(rules.get("status") or "not-judged")
    if status == "bypassable":
        return status, [f"skipped by plaintext: DENY {r}" for r in rules.get("skipped_rules") or ()]
    if status == "plaintext-denied":
        return status, [
            f"plaintext callers denied by ALLOW {p}"
            for p in rules.get("denying_allow_policies") or ()
        ]
    shown = {
        "enforced": "enforced: every request carries a peer identity",
        "none": "no rule on peer identity",
    }
    return status, [shown.get(status, "not judged")]


def access_rows(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        w = e["workload"]
        rows.append(
            {
                "workload": f"{w['kind']} {w['namespace']}/{w['name']}",
                "role": e["role"],
                "reach": (
                    "internet, unguarded"
                    if e.get("open_to_internet")
                    else ("internet, via guarded gateway" if e.get("exposed") else "cluster")
                ),
                "open": bool(e.get("open_to_internet")),
                "default": e["default"],
                "callers": caller_lines(e),
                "token": "required" if e.get("token_required") else "optional",
                "custom": list(e.get("custom_authorization") or ()),
                "policies": [
                    f"{p['action']} {p['namespace']}/{p['name']}"
                    + ("" if p.get("enforced") else " (not enforced)")
                    for p in e.get("policies") or ()
                ],
                "identity_status": identity_lines(e)[0],
                "identity": identity_lines(e)[1],
                "weak": [
                    f"{w_['policy']} {w_['path']}: {w_['reason']}"
                    for w_ in e.get("weak_conditions") or ()
                ],
            }
        )
    return rows
