"""Workloads from every pod-template owner and from Pods' ownerReferences (issue 29, item 4).

Each case is a fixture modelled on a public source (its header names it): Argo Rollouts with
Istio subsets, a Rollout referencing a Deployment, Pods read without their controllers, a bare
ReplicaSet and a CronJob with the Job it started.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.input.files import load_paths
from auditor.mesh.index import MeshIndex
from tests.case_helpers import CASES, Finding, findings, report_for

Row = tuple[str, str, bool, tuple[str, str, str] | None, str]

ROLLOUT = ("Rollout", "rollouts-demo-istio", "istio-rollout")
GATEWAY: Row = ("Deployment", "istio-ingressgateway", False, None, "spec.template")

WORKLOADS: dict[str, list[Row]] = {
    # the ReplicaSets are the Rollout's (ownerReferences): audited as the Rollout
    "membership/argo-rollouts-istio-subset.yaml": [
        GATEWAY,
        ("ReplicaSet", "istio-rollout-6b4f5c8d7f", True, ROLLOUT, "spec.template"),
        ("ReplicaSet", "istio-rollout-8d9b6c5f4d", True, ROLLOUT, "spec.template"),
        ("Rollout", "istio-rollout", False, None, "spec.template"),
    ],
    # controllers not read: each ReplicaSet's pod stands for it
    "membership/argo-rollouts-pods-only.yaml": [
        GATEWAY,
        ("Pod", "istio-rollout-6b4f5c8d7f-x7k2p", False, None, ""),
        ("Pod", "istio-rollout-8d9b6c5f4d-q9m4t", False, None, ""),
    ],
    "membership/argo-rollouts-rollout-only.yaml": [
        GATEWAY,
        ("Rollout", "istio-rollout", False, None, "spec.template"),
    ],
    # the Rollout runs the Deployment's template; the Deployment (replicas 0) runs nothing
    "membership/argo-rollouts-workload-ref.yaml": [
        (
            "Deployment",
            "rollout-ref-deployment",
            True,
            ("Rollout", "demo", "rollout-ref-deployment"),
            "spec.template",
        ),
        ("Rollout", "rollout-ref-deployment", False, None, "spec.workloadRef"),
    ],
    "membership/batch-and-replicasets.yaml": [
        ("ReplicaSet", "frontend", False, None, "spec.template"),
        ("Job", "hello-29000000", True, ("CronJob", "guestbook", "hello"), "spec.template"),
        ("CronJob", "hello", False, None, "spec.jobTemplate.spec.template"),
    ],
}


def index_of(case: str) -> MeshIndex:
    return MeshIndex(load_paths([str(CASES / case)]))


@pytest.mark.parametrize("case", sorted(WORKLOADS))
def test_workloads_and_owners(case: str) -> None:
    rows = [
        (w.obj.kind, w.obj.name, w.owned, w.owner, w.template_path)
        for w in index_of(case).workloads
    ]
    assert rows == WORKLOADS[case]


def test_pods_count_for_their_top_owner(tmp_path: Path) -> None:
    # a Pod whose ReplicaSet is in the input counts among the Rollout's running pods
    text = (CASES / "membership/argo-rollouts-istio-subset.yaml").read_text()
    pod = """---
apiVersion: v1
kind: Pod
metadata:
  name: istio-rollout-6b4f5c8d7f-x7k2p
  namespace: rollouts-demo-istio
  labels: {app: istio-rollout, rollouts-pod-template-hash: 6b4f5c8d7f}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: istio-rollout-6b4f5c8d7f, controller: true,
     uid: 7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}
spec:
  containers: [{name: istio-rollout, image: argoproj/rollouts-demo:blue}]
