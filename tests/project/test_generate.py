"""The benchmark mesh generator: deterministic, realistic, and its planted problems are found."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from auditor.checks import all_checks
from auditor.input.files import load_paths
from auditor.istio import hosts as H
from auditor.run.scan import scan
from tests.helpers import FIXED_CLOCK, ROOT, finding_keys


def _load_generator() -> ModuleType:
    path = ROOT / "benchmarks" / "generate.py"
    spec = importlib.util.spec_from_file_location("mesh_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mesh_generate"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()

# Every check a planted problem maps to, plus EGR001 (the mesh is REGISTRY_ONLY): for these the
# scan must report exactly the planted resources, at the check's default severity.
NAMED_CHECKS = sorted({c for checks in gen.PROBLEMS.values() for c in checks} | {"EGR001"})
SEVERITY = {c.meta.id: c.meta.severity.label for c in all_checks()}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("mesh")
    snap = out / "small.json.gz"
    yaml_dir = out / "yaml"
    assert (
        gen.main(["--objects", "900", "--seed", "11", "-o", str(snap), "--yaml-dir", str(yaml_dir)])
        == 0
    )
    return {"snapshot": snap, "planted": out / "small.planted.json", "yaml": yaml_dir}


def test_same_seed_same_mesh_other_seed_other_mesh() -> None:
    a = gen.generate(600, 5)
    b = gen.generate(600, 5)
    c = gen.generate(600, 6)
    assert gen.digest(a) == gen.digest(b)
    assert [p.to_json() for p in a.planted] == [p.to_json() for p in b.planted]
    assert gen.digest(a) != gen.digest(c)


def test_snapshot_file_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        gen.main(["--objects", "500", "--seed", "3", "-o", str(tmp_path / f"{name}.json.gz")])
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert (tmp_path / "a.planted.json").read_text() == (tmp_path / "b.planted.json").read_text()


def test_object_count_near_the_request() -> None:
    for requested in (1000, 5000):
        mesh = gen.generate(requested, 2)
        assert 0.85 * requested <= len(mesh.objects) <= 1.15 * requested


def test_scan_reports_exactly_the_planted_problems(small: dict[str, Path]) -> None:
    planted = json.loads(small["planted"].read_text())
    expected = {
        (check, p["kind"], p["namespace"], p["name"], SEVERITY[check])
        for p in planted["planted"]
        for check in p["checks"]
    }
    # every problem type is planted at least once, even in a small mesh
    assert {p["problem"] for p in planted["planted"]} == set(gen.PROBLEMS)
    assert {e[0] for e in expected} == set(NAMED_CHECKS) - {"EGR001"}
    report = scan(load_paths([str(small["snapshot"])]), generated_at=FIXED_CLOCK)
    assert finding_keys(report, NAMED_CHECKS) == expected
    assert report.data["warnings"] == []
    assert report.data["source"]["type"] == "snapshot"


def test_yaml_form_reads_as_the_same_mesh(small: dict[str, Path]) -> None:
    from_json = scan(load_paths([str(small["snapshot"])]), generated_at=FIXED_CLOCK)
    from_yaml = scan(load_paths([str(small["yaml"])]), generated_at=FIXED_CLOCK)
    assert finding_keys(from_yaml) == finding_keys(from_json)
    assert from_yaml.data["inventory"] == from_json.data["inventory"]
    assert from_yaml.data["exposure"] == from_json.data["exposure"]
    assert from_yaml.data["warnings"] == []


def _objects(mesh: Any, kind: str) -> Iterator[dict[str, Any]]:
    return (o for o in mesh.objects if o["kind"] == kind)


def test_objects_look_served_by_a_cluster() -> None:
    mesh = gen.generate(1500, 4)
    for obj in mesh.objects:
        meta = obj["metadata"]
        assert meta["uid"] and meta["resourceVersion"].isdigit() and meta["creationTimestamp"]
    for kind in ("Service", "Deployment", "Pod"):
        assert all("status" in o for o in _objects(mesh, kind)), kind
    pods = list(_objects(mesh, "Pod"))
    assert pods
    for pod in pods:
        owners = pod["metadata"]["ownerReferences"]
        assert owners[0]["kind"] == "ReplicaSet" and owners[0]["controller"] is True
    injected = [p for p in pods if p["metadata"]["labels"].get("security.istio.io/tlsMode")]
    assert injected and all(
        "istio-proxy" in {c["name"] for c in p["spec"]["containers"]} for p in injected
    )


def test_references_are_consistent_except_planted() -> None:
    mesh = gen.generate(3000, 9)
    planted_missing = {
        (p.namespace, p.name)
        for p in mesh.planted
        if p.problem == "virtualservice-destination-missing-service"
    }
    assert planted_missing
    services = {
        f"{o['metadata']['name']}.{o['metadata']['namespace']}.svc.cluster.local": o
        for o in _objects(mesh, "Service")
    }
    external = set(gen.EXTERNAL_HOSTS)
    dangling = set()
    for vs in _objects(mesh, "VirtualService"):
        ns = vs["metadata"]["namespace"]
        for section in ("http", "tls", "tcp"):
            for route in vs["spec"].get(section) or ():
                for dest in route.get("route") or ():
                    host = H.fqdn(dest["destination"]["host"], ns)
                    if host not in services and host not in external:
                        dangling.add((ns, vs["metadata"]["name"]))
    assert dangling == planted_missing
    # every Service selects the pods of some Deployment in its namespace
    pod_labels: dict[str, list[dict[str, str]]] = {}
    for dep in _objects(mesh, "Deployment"):
        ns = dep["metadata"]["namespace"]
        pod_labels.setdefault(ns, []).append(dep["spec"]["template"]["metadata"]["labels"])
    for svc in services.values():
        selector = svc["spec"]["selector"]
        ns = svc["metadata"]["namespace"]
        assert any(
            all(labels.get(k) == v for k, v in selector.items()) for labels in pod_labels[ns]
        ), svc["metadata"]["name"]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_every_selector_service_has_the_endpointslice_a_cluster_keeps() -> None:
    """One EndpointSlice per Service with a selector, as the endpointslice controller writes it
    (kubernetes/kubernetes staging/src/k8s.io/endpointslice/utils.go: newEndpointSlice,
    podToEndpoint): owned by the Service, labelled with its name and the controller, one ready
    endpoint per selected Running pod with the pod's IP, node, zone and a targetRef, and the
    Service's target ports by name."""
    mesh = gen.generate(3000, 12)
    pods: dict[str, list[dict[str, Any]]] = {}
    for pod in _objects(mesh, "Pod"):
        pods.setdefault(pod["metadata"]["namespace"], []).append(pod)
    slices: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for es in _objects(mesh, "EndpointSlice"):
        meta = es["metadata"]
        service = meta["labels"]["kubernetes.io/service-name"]
        slices.setdefault((meta["namespace"], service), []).append(es)
    services = list(_objects(mesh, "Service"))
    assert services and all(s["spec"].get("selector") for s in services)
    assert len(slices) == len(services) == mesh.counts["discovery.k8s.io/EndpointSlice"]
    for svc in services:
        meta, spec = svc["metadata"], svc["spec"]
        ns, name = meta["namespace"], meta["name"]
        (es,) = slices[(ns, name)]
        es_meta = es["metadata"]
        assert es["apiVersion"] == "discovery.k8s.io/v1" and es["addressType"] == "IPv4"
        assert es_meta["generateName"] == f"{name}-"
        assert es_meta["name"].startswith(f"{name}-") and len(es_meta["name"]) == len(name) + 6
        assert es_meta["labels"] == {
            **meta["labels"],
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            "kubernetes.io/service-name": name,
        }
        (owner,) = es_meta["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
            "Service",
            name,
            meta["uid"],
            True,
        )
        selected = [p for p in pods[ns] if _selects(spec["selector"], p["metadata"]["labels"])]
        assert selected, name
        expected = [
            {
                "addresses": [p["status"]["podIP"]],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "nodeName": p["spec"]["nodeName"],
                "targetRef": {
                    "kind": "Pod",
                    "name": p["metadata"]["name"],
                    "namespace": ns,
                    "uid": p["metadata"]["uid"],
                },
            }
            for p in selected
        ]
        assert [{k: v for k, v in e.items() if k != "zone"} for e in es["endpoints"]] == expected
        assert all(e["zone"] in gen.ZONES for e in es["endpoints"])
        assert [
            (p["name"], p["port"], p["protocol"], p.get("appProtocol")) for p in es["ports"]
        ] == [
            (p["name"], p["targetPort"], p["protocol"], p.get("appProtocol")) for p in spec["ports"]
        ]


