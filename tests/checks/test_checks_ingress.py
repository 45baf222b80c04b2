"""Ingress exposure checks (GW, VS, GAPI and the plaintext/certificate TLS checks on edges), one
fixture case each: the exact set of (check, kind, namespace, name, severity) per case."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.base.model import Severity
from tests.helpers import CASES, Key, finding_keys, scan_paths

FAMILIES = ("GW", "VS", "GAPI", "TLS")


def _ours(case: str) -> tuple[set[Key], dict[str, Any]]:
    report = scan_paths(CASES / "ingress" / f"{case}.yaml")
    assert report.data["warnings"] == []
    keys = {k for k in finding_keys(report) if k[0].startswith(FAMILIES)}
    return keys, dict(report.data)


EXPECTED: dict[str, set[Key]] = {
    "hardened-gateway": set(),
    "internal-gateway": set(),
    "gateway-api-good": set(),
    "wildcard-plaintext": {
        ("GW004", "Gateway", "marketing", "wildcard-gateway", "medium"),
        ("GW005", "Gateway", "marketing", "wildcard-gateway", "low"),
        ("TLS001", "Gateway", "marketing", "wildcard-gateway", "high"),
        ("VS004", "VirtualService", "marketing", "marketing-site", "medium"),
    },
    # Istio's samples side by side: HTTP servers on port 80 merge, SNI keeps 443 apart
    "http-merge": set(),
    "protocol-conflicts": {
        ("GW003", "Gateway", "istio-system", "tcp-echo-gateway", "medium"),
        ("GW003", "Gateway", "istio-system", "legacy-http", "medium"),
        ("GW003", "Gateway", "istio-system", "web-http", "medium"),
        ("GW003", "Gateway", "istio-system", "web-https", "medium"),
        ("TLS003", "Gateway", "istio-system", "web-https", "medium"),
    },
    # egress, internal-LB and source-restricted gateways: no GW005; plaintext is low there
    "gateway-layouts": {
        # the egress task's plain HTTP to edition.cnn.com crosses the internet in clear (#11)
        ("TLS012", "ServiceEntry", "default", "cnn", "medium"),
        ("TLS001", "Gateway", "hr", "hr-gateway", "low"),
        ("TLS001", "Gateway", "partners", "partner-gateway", "low"),
    },
    "conflicting-gateways": {
        ("GW003", "Gateway", "istio-ingress", "api-a", "medium"),
        ("GW003", "Gateway", "istio-ingress", "api-b", "medium"),
    },
    "virtualservice-bindings": {
        ("VS001", "VirtualService", "orders", "orders-missing-gateway", "low"),
        ("VS002", "VirtualService", "orders", "orders-missing-gateway", "low"),
        ("VS002", "VirtualService", "orders", "orders-other-namespace", "low"),
        ("VS003", "VirtualService", "orders", "orders-internal-ref", "low"),
    },
    "gateway-api-bad": {
        ("GAPI001", "HTTPRoute", "edge", "orphan", "low"),
        ("GAPI002", "HTTPRoute", "edge", "wrong-section", "low"),
        ("GAPI003", "HTTPRoute", "edge", "cross-namespace", "low"),
        ("GAPI004", "Gateway", "edge", "edge-gw", "medium"),
        ("GAPI005", "Gateway", "edge", "edge-gw", "medium"),
        ("TLS001", "HTTPRoute", "edge", "plain", "high"),
        ("TLS002", "Gateway", "edge", "edge-gw", "high"),
        ("TLS003", "Gateway", "edge", "edge-gw", "high"),
    },
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_findings(case: str) -> None:
    keys, _ = _ours(case)
    assert keys == EXPECTED[case]


def test_hardened_gateway_has_nothing_medium_or_above_and_is_mapped() -> None:
    """Done-when: HTTPS with an existing kubernetes.io/tls Secret, TLS 1.2+, port 80 redirecting,
    specific hosts: no tls/exposure finding of medium or above, and the map shows the path."""
    _, data = _ours("hardened-gateway")
    assert [
        f
        for f in data["findings"]
        if f["category"] in ("tls", "exposure") and Severity.parse(f["severity"]) >= Severity.MEDIUM
    ] == []
    entries = [(e["host"], e["port"], e["tls_mode"], e["redirect_only"]) for e in data["exposure"]]
    assert entries == [  # worst first (auditor/report/risk.py): the TLS listener, the redirect
        ("shop.example.com", 443, "SIMPLE", False),
        ("shop.example.com", 80, "REDIRECT", True),
    ]


def test_findings_name_the_field_and_the_problem() -> None:
    _, data = _ours("gateway-api-bad")
    by_check = {(f["check"], f["path"]): f for f in data["findings"]}
    assert ("GAPI002", "spec.parentRefs[0]") in by_check
    assert "sectionName 'admin'" in by_check[("GAPI002", "spec.parentRefs[0]")]["message"]
    tls003 = by_check[("TLS003", "spec.listeners[2].tls.certificateRefs[0]")]
    assert "no ReferenceGrant in certs" in tls003["message"]
    assert "IST0101" in tls003["references"]
    tls002 = by_check[("TLS002", "spec.listeners[1].tls.certificateRefs")]
    assert tls002["evidence"] == {"listener": "bare", "external": True}
    _, data = _ours("virtualservice-bindings")
    paths = {(f["check"], f["resource"]["name"], f["path"]) for f in data["findings"]}
    assert ("VS003", "orders-internal-ref", "spec.gateways[0]") in paths
    # VS001 does not also call the internal reference a missing Gateway
    assert not any(c == "VS001" and n == "orders-internal-ref" for c, n, _ in paths)


def test_gateway_layouts_mark_the_reachability_class() -> None:
    _, data = _ours("gateway-layouts")
    classes = {(e["host"], e["reachability"], tuple(e["source_ranges"])) for e in data["exposure"]}
    assert classes == {
        ("hr.corp.example.com", "internal", ()),
        ("partners.example.com", "restricted", ("198.51.100.0/24",)),
        ("edition.cnn.com", "cluster", ()),
    }


def test_gw003_names_the_reason() -> None:
    _, data = _ours("protocol-conflicts")
    reasons = {
        f["resource"]["name"]: f["evidence"]["reasons"]
        for f in data["findings"]
        if f["check"] == "GW003"
    }
    assert reasons == {
        "tcp-echo-gateway": ["opaque"],
        "legacy-http": ["opaque"],
        "web-http": ["protocol"],
        "web-https": ["protocol"],
    }
    _, data = _ours("conflicting-gateways")
    assert {tuple(f["evidence"]["reasons"]) for f in data["findings"] if f["check"] == "GW003"} == {
        ("duplicate-host",)
    }
