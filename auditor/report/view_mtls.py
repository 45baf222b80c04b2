"""The mTLS table of the HTML/PDF report: who accepts plaintext, from whom (report.json mtls[]).

Workloads that accept plaintext sort first (every port, then some ports), then by namespace and
name; every value is tenant text and is escaped by the template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ORDER = {"all": 0, "some": 1, "none": 2}


def _ref(ref: Mapping[str, Any] | None) -> str:
    if not ref:
        return ""
    ns = ref.get("namespace")
    return f"{ref.get('kind', '')} {ns + '/' if ns else ''}{ref.get('name', '')}"


def sort_key(e: Mapping[str, Any]) -> tuple[int, str, str, str]:
    w = e.get("workload") or {}
    return (
        ORDER.get(str(e.get("accepts_plaintext")), 3),
        str(w.get("namespace") or ""),
        str(w.get("kind") or ""),
        str(w.get("name") or ""),
    )


def mtls_rows(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for e in entries:
        plaintext = []
        for p in e.get("plaintext_ports") or []:
            port = "every port" if p.get("port") == "*" else f"port {p.get('port')}"
            plaintext.append(
                {
                    "port": port,
                    "why": str(p.get("why") or ""),
                    "from": [str(x) for x in p.get("from") or []],
                }
            )
        rows.append(
            {
                "workload": _ref(e.get("workload")),
                "membership": str(e.get("membership") or "none"),
                "evidence": [str(x) for x in e.get("evidence") or []],
                "mode": str(e.get("mode") or "-"),
                "policy": _ref(e.get("policy")) or "Istio default",
                "accepts": str(e.get("accepts_plaintext") or ""),
                "plaintext": plaintext,
            }
        )
    return rows
