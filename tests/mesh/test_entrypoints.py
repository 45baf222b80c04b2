"""Every entry point in the exposure map, and the applications reachable around the Istio gateway
(GW006 Services, GW007 Ingress, GW008 hostPort): exact findings per case, each case modelled on a
public repository's manifests (see each fixture's header)."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.base.model import Severity
from tests.helpers import CASES, Key, finding_keys, scan_paths

FAMILIES = ("GW", "VS", "GAPI", "TLS")


def _scan(case: str) -> tuple[set[Key], dict[str, Any]]:
    report = scan_paths(CASES / "entrypoints" / f"{case}.yaml")
    assert report.data["warnings"] == []
    keys = {k for k in finding_keys(report) if k[0].startswith(FAMILIES)}
    return keys, dict(report.data)


EXPECTED: dict[str, set[Key]] = {
    # kubeflow/manifests: ClusterIP ingress, default deny: nothing from outside
    "ml-platform": set(),
    # microservices-demo: frontend-external around the gateway, plus the plaintext wildcard path
    "demo-shop": {
        ("GW006", "Service", "onlineboutique", "frontend-external", "high"),
        ("TLS001", "Gateway", "onlineboutique", "frontend-gateway", "high"),
        ("GW004", "Gateway", "onlineboutique", "frontend-gateway", "medium"),
        ("VS004", "VirtualService", "onlineboutique", "frontend-ingress", "medium"),
        ("GW005", "Gateway", "onlineboutique", "frontend-gateway", "low"),
    },
    # Keycloak on a NodePort in plaintext, and an Ingress through another controller
    "identity-provider": {
        ("GW006", "Service", "default", "keycloak", "medium"),
        ("GW007", "Ingress", "default", "keycloak", "medium"),
    },
    # internal and source-restricted load balancers: never medium or above
    "internal-services": {
        ("GW006", "Service", "finance", name, "low")
        for name in ("aws-internal", "gke-internal", "aks-internal", "ack-intranet", "office-only")
    },
    # ingress-nginx bound to host ports 80/443
    "host-port": {
        ("GW008", "DaemonSet", "ingress-nginx", "ingress-nginx-controller", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_findings(case: str) -> None:
    keys, _ = _scan(case)
    assert keys == EXPECTED[case]


def _entries(data: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {
        (
            e["entry"],
            e["gateway"]["kind"],
            e["gateway"]["name"],
            e["host"],
            e["port"],
            e["protocol"],
            e["reachability"],
            e["via_istio_gateway"],
            tuple(e["workloads"]),
        )
        for e in data["exposure"]
    }


def test_exposure_lists_every_entry_point() -> None:
    _, data = _scan("demo-shop")
    assert _entries(data) == {
        (
            "istio-gateway",
            "Gateway",
            "frontend-gateway",
            "*",
            80,
            "HTTP",
            "internet",
            True,
            ("istio-system/istio-ingressgateway",),
        ),
        (
            "service",
            "Service",
            "frontend-external",
            "203.0.113.80",
            80,
            "HTTP",
            "internet",
            False,
            ("onlineboutique/frontend",),
        ),
    }
    _, data = _scan("identity-provider")
    assert _entries(data) == {
        (
            "service",
            "Service",
            "keycloak",
            "*",
            8080,
            "HTTP",
            "node-local",
            False,
            ("default/keycloak",),
        ),
        (
            "ingress",
            "Ingress",
            "keycloak",
            "keycloak.34.29.51.255.nip.io",
            443,
            "HTTPS",
            "internet",
            False,
            ("default/keycloak",),
        ),
    }
    _, data = _scan("host-port")
    assert _entries(data) == {
        (
            "host-port",
            "DaemonSet",
            "ingress-nginx-controller",
            "*",
            port,
            proto,
            "node-local",
            False,
            ("ingress-nginx/ingress-nginx-controller",),
        )
        for port, proto in ((80, "HTTP"), (443, "HTTPS"))
    }


def test_nothing_from_outside_on_the_ml_platform() -> None:
    _, data = _scan("ml-platform")
    assert {e["reachability"] for e in data["exposure"]} == {"cluster"}
    assert [
        (f["check"], f["severity"])
        for f in data["findings"]
        if f["category"] == "exposure" and Severity.parse(f["severity"]) >= Severity.MEDIUM
    ] == []


def test_around_gateway_finding_names_service_ports_and_workloads() -> None:
    _, data = _scan("demo-shop")
    (gw006,) = [f for f in data["findings"] if f["check"] == "GW006"]
    assert gw006["message"] == (
        "LoadBalancer Service onlineboutique/frontend-external exposes onlineboutique/frontend "
        "on port(s) 80/HTTP (node port 31380) to the internet, around the Istio ingress gateway; "
        "plaintext HTTP on 80"
    )
    assert gw006["evidence"]["workloads"] == ["onlineboutique/frontend"]
    _, data = _scan("internal-services")
    ranges = {
        f["resource"]["name"]: f["evidence"]["source_ranges"]
        for f in data["findings"]
        if f["check"] == "GW006"
    }
    assert ranges["office-only"] == ["198.51.100.0/24"]
