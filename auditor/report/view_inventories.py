"""The inventory appendices (exposure, egress, mutual TLS, access): each leads with the entries
that carry a weakness, in the risk order, and summarises the rest.

The HTML lists the rest too, in a collapsed <details>; the PDF lists at most `limit` entries that
carry a weakness and counts the rest by kind, pointing to report.json, where every entry is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from auditor.report import risk, view_access, view_mtls, view_traffic
from auditor.report.diagram import Page
from auditor.report.diagram_egress import egress_note, egress_svgs
from auditor.report.diagram_exposure import exposure_note, exposure_svgs

# Lines per egress table cell in the PDF (registering resources, ways out): a host that a
# thousand namespaces register filled 100 of a 100k mesh's 282 pages (benchmarks/README.md).
PDF_CELL_LINES = 8
Rows = Callable[[Sequence[Mapping[str, Any]]], list[dict[str, Any]]]
EGRESS_WORDS = {
    "direct-plaintext": "direct, in plaintext",
    "direct": "direct",
    "gateway": "only through an egress gateway",
    "blocked": "every direct sender blocked by NetworkPolicy",
}


def _counted(counter: Counter[str]) -> str:
    return "; ".join(f"{n:,} {what}" for what, n in counter.most_common())


def _part(
    name: str,
    entries: Sequence[Mapping[str, Any]],
    weak: Callable[[Mapping[str, Any]], bool],
    rows: Rows,
    describe: Callable[[Mapping[str, Any]], str],
    limit: int | None,
) -> dict[str, Any]:
    """`entries` (in order) split into those that carry a weakness and the rest."""
    flagged = [e for e in entries if weak(e)]
    rest = [e for e in entries if not weak(e)]
    shown = flagged if limit is None else flagged[:limit]
    return {
        f"{name}_total": len(entries),
        f"{name}_weak_total": len(flagged),
        f"{name}_rows": rows(shown),
        f"{name}_hidden": len(flagged) - len(shown),
        # the PDF counts the rest; the HTML lists them, collapsed
        f"{name}_rest_rows": rows(rest) if limit is None else [],
        f"{name}_rest_total": len(rest),
        f"{name}_rest_summary": _counted(Counter(describe(e) for e in rest)),
    }


def _exposure_rest(e: Mapping[str, Any]) -> str:
    reach = view_traffic.REACH_LABELS.get(str(e.get("reachability") or ""), "cluster-internal")
    if e.get("tls"):
        return f"over TLS, {reach}"
    if e.get("redirect_only"):
        return f"redirect to HTTPS, {reach}"
    return f"plaintext, {reach}"


def _access_rest(a: Mapping[str, Any]) -> str:
    reach = "reachable from the internet, guarded" if a.get("exposed") else "cluster only"
    return f"{reach}, default {a.get('default')}"


def inventories(
    data: Mapping[str, Any], order: risk.RiskOrder, limit: int | None, page: Page | None
) -> dict[str, Any]:
    exposure = order.exposure()
    egress = order.egress()
    mtls = sorted(data.get("mtls") or (), key=view_mtls.sort_key)
    access = list(data.get("authorization") or ())  # absent in schema_version 1 reports
    return {
        **_part(
            "exposure",
            exposure,
            lambda e: order.exposure_severity(e) is not None,
            view_traffic.exposure_rows,
            _exposure_rest,
            limit,
        ),
        "exposure_external": sum(1 for e in exposure if e.get("external")),
        "exposure_plaintext": sum(
            1 for e in exposure if e.get("external") and not e["tls"] and not e.get("redirect_only")
        ),
        "exposure_svgs": exposure_svgs(exposure, page),
        "exposure_note": exposure_note(len(exposure)),
        **_part(
            "egress",
            egress,
            lambda e: (
                order.egress_severity(e) is not None or risk.egress_class(e).startswith("direct")
            ),
            lambda es: view_traffic.egress_rows(es, PDF_CELL_LINES if limit is not None else None),
            lambda e: EGRESS_WORDS.get(risk.egress_class(e), risk.egress_class(e)),
            limit,
        ),
        "egress_bypass": sum(1 for e in egress if risk.egress_class(e).startswith("direct")),
        "egress_svgs": egress_svgs(egress, page),
        "egress_note": egress_note(egress),
        **_part(
            "mtls",
            mtls,
            lambda e: e.get("accepts_plaintext") not in (None, "none"),
            view_mtls.mtls_rows,
            lambda e: f"accept only mutual TLS ({e.get('mode') or 'mesh default'})",
            limit,
        ),
        "mtls_outside": sum(1 for e in mtls if e.get("membership") == "none"),
        **_part(
            "access",
            access,
            lambda a: bool(
                a.get("open_to_internet")
                or a.get("weak_conditions")
                or (a.get("exposed") and a.get("default") == "allow-all")
            ),
            view_access.access_rows,
            _access_rest,
            limit,
        ),
        "access_exposed": sum(1 for a in access if a.get("exposed")),
        "access_open": sum(1 for a in access if a.get("open_to_internet")),
    }
