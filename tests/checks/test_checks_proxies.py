"""Proxy privileges and credentials (PRX001 CNI, PRX002 token): exact findings per case."""

from __future__ import annotations

import pytest

from tests.case_helpers import Finding, findings, report_for

CASES: dict[str, set[Finding]] = {
    "proxies/sidecar-without-cni.yaml": {
        ("PRX001", "Deployment", "bookinfo", "productpage-v1", "low"),
    },
    "proxies/sidecar-with-cni.yaml": set(),
    "proxies/injector-without-cni.yaml": {
        ("PRX001", "ConfigMap", "istio-system", "istio-sidecar-injector", "low"),
    },
    "proxies/ambient.yaml": set(),
    "proxies/gateway-connection-limits.yaml": {
        ("PRX003", "Deployment", "istio-ingress", "public-default", "low"),
        ("PRX003", "Deployment", "istio-ingress", "public-custom-bootstrap", "info"),
    },
    "proxies/first-party-jwt.yaml": {
        ("PRX001", "Deployment", "bookinfo", "productpage-v1", "low"),
        ("PRX002", "Deployment", "bookinfo", "productpage-v1", "medium"),
        ("PRX002", "ConfigMap", "istio-system", "istio-sidecar-injector", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_proxy_findings(case: str) -> None:
    assert findings(case, ("PRX",)) == CASES[case]


def test_cni_finding_names_the_capabilities_and_the_field() -> None:
    (found,) = [
        f
        for f in report_for("proxies/sidecar-without-cni.yaml")["findings"]
        if f["check"] == "PRX001"
    ]
    assert found["evidence"] == {
        "capabilities": ["NET_ADMIN", "NET_RAW"],
        "pod": "productpage-v1-6f9d8c7b5-abcde",
    }
    assert found["path"] == "spec.template.spec.initContainers[0].securityContext.capabilities.add"


def test_cni_is_not_judged_without_pods_or_injector_values() -> None:
    runs = {
        r["check"]: r for r in report_for("egress/istio-docs-hardened-egress.yaml")["check_runs"]
    }
    assert runs["PRX001"]["status"] == "ran"
    assert "not judged: no injected Pod" in runs["PRX001"]["message"]


@pytest.mark.parametrize(
    ("default", "annotation", "limit"),
    [
        ({}, None, None),
        ({"runtimeValues": {"overload.global_downstream_max_connections": "100"}}, None, 100),
        # the pod's annotation wins over the mesh default, field by field
        (
            {"runtimeValues": {"overload.global_downstream_max_connections": "100"}},
            "connectionSettings: {globalDownstreamConnectionLimit: 7}",
            7,
        ),
        # connectionSettings 0 is "not set": the next source in Istio's order applies
        (
            {"proxyMetadata": {"ISTIO_META_GLOBAL_DOWNSTREAM_MAX_CONNECTIONS": "9"}},
            "connectionSettings: {globalDownstreamConnectionLimit: 0}",
            9,
        ),
        ({}, "not: [valid", None),
    ],
)
def test_downstream_limit_follows_istio_precedence(
    default: dict, annotation: str | None, limit: int | None
) -> None:
    from auditor.istio import proxy_config as pc

    assert pc.downstream_limit(pc.merged(default, annotation))[0] == limit
