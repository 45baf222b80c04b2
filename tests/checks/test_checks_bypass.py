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
    # every namespace's egress is contained and nothing routes to the workloads outside the
    # mesh: their opt-outs are low (auditor/mesh/outside.py)
    "bypass/outside-the-mesh.yaml": {
        ("BYP006", "Deployment", "shop", "exporter", "low"),
        ("BYP007", "DaemonSet", "shop", "node-agent", "medium"),
        ("BYP008", "Deployment", "shop", "legacy-app", "medium"),
        ("BYP009", "Namespace", "", "reporting", "low"),
        ("BYP009", "Namespace", "", "scratch", "info"),
        ("BYP010", "Pod", "shop", "cart-5d8f7", "medium"),
    },
    "bypass/open-network-policies.yaml": {
        ("BYP004", "Namespace", "", "istio-system", "medium"),
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

    # no egress gateway: one finding on the mesh, each namespace's workloads in the evidence
    (mesh,) = [
        f
        for f in report_for("bypass/open-network-policies.yaml")["findings"]
        if f["check"] == "BYP004"
    ]
    assert mesh["resource"]["name"] == "istio-system"
    assert mesh["evidence"]["namespaces"]["jobs"] == ["Deployment cleanup"]


def test_open_rules_are_quoted() -> None:
    from tests.case_helpers import report_for

    (mesh,) = [
        f
        for f in report_for("bypass/open-network-policies.yaml")["findings"]
        if f["check"] == "BYP004"
    ]
    assert mesh["evidence"]["open_rules"] == [
        "allow-https-anywhere egress[0] allows every destination (443)",
        "allow-internet egress[0] allows ipBlock 0.0.0.0/0",
    ]
    assert set(mesh["evidence"]["namespaces"]) >= {"web", "api", "ingest"}
