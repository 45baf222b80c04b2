"""Egress bypass (BYP) and egress gateway authorization (AUTHZ) checks: exact findings."""

from __future__ import annotations

import pytest

from tests.case_helpers import Finding, findings

CASES: dict[str, set[Finding]] = {
    # the egress hardening is complete; the app namespace has no AuthorizationPolicy at all
    "egress/hardened-mesh.yaml": {("AUTHZ006", "Namespace", "", "apps", "medium")},
    "egress/leaky-mesh.yaml": {
        ("AUTHZ001", "Deployment", "istio-system", "istio-egressgateway", "medium"),
        ("BYP001", "ServiceEntry", "apps", "github", "medium"),
        ("BYP002", "VirtualService", "apps", "httpbin-via-egress", "medium"),
        ("BYP003", "ServiceEntry", "apps", "loop", "medium"),
        ("BYP004", "Namespace", "", "apps", "medium"),
        ("BYP004", "Namespace", "", "legacy", "medium"),
        ("BYP005", "Deployment", "apps", "web", "high"),
        ("BYP005", "Deployment", "apps", "worker", "medium"),
        ("BYP009", "Namespace", "", "legacy", "medium"),
    },
    "bypass/outside-the-mesh.yaml": {
        ("BYP006", "Deployment", "shop", "exporter", "medium"),
        ("BYP007", "DaemonSet", "shop", "node-agent", "medium"),
        ("BYP008", "Deployment", "shop", "legacy-app", "medium"),
        ("BYP009", "Namespace", "", "reporting", "medium"),
        ("BYP009", "Namespace", "", "scratch", "info"),
        ("BYP010", "Pod", "shop", "cart-5d8f7", "medium"),
    },
    "bypass/open-network-policies.yaml": {
        ("BYP004", "Namespace", "", "api", "medium"),
        ("BYP004", "Namespace", "", "ingest", "medium"),
        ("BYP004", "Namespace", "", "jobs", "medium"),
        ("BYP004", "Namespace", "", "web", "medium"),
    },
    "bypass/egress-gateway-authz.yaml": {
        ("AUTHZ001", "Deployment", "istio-egress", "egress-open", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bypass_findings(case: str) -> None:
    assert findings(case, ("BYP", "AUTHZ")) == CASES[case]


def test_egress_gateway_authz_is_reported_once_per_workload_naming_its_gateways() -> None:
    from tests.case_helpers import report_for

    (found,) = [
        f
        for f in report_for("bypass/egress-gateway-authz.yaml")["findings"]
        if f["check"] == "AUTHZ001"
    ]
    assert found["evidence"]["gateways"] == ["istio-egress/open", "istio-egress/open-http"]
    assert found["evidence"]["policies"] == ["istio-egress/allow-all-namespaces"]


def test_partial_network_policy_names_the_uncovered_workload_only() -> None:
    from tests.case_helpers import report_for

    (jobs,) = [
        f
        for f in report_for("bypass/open-network-policies.yaml")["findings"]
        if f["check"] == "BYP004" and f["resource"]["name"] == "jobs"
    ]
    assert jobs["evidence"]["workloads"] == ["Deployment cleanup"]


def test_open_rules_are_quoted() -> None:
    from tests.case_helpers import report_for

    by_ns = {
        f["resource"]["name"]: f["evidence"]["open_rules"]
        for f in report_for("bypass/open-network-policies.yaml")["findings"]
        if f["check"] == "BYP004"
    }
    assert by_ns["web"] == ["allow-internet egress[0] allows ipBlock 0.0.0.0/0"]
    assert by_ns["api"] == ["allow-https-anywhere egress[0] allows every destination (443)"]
    assert by_ns["ingest"] == []
