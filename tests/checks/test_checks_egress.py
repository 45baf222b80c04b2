"""Egress registration checks (EGR): exact findings per fixture case."""

from __future__ import annotations

import pytest

from tests.case_helpers import Finding, findings

CASES: dict[str, set[Finding]] = {
    "egress/hardened-mesh.yaml": set(),
    # REGISTRY_ONLY from the shared ConfigMap istiod merges under the revision's own (#29)
    "egress/aks-shared-meshconfig.yaml": set(),
    "egress/shared-meshconfig-env.yaml": set(),
    "egress/registration-gaps.yaml": {
        ("EGR002", "Sidecar", "shop", "open-egress", "medium"),
        ("EGR003", "VirtualService", "shop", "reviews", "medium"),  # unregistered mirror host
        ("EGR003", "VirtualService", "shop", "reviews", "low"),  # ratings, reviews:9081
        ("EGR004", "DestinationRule", "shop", "partner-tls", "low"),
        ("EGR005", "Sidecar", "billing", "default", "low"),
        ("EGR006", "ServiceEntry", "egress-config", "everything", "high"),
        ("EGR006", "ServiceEntry", "egress-config", "dot-com", "medium"),
        ("EGR007", "Sidecar", "shop", "default", "low"),
        ("EGR008", "ServiceEntry", "egress-config", "postgres", "medium"),
        ("EGR009", "ServiceEntry", "egress-config", "stripe", "low"),
        ("EGR009", "ServiceEntry", "egress-config", "stripe-http", "low"),
    },
    "egress/leaky-mesh.yaml": {
        ("EGR001", "ConfigMap", "istio-system", "istio", "medium"),
        ("EGR003", "VirtualService", "apps", "payments", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_egress_registration_findings(case: str) -> None:
    assert findings(case, ("EGR",)) == CASES[case]


def test_registration_gaps_name_the_field_and_host() -> None:
    from tests.case_helpers import report_for

    by_path = {
        (f["check"], f["path"]): f["message"]
        for f in report_for("egress/registration-gaps.yaml")["findings"]
    }
    assert by_path[("EGR003", "spec.http[0].route[0].destination.port.number")] == (
        "VirtualService shop/reviews routes to reviews:9081, but Service shop/reviews declares "
        "only ports [9080]"
    )
    assert ("EGR003", "spec.http[1].mirror.host") in by_path
    assert ("EGR003", "spec.http[1].route[0].destination.host") in by_path
    assert ("EGR005", "spec.egress[0].hosts[2]") in by_path
    assert ("EGR005", "spec.egress[0].hosts[1]") not in by_path  # api.stripe.com is registered


@pytest.mark.parametrize(
    ("case", "configmaps"),
    [
        (
            "egress/aks-shared-meshconfig.yaml",
            ["aks-istio-system/istio-asm-1-24", "aks-istio-system/istio-shared-configmap-asm-1-24"],
        ),
        (
            "egress/shared-meshconfig-env.yaml",
            ["istio-system/istio-1-24", "istio-system/istio-user"],
        ),
    ],
)
def test_the_report_names_the_merged_configmaps(case: str, configmaps: list[str]) -> None:
    from tests.case_helpers import report_for

    report = report_for(case)
    mesh = report["mesh_config"]
    assert mesh["configmaps"] == configmaps
    assert mesh["source"] == f"ConfigMap {configmaps[0]} merged over ConfigMap {configmaps[1]}"
    assert (mesh["outbound_traffic_policy"], mesh["outbound_traffic_policy_set"]) == (
        "REGISTRY_ONLY",
        True,
    )
    assert report["warnings"] == []
