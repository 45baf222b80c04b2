"""Equal subtrees of loaded objects are one object (auditor/input/sharing.py `share_strings`).

Sharing is only sound because nothing changes an object once it is loaded: the last test scans
every fixture and the demo mesh and holds each object's exact JSON to what was loaded.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from auditor.base.errors import InputError
from auditor.input.files import load_paths
from auditor.input.sharing import bulk_load, sharing
from auditor.input.snapshot import Snapshot, SourceInfo
from auditor.run.scan import scan
from tests.helpers import DEMO, FIXTURES, ROOT

POD_SPEC = {
    "containers": [
        {"name": "app", "image": "shop/cart:1.4", "ports": [{"containerPort": 8080}]},
    ],
    "serviceAccountName": "cart",
}


def _deployment(name: str, replicas: Any, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": "cart"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "cart"}},
            "template": {"metadata": {"labels": {"app": "cart"}}, "spec": spec},
        },
    }


def _load(*objects: dict[str, Any], share: bool = True) -> Snapshot:
    snapshot = Snapshot(SourceInfo(type="files", paths=["test"]))
    if share:
        with sharing():
            for i, obj in enumerate(objects):
                snapshot.add(copy.deepcopy(obj), origin="test", document=i)
    else:
        for i, obj in enumerate(objects):
            snapshot.add(copy.deepcopy(obj), origin="test", document=i)
    return snapshot


def _raw(snapshot: Snapshot, name: str) -> dict[str, Any]:
    obj = snapshot.get("apps/Deployment", "shop", name)
    assert obj is not None
    return obj.raw


def test_equal_subtrees_are_one_object_while_sharing() -> None:
    snapshot = _load(_deployment("a", 2, POD_SPEC), _deployment("b", 3, POD_SPEC))
    a, b = _raw(snapshot, "a"), _raw(snapshot, "b")
    assert a["spec"]["template"] is b["spec"]["template"]
    assert a["spec"]["selector"] is b["spec"]["selector"]
    assert a["metadata"]["labels"] is a["spec"]["selector"]["matchLabels"]
    assert a["spec"] is not b["spec"]  # replicas differ
    assert a is not b and a["metadata"] is not b["metadata"]
    assert a == _deployment("a", 2, POD_SPEC) and b == _deployment("b", 3, POD_SPEC)


def test_without_sharing_objects_are_only_interned() -> None:
    snapshot = _load(_deployment("a", 2, POD_SPEC), _deployment("b", 2, POD_SPEC), share=False)
    a, b = _raw(snapshot, "a"), _raw(snapshot, "b")
    assert a["spec"]["template"] is not b["spec"]["template"]
    assert a["spec"]["template"] == b["spec"]["template"]
    image_a = a["spec"]["template"]["spec"]["containers"][0]["image"]
    image_b = b["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image_a is image_b


@pytest.mark.parametrize(
    ("one", "other"),
    [(1, True), (1, 1.0), (0, False), ("1", 1), (None, False), ([1], [True])],
)
def test_values_equal_in_python_but_not_in_json_stay_apart(one: Any, other: Any) -> None:
    snapshot = _load(
        _deployment("a", 2, {**POD_SPEC, "x": {"v": one}}),
        _deployment("b", 2, {**POD_SPEC, "x": {"v": other}}),
    )
    a = _raw(snapshot, "a")["spec"]["template"]["spec"]["x"]
    b = _raw(snapshot, "b")["spec"]["template"]["spec"]["x"]
    assert a is not b
    assert type(a["v"]) is type(one) and type(b["v"]) is type(other)
    assert orjson.dumps(a) == orjson.dumps({"v": one})
    assert orjson.dumps(b) == orjson.dumps({"v": other})


def test_key_order_is_kept() -> None:
    flipped = {"serviceAccountName": "cart", "containers": POD_SPEC["containers"]}
    snapshot = _load(_deployment("a", 2, POD_SPEC), _deployment("b", 2, flipped))
    assert list(_raw(snapshot, "a")["spec"]["template"]["spec"]) == [
        "containers",
        "serviceAccountName",
    ]
    assert list(_raw(snapshot, "b")["spec"]["template"]["spec"]) == [
        "serviceAccountName",
        "containers",
    ]


def test_values_json_cannot_spell_are_kept_and_not_shared() -> None:
    """PyYAML reads an unquoted timestamp as a datetime and `!!set` as a set: such a node has
    no exact JSON text, so it is never shared (its plain siblings still are)."""
    when = dt.datetime(2025, 1, 12, 1, 15, 59, tzinfo=dt.UTC)
    text = when.isoformat()
    snapshot = _load(
        _deployment("a", 2, {**POD_SPEC, "x": {"t": when}}),
        _deployment("b", 2, {**POD_SPEC, "x": {"t": when}}),
        _deployment("c", 2, {**POD_SPEC, "x": {"t": text}}),
    )
    xa, xb, xc = (_raw(snapshot, n)["spec"]["template"]["spec"] for n in "abc")
    assert xa["x"] is not xb["x"] and xa["x"] is not xc["x"]
    assert xa["x"]["t"] == when and xc["x"]["t"] == text
    assert xa["containers"] is xb["containers"] is xc["containers"]


def test_the_table_goes_when_the_load_ends() -> None:
    with bulk_load():
        snapshot = Snapshot(SourceInfo(type="files", paths=["test"]))
        snapshot.add(_deployment("a", 2, POD_SPEC), origin="test", document=0)
    after = Snapshot(SourceInfo(type="files", paths=["test"]))
    after.add(_deployment("b", 2, POD_SPEC), origin="test", document=0)
    assert _raw(snapshot, "a")["spec"] is not _raw(after, "b")["spec"]


def _json(raw: dict[str, Any]) -> bytes:
    return orjson.dumps(raw, default=repr, option=orjson.OPT_NON_STR_KEYS)


# Fixtures that are not manifests a scan could change: input cases refused whole (a syntax error,
# a repeated key) and a waivers file. Named, so a new fixture of either sort is a decision, and
# tested below to be what they are said to be (no case is skipped).
REFUSED_WHOLE = {
    "fixtures/cases/input/duplicate-keys/concatenated.yaml",
    "fixtures/cases/input/duplicate-keys/list.yaml",
    "fixtures/cases/input/syntax-error/broken.yaml",
}
NOT_MANIFESTS = {"fixtures/cases/pipeline/waivers.yaml"}
SCANNED = sorted(
    {p.parent if p.parent.name == "demo-mesh" else p for p in FIXTURES.rglob("*.yaml")}
    - {ROOT / name for name in REFUSED_WHOLE | NOT_MANIFESTS}
)


@pytest.mark.parametrize("name", sorted(REFUSED_WHOLE))
def test_a_case_left_out_as_refused_is_refused_whole(name: str) -> None:
    with pytest.raises(InputError):
        load_paths([str(ROOT / name)])


@pytest.mark.parametrize("name", sorted(NOT_MANIFESTS))
def test_a_case_left_out_as_not_manifests_holds_no_object(name: str) -> None:
    assert list(load_paths([str(ROOT / name)]).all_objects()) == []


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_scan_changes_no_loaded_object(path: Path) -> None:
    snapshot = load_paths([str(path)])
    before = {o.origin: _json(o.raw) for o in snapshot.all_objects()}
    assert before, path
    scan(snapshot, generated_at="2026-11-29T00:00:00Z")
    after = {o.origin: _json(o.raw) for o in snapshot.all_objects()}
    assert after == before


def test_the_demo_mesh_is_among_the_scanned() -> None:
    assert DEMO in SCANNED and len(SCANNED) > 50


def test_bulky_kinds_keep_only_what_checks_read() -> None:
    """A Deployment's status and an EndpointSlice's per-pod endpoint records are not kept
    (nothing reads them); a selector-less Service's slice addresses, which egress reads, are."""
    deployment = {**_deployment("a", 2, POD_SPEC), "status": {"replicas": 2, "readyReplicas": 2}}
    endpoint_slice = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "partner-db-x7k2p",
            "namespace": "shop",
            "labels": {"kubernetes.io/service-name": "partner-db"},
        },
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": ["203.0.113.7"],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "nodeName": "node-1",
                "zone": "eu-west-1a",
                "targetRef": {"kind": "Pod", "namespace": "shop", "name": "db-0", "uid": "u-1"},
            }
        ],
        "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
    }
    snapshot = _load(deployment, endpoint_slice)
    assert _raw(snapshot, "a") == _deployment("a", 2, POD_SPEC)
    kept = snapshot.get("discovery.k8s.io/EndpointSlice", "shop", "partner-db-x7k2p")
    assert kept is not None
    assert kept.raw == {
        **endpoint_slice,
        "endpoints": [{"addresses": ["203.0.113.7"]}],
    }
