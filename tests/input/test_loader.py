"""The file loader: every input shape users feed it, and bad input handled without a crash."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from auditor.base.errors import InputError
from auditor.input.files import USING_LIBYAML, load_paths
from auditor.input.snapshot import CollectionStatus, SourceInfo
from auditor.input.snapshot_file import snapshot_document, write_snapshot
from tests.helpers import CASES, finding_keys, scan_paths

INPUT = CASES / "input"


def names(snapshot, key: str) -> set[tuple[str, str]]:
    return {(o.namespace, o.name) for o in snapshot.objects(key)}


def test_libyaml_loader_is_used() -> None:
    assert USING_LIBYAML


def test_kubectl_lists_yaml_and_json_and_multidoc() -> None:
    snap = load_paths([str(INPUT / "kubectl-list")])
    assert names(snap, "networking.istio.io/Gateway") == {
        ("istio-ingress", "shop-gateway"),
        ("istio-ingress", "orphan-gateway"),
    }
    # JSON VirtualServiceList, served at v1beta1
    vs = snap.get("networking.istio.io/VirtualService", "shop", "shop")
    assert vs is not None and vs.api_version == "networking.istio.io/v1beta1"
    # an object without metadata.namespace lands in `default`, as kubectl apply would place it
    assert names(snap, "Service") == {("default", "frontend")}
    assert names(snap, "apps/Deployment") == {("istio-ingress", "istio-ingressgateway")}
    assert snap.warnings == []
    assert snap.inventory == {
        "networking.istio.io/Gateway": 2,
        "networking.istio.io/VirtualService": 1,
        "apps/Deployment": 1,
        "Service": 1,
    }
    # timestamps stay strings, as the API serves them
    gw = snap.get("networking.istio.io/Gateway", "istio-ingress", "shop-gateway")
    assert gw is not None
    assert gw.metadata["creationTimestamp"] == "2026-10-02T09:14:21Z"


def test_findings_on_list_items() -> None:
    report = scan_paths(INPUT / "kubectl-list")
    assert finding_keys(report, {"GW001", "VS001"}) == {
        ("GW001", "Gateway", "istio-ingress", "orphan-gateway", "low"),
        # `shop-gateway` written bare in namespace shop means shop/shop-gateway: missing
        ("VS001", "VirtualService", "shop", "shop", "low"),
    }
    vs001 = [f for f in report.data["findings"] if f["check"] == "VS001"]
    assert [f["path"] for f in vs001] == ["spec.gateways[1]"]


def test_malformed_documents_become_warnings_and_the_rest_is_audited() -> None:
    report = scan_paths(INPUT / "malformed")
    problems = [
        (w["source"].rsplit("/", 1)[-1], w["document"], w["item"], w["problem"])
        for w in report.data["warnings"]
    ]
    assert problems == [
        ("list-with-bad-items.yaml", 1, 1, "not a Kubernetes object (a str value); skipped"),
        (
            "list-with-bad-items.yaml",
            1,
            2,
            "spec.subsets: expected a list, got mapping; object skipped",
        ),
        ("objects.yaml", 1, None, "not a Kubernetes object (a str value); skipped"),
        ("objects.yaml", 2, None, "not a Kubernetes object (a int value); skipped"),
        ("objects.yaml", 3, None, "not a Kubernetes object (a list); skipped"),
        (
            "objects.yaml",
            4,
            None,
            "not a Kubernetes object (missing or invalid apiVersion); skipped",
        ),
        (
            "objects.yaml",
            5,
            None,
            "not a Kubernetes object (missing or invalid metadata.name); skipped",
        ),
        ("objects.yaml", 6, None, "spec.hosts: expected a list, got string; object skipped"),
        (
            "objects.yaml",
            7,
            None,
            "spec.servers[0].port.number: expected an integer, got string 'eighty'; object skipped",
        ),
        ("objects.yaml", 8, None, "spec: is missing; object skipped"),
        ("objects.yaml", 9, None, "spec.gateways: is null; read as absent"),
        ("objects.yaml", 9, None, "spec.http: is null; read as absent"),
    ]
    named = {(w["kind"], w["name"]) for w in report.data["warnings"] if w["name"]}
    assert ("VirtualService", "hosts-is-a-string") in named
    # valid objects beside the bad ones, including one inside the kind: List, are audited
    assert finding_keys(report, {"GW001", "VS001"}) == {
        ("GW001", "Gateway", "shop", "valid-but-orphaned", "low"),
        ("VS001", "VirtualService", "shop", "bound-to-missing", "low"),
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            INPUT / "syntax-error",
            "broken.yaml:8:10: invalid YAML: did not find expected ',' or '}' "
            "(while parsing a flow mapping started at line 7, column 13)",
        ),
        (INPUT / "broken.json", "broken.json:2:26: invalid JSON: trailing comma is not allowed"),
        (
            INPUT / "duplicate-keys" / "concatenated.yaml",
            "concatenated.yaml:23:1: invalid YAML: mapping key 'apiVersion' already defined at "
            "line 6",
        ),
        (
            INPUT / "duplicate-keys" / "list.yaml",
            "list.yaml:32:13: invalid YAML: mapping key 'initialDelaySeconds' already defined "
            "at line 29",
        ),
        (INPUT / "does-not-exist.yaml", "does-not-exist.yaml: no such file or directory"),
    ],
)
def test_syntax_errors_name_file_line_and_column(path: Path, message: str) -> None:
    with pytest.raises(InputError) as err:
        load_paths([str(path)])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_json_array_and_snapshot_file_gzipped(tmp_path: Path) -> None:
    objects = [
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "orphan", "namespace": "edge"},
            "spec": {"selector": {"istio": "none"}, "servers": []},
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge"}},
    ]
    (tmp_path / "array.json").write_text(json.dumps(objects))
    snap = load_paths([str(tmp_path / "array.json")])
    assert names(snap, "networking.istio.io/Gateway") == {("edge", "orphan")}
    assert names(snap, "Namespace") == {("", "edge")}

    doc = snapshot_document(
        SourceInfo(type="cluster", context="prod", server="https://10.0.0.1:6443"),
        {"Pod": CollectionStatus(status="forbidden", message="pods is forbidden")},
        objects,
    )
    write_snapshot(tmp_path / "snap.json.gz", doc)
    assert (tmp_path / "snap.json.gz").read_bytes()[:2] == b"\x1f\x8b"
    snap = load_paths([str(tmp_path / "snap.json.gz")])
    assert snap.source.type == "snapshot"
    assert snap.source.context == "prod"
    assert snap.collection["Pod"].status == "forbidden"
    assert names(snap, "networking.istio.io/Gateway") == {("edge", "orphan")}
    # a check that needs Pods is not run on a snapshot where Pods were forbidden
    report = scan_paths(tmp_path / "snap.json.gz")
    runs = {r["check"]: r for r in report.data["check_runs"]}
    assert runs["GW001"]["status"] == "skipped"
    assert runs["GW001"]["missing_kinds"] == ["Pod"]
    assert report.data["collection"]["Pod"]["status"] == "forbidden"
    assert report.data["summary"]["coverage"] == {"kinds_read": 34, "kinds_total": 35}


def test_truncated_gzip_is_an_input_error(tmp_path: Path) -> None:
    data = gzip.compress(b'{"kind": "List", "items": []}')
    (tmp_path / "cut.json.gz").write_bytes(data[:12])
    with pytest.raises(InputError, match=r"cut\.json\.gz: cannot read"):
        load_paths([str(tmp_path / "cut.json.gz")])


def test_secret_values_are_never_kept(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text(
        """apiVersion: v1