def test_pod_ips_are_unique_and_match_their_node() -> None:
    mesh = gen.generate(3000, 13)
    pods = list(_objects(mesh, "Pod"))
    ips = [p["status"]["podIP"] for p in pods]
    assert len(set(ips)) == len(ips)
    node_cidr: dict[str, str] = {}
    for pod in pods:
        node, status = pod["spec"]["nodeName"], pod["status"]
        assert node == f"ip-{status['hostIP'].replace('.', '-')}.ec2.internal"
        assert status["podIPs"] == [{"ip": status["podIP"]}]
        cidr = status["podIP"].rsplit(".", 1)[0]  # the node's /24
        assert node_cidr.setdefault(node, cidr) == cidr


def test_istiod_webhooks_are_a_handful_whatever_the_size() -> None:
    for requested in (600, 3000):
        mesh = gen.generate(requested, 2)
        mutating = list(_objects(mesh, "MutatingWebhookConfiguration"))
        validating = list(_objects(mesh, "ValidatingWebhookConfiguration"))
        assert [m["metadata"]["name"] for m in mutating] == ["istio-sidecar-injector"]
        assert [h["name"] for h in mutating[0]["webhooks"]] == [
            "rev.namespace.sidecar-injector.istio.io",
            "rev.object.sidecar-injector.istio.io",
            "namespace.sidecar-injector.istio.io",
            "object.sidecar-injector.istio.io",
        ]
        assert sorted(v["metadata"]["name"] for v in validating) == [
            "istio-validator-istio-system",
            "istiod-default-validator",
        ]


