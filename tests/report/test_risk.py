"""The one risk order (auditor/report/risk.py): severity, then reachability, then weight, on the
demo mesh and a generated 15k-object mesh, for findings, exposure entries, egress hosts and the
CSV rows; the egress `why` vocabulary mapped to ways out."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.report import risk
from auditor.report.csv_report import to_csv

# The demo's entry points as its manifests define them (fixtures/demo-mesh): the two plaintext
# HTTP listeners the internet reaches, then the two TLS hosts whose Gateway servers carry a
# high finding (missing and malformed certificate Secrets), then the NodePort around the gateway.
DEMO_WORST_ENTRIES = [
    ("*", 80, risk.INTERNET_PLAINTEXT, "high"),
    ("partners.example.com", 80, risk.INTERNET_PLAINTEXT, "high"),
    ("checkout.example.com", 443, "internet", "high"),
    ("pay.example.com", 443, "internet", "high"),
    # ISO002 (payments-api labelled sensitive, medium) joins its hosts' entries: an internet
    # entry at medium now ranks before the node-local NodePort
    ("checkout.example.com", 80, "internet", "medium"),
]
# The 15k mesh's plaintext HTTP listeners on internet-facing gateways (benchmarks/generate.py
# --objects 15000 --seed 1 plants them; each carries a TLS001 high).
MESH15K_PLAINTEXT = {
    "content-0005.example.com",
    "content-0113.example.com",
    "finance-0087.example.com",
    "mobile-0137.example.com",
    "search-0106.example.com",
    "shop-0036.example.com",
    "shop-0162.example.com",
}


def _entries(data: dict[str, Any], n: int) -> list[tuple[Any, ...]]:
    order = risk.RiskOrder(data)
    return [
        (e["host"], e["port"], risk.exposure_class(e), order.exposure_severity(e))
        for e in data["exposure"][:n]
    ]


def test_demo_exposure_worst_first(demo_data: dict[str, Any]) -> None:
    assert _entries(demo_data, 5) == DEMO_WORST_ENTRIES
    # renderers sort again (a saved report.json of another order): the same order
    shuffled = list(demo_data["exposure"])
    random.Random(7).shuffle(shuffled)
    again = risk.RiskOrder(demo_data).exposure(shuffled)
    assert [e["host"] for e in again] == [e["host"] for e in demo_data["exposure"]]


def test_demo_findings_worst_first(demo_data: dict[str, Any]) -> None:
    order = risk.RiskOrder(demo_data)
    first = [
        (f["check"], f["resource"]["name"], f["severity"], order.finding_reach(f))
        for f in demo_data["findings"][:4]
    ]
    assert first == [
        ("TLS001", "wildcard-gateway", "high", risk.INTERNET_PLAINTEXT),
        ("TLS001", "partner-debug", "high", risk.INTERNET_PLAINTEXT),
        ("TLS003", "payments-gateway", "high", "internet"),
        ("TLS004", "payments-gateway", "high", "internet"),
    ]
    ranks = [risk.SEVERITY_RANK[f["severity"]] for f in demo_data["findings"]]
    assert ranks == sorted(ranks, reverse=True)


def test_join_is_exact(demo_data: dict[str, Any]) -> None:
    """TLS003 names spec.servers[1] of payments-gateway: it joins that server's entry only."""
    order = risk.RiskOrder(demo_data)
    by = {(e["host"], e["port"]): e for e in demo_data["exposure"]}
    checks = {
        key: {f["check"] for f in order.entry_findings(by[key])}
        for key in [("checkout.example.com", 443), ("pay.example.com", 443), ("*", 80)]
    }
    assert checks == {
        # ISO002 names VirtualService payments-api, which routes both hosts
        ("checkout.example.com", 443): {"TLS003", "ISO002"},
        ("pay.example.com", 443): {"TLS004", "TLS005", "ISO002"},
        # VS004 through the route bound to it; GW005 names the Gateway's selector (every entry)
        ("*", 80): {"TLS001", "GW004", "GW005", "VS004"},
    }