"""
    path = tmp_path / "case.yaml"
    path.write_text(text + pod)
    index = MeshIndex(load_paths([str(path)]))
    rollout = next(w for w in index.workloads if w.obj.kind == "Rollout")
    assert [p.obj.name for p in index.running_pods(rollout)] == ["istio-rollout-6b4f5c8d7f-x7k2p"]
    pod_workload = next(w for w in index.workloads if w.obj.kind == "Pod")
    assert pod_workload.owned and pod_workload.owner == ROLLOUT


EXPECTED: dict[str, set[Finding]] = {
    # both subsets select running pods (the ReplicaSets' templates carry the hashes); the
    # Rollout's pods take any caller and the public gateway routes to them
    "membership/argo-rollouts-istio-subset.yaml": {
        ("AUTHZ006", "Namespace", "", "istio-system", "high"),
    },
    "membership/argo-rollouts-pods-only.yaml": {
        ("AUTHZ006", "Namespace", "", "istio-system", "high"),
    },
    # only the Rollout read: its status names the hashes the subsets carry
    "membership/argo-rollouts-rollout-only.yaml": {
        ("AUTHZ006", "Namespace", "", "istio-system", "high"),
    },
    # a hash the Rollout no longer runs selects nothing
    "membership/argo-rollouts-stale-hash.yaml": {
        ("AUTHZ006", "Namespace", "", "istio-system", "high"),
        ("CFG003", "DestinationRule", "rollouts-demo-istio", "rollout-destrule", "low"),
    },
    "membership/argo-rollouts-workload-ref.yaml": {
        ("AUTHZ006", "Namespace", "", "istio-system", "medium"),
    },
    # the bare ReplicaSet is an application behind a Service; the CronJob serves nothing
    "membership/batch-and-replicasets.yaml": {
        ("AUTHZ006", "Namespace", "", "istio-system", "medium"),
    },
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_findings_on_other_template_owners(case: str) -> None:
    assert findings(case, ("AUTHZ", "CFG")) == EXPECTED[case]


def test_mesh_finding_names_the_rollout() -> None:
    data = report_for("membership/argo-rollouts-istio-subset.yaml")
    [finding] = [f for f in data["findings"] if f["check"] == "AUTHZ006"]
    assert finding["evidence"]["workloads"] == [
        "Rollout rollouts-demo-istio/istio-rollout (exposed)"
    ]


def _pod(name: str, kind: str, owner: str) -> str:
    return f"""---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: monitoring
  labels: {{app: {name.rsplit("-", 1)[0]}}}
  ownerReferences:
  - {{apiVersion: v1, kind: {kind}, name: {owner}, controller: true}}
spec:
  containers: [{{name: main, image: busybox:1.28}}]
"""


def test_pods_of_a_missing_controller_share_one_stand_in(tmp_path: Path) -> None:
    # a DaemonSet's pods read without the DaemonSet: one workload (the first pod), not one per
    # node; mirror pods of static pods (controller: the Node) are each their own workload, as
    # the kubelet creates one per static pod manifest (kubernetes.io "Create static Pods")
    path = tmp_path / "pods.yaml"
    path.write_text(
        _pod("node-exporter-b7x2k", "DaemonSet", "node-exporter")
        + _pod("node-exporter-a9z1q", "DaemonSet", "node-exporter")
        + _pod("etcd-node-1", "Node", "node-1")
        + _pod("kube-scheduler-node-1", "Node", "node-1")
    )
    rows = [(w.obj.name, w.owned, w.owner) for w in MeshIndex(load_paths([str(path)])).workloads]
    assert rows == [
        ("etcd-node-1", False, None),
        ("kube-scheduler-node-1", False, None),
        ("node-exporter-a9z1q", False, None),
        ("node-exporter-b7x2k", True, ("Pod", "monitoring", "node-exporter-a9z1q")),
    ]


def test_old_revisions_are_stored_without_their_template(tmp_path: Path) -> None:
    # a Deployment keeps ten old ReplicaSets by default (revisionHistoryLimit), scaled to zero:
    # the snapshot keeps what identifies them, not their pod templates, and they are no workload
    path = tmp_path / "rs.yaml"
    path.write_text(
        """apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-5d8f7b9c4d, namespace: shop, labels: {app: web}}
spec:
  replicas: 0
  selector: {matchLabels: {app: web, pod-template-hash: 5d8f7b9c4d}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 5d8f7b9c4d}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
"""
    )
    snapshot = load_paths([str(path)])
    (rs,) = snapshot.objects("apps/ReplicaSet")
    assert rs.spec == {
        "replicas": 0,
        "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d8f7b9c4d"}},
    }
    assert MeshIndex(snapshot).workloads == []
