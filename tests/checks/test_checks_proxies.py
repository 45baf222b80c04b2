"""Proxy privileges and credentials (PRX001 CNI, PRX002 token): exact findings per case.

Pods the injector admitted share one cause (the injector revision's values): one finding per
revision, on its ConfigMap, else on the root namespace; a template injected with kube-inject
keeps its own finding."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.input.files import load_paths
from auditor.run.scan import scan
from tests.case_helpers import CASES as CASES_DIR
from tests.case_helpers import GENERATED_AT, Finding, findings, report_for

CASES: dict[str, set[Finding]] = {
    # the injector's ConfigMap is not in the input: the mesh (root namespace) carries it
    "proxies/sidecar-without-cni.yaml": {
        ("PRX001", "Namespace", "", "istio-system", "low"),
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
    # the values and the pod they shaped are one cause: one PRX002, on the injector
    "proxies/first-party-jwt.yaml": {
        ("PRX001", "ConfigMap", "istio-system", "istio-sidecar-injector", "low"),
        ("PRX002", "ConfigMap", "istio-system", "istio-sidecar-injector", "medium"),
    },
    "proxies/kube-injected-and-revision.yaml": {
        ("PRX001", "Deployment", "sleep", "curl", "low"),
        ("PRX001", "ConfigMap", "istio-system", "istio-sidecar-injector-canary", "low"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_proxy_findings(case: str) -> None:
    assert findings(case, ("PRX",)) == CASES[case]


def _found(case: str, check: str) -> list[dict[str, Any]]:
    return [f for f in report_for(case)["findings"] if f["check"] == check]


def test_cni_finding_of_admitted_pods_names_the_revision_and_workloads() -> None:
    by_kind = {
        f["resource"]["kind"]: f
        for f in _found("proxies/kube-injected-and-revision.yaml", "PRX001")
    }
    injector = by_kind["ConfigMap"]
    assert injector["path"] == "data.values"
    assert injector["evidence"] == {
        "revision": "canary",
        "pilot.cni.enabled": False,
        "capabilities": ["NET_ADMIN", "NET_RAW"],
        "workload_count": 2,
        "workloads": ["Deployment apps/helloworld", "Deployment apps/httpbin"],
    }
    assert injector["message"] == (
        "Sidecar injector istio-system/istio-sidecar-injector-canary does not use the CNI "
        "plugin (pilot.cni.enabled is not true): 2 workload(s) (Deployment apps/helloworld, "
        "Deployment apps/httpbin) run istio-init with NET_ADMIN, NET_RAW"
    )
    static = by_kind["Deployment"]
    assert static["path"] == (
        "spec.template.spec.initContainers[0].securityContext.capabilities.add"
    )
    assert "injected with istioctl kube-inject" in static["message"]


def test_without_the_injector_configmap_the_mesh_carries_the_finding() -> None:
    (found,) = _found("proxies/sidecar-without-cni.yaml", "PRX001")
    assert found["path"] == ""
    assert found["evidence"] == {
        "revision": "default",
        "capabilities": ["NET_ADMIN", "NET_RAW"],
        "workload_count": 1,
        "workloads": ["Deployment bookinfo/productpage-v1"],
    }
    assert found["message"] == (
        "The sidecar injector (revision default; its ConfigMap is not in the input) does not "
        "use the CNI plugin: 1 workload(s) (Deployment bookinfo/productpage-v1) run istio-init "
        "with NET_ADMIN, NET_RAW"
    )


def test_one_finding_for_many_admitted_workloads_with_capped_evidence(tmp_path: Path) -> None:
    """26 Deployments the same injector admitted: one PRX001 and one IMG001, each naming 26
    workloads, the first 20 (sorted) in its evidence and the first 3 in its message."""
    docs = list(yaml.safe_load_all((CASES_DIR / "proxies/sidecar-without-cni.yaml").read_text()))
    out = [
        d
        for d in docs
        if d["kind"] not in ("Deployment", "Pod") or d["metadata"]["name"] == "istiod"
    ]
    app = [
        d for d in docs if d["kind"] in ("Deployment", "Pod") and d["metadata"]["name"] != "istiod"
    ]
    for n in range(26):
        for d in copy.deepcopy(app):
            d["metadata"]["name"] = d["metadata"]["name"].replace("productpage-v1", f"app-{n:02d}")
            for ref in d["metadata"].get("ownerReferences") or ():
                ref["name"] = ref["name"].replace("productpage-v1", f"app-{n:02d}")
            out.append(d)
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump_all(out))
    data = dict(scan(load_paths([str(path)]), generated_at=GENERATED_AT).data)
    for check in ("PRX001", "IMG001"):
        (found,) = [
            f
            for f in data["findings"]
            if f["check"] == check and f["resource"]["kind"] == "Namespace"
        ]
        assert found["evidence"]["workload_count"] == 26
        assert found["evidence"]["workloads"] == [
            *(f"Deployment bookinfo/app-{n:02d}" for n in range(20)),
            "... and 6 more",
        ]
        assert (
            "26 workload(s) (Deployment bookinfo/app-00, Deployment bookinfo/app-01, "
            "Deployment bookinfo/app-02 and 23 more)"
        ) in found["message"]


def test_first_party_token_of_the_injector_is_one_finding() -> None:
    (found,) = _found("proxies/first-party-jwt.yaml", "PRX002")
    assert found["evidence"] == {
        "revision": "default",
        "jwtPolicy": "first-party-jwt",
        "workload_count": 1,
        "workloads": ["Deployment bookinfo/productpage-v1"],
    }


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