def test_demo_egress_worst_first(demo_data: dict[str, Any]) -> None:
    order = risk.RiskOrder(demo_data)
    first = [
        (e["host"], risk.egress_class(e), order.egress_severity(e)) for e in demo_data["egress"][:4]
    ]
    assert first == [
        # the cloud metadata endpoint (EGR010 high), reached directly in plaintext
        ("metadata.google.internal", risk.DIRECT_PLAINTEXT, "high"),
        ("api.crm-vendor.example.com", risk.DIRECT_PLAINTEXT, "medium"),
        ("settlement-db.bank-partner.example.net", risk.DIRECT_PLAINTEXT, "medium"),
        ("*.com", risk.DIRECT, "medium"),
    ]


def test_csv_rows_in_risk_order(demo_data: dict[str, Any]) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(demo_data))))
    assert [(r["check"], r["name"]) for r in rows[:2]] == [
        ("TLS001", "wildcard-gateway"),
        ("TLS001", "partner-debug"),
    ]


def test_15k_plaintext_listeners_first(mesh15k_data: dict[str, Any]) -> None:
    first = _entries(mesh15k_data, 8)
    assert {host for host, *_ in first[:7]} == MESH15K_PLAINTEXT
    assert {(port, cls, sev) for _, port, cls, sev in first[:7]} == {
        (80, risk.INTERNET_PLAINTEXT, "high")
    }
    assert first[7][2] != risk.INTERNET_PLAINTEXT
    # the 15k mesh's only host with direct senders has them all blocked by NetworkPolicy
    star = next(e for e in mesh15k_data["egress"] if e["host"] == "*.com")
    assert risk.egress_class(star) == risk.BLOCKED


def test_every_why_is_a_known_way(demo_data: dict[str, Any], mesh15k_data: dict[str, Any]) -> None:
    seen = {
        g["why"]: risk.way_out(g)
        for data in (demo_data, mesh15k_data)
        for e in data["egress"]
        for p in e["ports"]
        for g in p["direct"]
    }
    assert risk.OTHER_WAY not in seen.values(), seen
    assert {
        "outside the mesh (namespace not labelled for injection)": risk.OUTSIDE_MESH,
        "capture excluded (excludeOutboundIPRanges 0.0.0.0/0)": risk.CAPTURE_EXCLUDED,
        "runs as the proxy's UID 1337, so its traffic is not captured": risk.PROXY_UID,
        "unregistered host passed through by its sidecar (ALLOW_ANY)": risk.ALLOW_ANY,
        "sent straight out by its sidecar (port not routed through an egress gateway)": (
            risk.NOT_ROUTED
        ),
        "sent straight out by its sidecar": risk.PROXY_DIRECT,
    }.items() <= seen.items()


def test_way_vocabulary() -> None:
    cases = {
        "capture excluded (excludeOutboundPorts 443)": risk.CAPTURE_EXCLUDED,
        "capture excluded if its address is in (excludeOutboundIPRanges 10.0.0.0/8)": (
            risk.CAPTURE_EXCLUDED
        ),
        "not captured (includeOutboundIPRanges 10.0.0.0/8)": risk.NOT_CAPTURED,
        "unregistered host passed through by its ztunnel (ALLOW_ANY)": risk.ALLOW_ANY,
        "sent straight out by its ztunnel (the mesh has no egress gateway)": (
            risk.NO_EGRESS_GATEWAY
        ),
        "something new": risk.OTHER_WAY,
    }
    assert {why: risk.way_out({"why": why}) for why in cases} == cases


SEVERITIES = st.sampled_from(sorted(risk.SEVERITY_RANK))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(SEVERITIES, st.sampled_from(["A001", "B002"]), st.integers(0, 5))))
def test_finding_order_is_a_total_order(items: list[tuple[str, str, int]]) -> None:
    """Worst severity first whatever the input order; equal keys never depend on it."""
    findings = [
        {"id": f"{check}-{i:016x}", "check": check, "severity": sev, "resource": {"name": str(n)}}
        for i, (sev, check, n) in enumerate(items)
    ]
    order = risk.RiskOrder({"findings": findings})
    once = order.findings()
    assert order.findings(list(reversed(findings))) == once
    ranks = [risk.SEVERITY_RANK[f["severity"]] for f in once]
    assert ranks == sorted(ranks, reverse=True)
