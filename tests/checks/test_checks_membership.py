"""Membership judged from what runs: exact findings per fixture case, and the evidence."""

from __future__ import annotations

import pytest

from auditor.input.files import load_paths
from auditor.mesh.index import MeshIndex
from tests.case_helpers import CASES, Finding, findings

CASES_EXPECTED: dict[str, set[Finding]] = {
    # statically injected workloads are in the mesh; only the plain Deployment is outside
    "membership/static-injection.yaml": {
        # the plain Deployment serves no routed traffic, and the mesh enforces no egress
        ("BYP009", "Namespace", "", "mixed", "low"),
        # true of this input, and not about membership: no egress NetworkPolicy, no
        # mesh-wide STRICT PeerAuthentication
        ("BYP004", "Namespace", "", "istio-system", "medium"),
        ("MTLS001", "Namespace", "", "istio-system", "medium"),
    },
    # ambient getting-started end state: ambient workloads are in the mesh; the curl pod that
    # opts out with dataplane-mode=none is outside, and its namespace is reported as holding
    # it (BYP009 lists only the workloads outside)
    "membership/ambient-bookinfo.yaml": {
        ("MTLS001", "Namespace", "", "istio-system", "medium"),
        ("BYP004", "Namespace", "", "istio-system", "medium"),
    },
    # the running pod predates the label: its own finding, and the Deployment is outside
    "membership/predates-label.yaml": {
        ("BYP010", "Pod", "bookinfo", "ratings-v1-65f797b499-fs82w", "medium"),
        ("BYP004", "Namespace", "", "istio-system", "medium"),
        ("MTLS001", "Namespace", "", "istio-system", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(CASES_EXPECTED))
def test_membership_findings(case: str) -> None:
    # the check families that judge membership (bypass, mTLS), exactly
    assert findings(case, ("BYP", "MTLS")) == CASES_EXPECTED[case]


def memberships(case: str) -> dict[str, tuple[str, str]]:
    index = MeshIndex(load_paths([str(CASES / case)]))
    out: dict[str, tuple[str, str]] = {}
    for w in index.workloads:
        status = index.mesh_status(w)
        out[f"{w.obj.kind} {w.namespace}/{w.obj.name}"] = (status.membership, status.decided_by)
    return out


def test_static_injection_memberships() -> None:
    assert memberships("membership/static-injection.yaml") == {
        "Deployment gitops/hello": ("sidecar", "template"),
        "StatefulSet gitops/fortio-server": ("sidecar", "template"),
        "Deployment mixed/native": ("sidecar", "template"),
        "Deployment mixed/plain": ("none", "rules"),
    }


def test_running_pod_decides_over_labels() -> None:
    index = MeshIndex(load_paths([str(CASES / "membership/predates-label.yaml")]))
    deployment = next(w for w in index.workloads if w.obj.kind == "Deployment")
    status = index.mesh_status(deployment)
    assert (status.membership, status.decided_by) == ("none", "pod")
    assert status.evidence == (
        "pod has no istio-proxy container",
        "namespace label istio-injection=enabled",
        "0 of 1 pods in the input are in the mesh",
    )
    assert "created before the label" in status.reason


def test_ambient_bookinfo_memberships() -> None:
    assert memberships("membership/ambient-bookinfo.yaml") == {
        "Deployment default/productpage-v1": ("ambient", "rules"),
        "Deployment default/reviews-v1": ("ambient", "rules"),
        "Deployment default/curl": ("none", "rules"),
        "Deployment default/waypoint": ("gateway", "template"),
    }


def test_ambient_wording_never_says_sidecar() -> None:
    from tests.case_helpers import report_for

    data = report_for("membership/ambient-bookinfo.yaml")
    ambient = [e for e in data["mtls"] if e["membership"] == "ambient"]
    assert [e["workload"]["name"] for e in ambient] == ["productpage-v1", "reviews-v1"]
    for e in ambient:
        assert "sidecar" not in str(e).lower()