def test_streamed_file_holds_the_in_memory_mesh_one_object_a_line(tmp_path: Path) -> None:
    """main() writes as it generates; the file is the streamed layout the reader takes fast
    (one object per line) and holds exactly the objects generate() makes for the seed."""
    import gzip

    import orjson

    from auditor.input.snapshot import Snapshot, SourceInfo
    from auditor.input.snapshot_file import read_streamed

    out = tmp_path / "m.json.gz"
    yaml_dir = tmp_path / "yaml"
    assert (
        gen.main(["--objects", "800", "--seed", "7", "-o", str(out), "--yaml-dir", str(yaml_dir)])
        == 0
    )
    mesh = gen.generate(800, 7)
    lines = gzip.decompress(out.read_bytes()).split(b"\n")
    assert lines[-2:] == [b"]}", b""]
    head = orjson.loads(lines[0] + b"]}")
    objects = [orjson.loads(line.removesuffix(b",")) for line in lines[1:-2]]
    assert objects == mesh.objects
    assert {k: v["count"] for k, v in head["collection"].items() if v["count"]} == mesh.counts
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    snapshot = Snapshot(SourceInfo(type="files", paths=[str(out)]))
    assert read_streamed(snapshot, out, origin=str(out)) is True
    planted = json.loads((tmp_path / "m.planted.json").read_text())
    assert planted["objects"] == len(mesh.objects) and planted["counts"] == mesh.counts
    # the YAML directory: one kubectl List per namespace, together the same objects
    import yaml

    from_yaml = [
        obj
        for path in sorted(yaml_dir.iterdir())
        for obj in yaml.load(path.read_text(), Loader=yaml.CSafeLoader)["items"]
    ]
    key = lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])  # noqa: E731
    assert sorted(from_yaml, key=key) == sorted(mesh.objects, key=key)
    assert len(list(yaml_dir.iterdir())) == len(mesh.namespaces) + 1  # and `_cluster.yaml`
