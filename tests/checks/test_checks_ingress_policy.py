"""Ingress NetworkPolicy for istiod and gateways (NP001): exact findings."""

from __future__ import annotations

from tests.case_helpers import findings, report_for


def test_ingress_policy_findings() -> None:
    assert findings("netpol/control-plane-ingress.yaml", ("NP",)) == {
        ("NP001", "Deployment", "istio-ingress", "istio-ingressgateway", "low"),
    }


def test_finding_names_the_policies_that_do_not_isolate_it() -> None:
    (found,) = [
        f
        for f in report_for("netpol/control-plane-ingress.yaml")["findings"]
        if f["check"] == "NP001"
    ]
    assert found["evidence"] == {"policies_in_namespace": ["egress-only", "internal-ingress"]}


def test_hardened_mesh_isolates_istiod_and_its_gateway() -> None:
    assert findings("egress/hardened-mesh.yaml", ("NP",)) == set()