kind: Secret
metadata:
  name: shop-tls
  namespace: istio-ingress
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"tls.key":"c2VjcmV0"}}'
    team: shop
type: kubernetes.io/tls
data:
  tls.crt: Y2VydA==
  tls.key: c2VjcmV0
"""
    )
    snap = load_paths([str(tmp_path)])
    secret = snap.get("Secret", "istio-ingress", "shop-tls")
    assert secret is not None
    assert secret.raw == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "shop-tls",
            "namespace": "istio-ingress",
            "annotations": {"team": "shop"},
        },
        "type": "kubernetes.io/tls",
        "dataKeys": ["tls.crt", "tls.key"],
        # the public certificate's summary only ("cert" is not PEM); the key is never read
        "certificate": {"key": "tls.crt", "format": "not-pem"},
    }


def test_duplicate_objects_later_wins_with_warning(tmp_path: Path) -> None:
    doc = (
        "apiVersion: v1\nkind: Service\nmetadata: {{name: a, namespace: x}}\n"
        "spec: {{type: {t}, ports: [{{port: 80}}]}}\n"
    )
    (tmp_path / "a.yaml").write_text(doc.format(t="ClusterIP") + "---\n" + doc.format(t="NodePort"))
    snap = load_paths([str(tmp_path)])
    svc = snap.get("Service", "x", "a")
    assert svc is not None and svc.spec["type"] == "NodePort"
    assert [w.problem for w in snap.warnings] == [
        "duplicate object: the later document replaces the earlier one"
    ]
