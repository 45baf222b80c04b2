"""The loader's fast paths give exactly what the plain paths give.

Shape checks run a compiled predicate first and build messages only when it fails; snapshot files
are written one object per line and read an object at a time. Both exist for speed and memory on
large meshes (benchmarks/README.md); these tests pin that they change nothing else.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from auditor.base.errors import InputError
from auditor.input import compaction
from auditor.input import snapshot as snapshot_module
from auditor.input.files import load_paths
from auditor.input.kinds import split_api_version
from auditor.input.shape_lang import ANY, INT_OR_STR, PORT, MapOf, Nullable
from auditor.input.shapes import (
    METADATA,
    SPEC_REQUIRED,
    SPECS,
    ShapeProblem,
    check_object,
    shape_ok,
    validate,
)
from auditor.input.snapshot import CollectionStatus, Snapshot, SourceInfo
from auditor.input.snapshot_file import encode_snapshot, snapshot_document, write_snapshot
from tests.helpers import DEMO, ROOT

CORPUS = ROOT / "tests" / "data" / "peer-corpus" / "testdata"


def _reference(group: str, kind: str, obj: dict[str, Any]) -> list[ShapeProblem]:
    """check_object as written before the fast path: validate everything, always."""
    out: list[ShapeProblem] = []
    validate(obj, METADATA, "", out)
    spec = SPECS.get((group, kind))
    if spec is None:
        return out
    if (group, kind) in SPEC_REQUIRED and obj.get("spec") is None:
        out.append(ShapeProblem("spec", "is missing", fatal=True))
        return out
    validate(obj, spec, "", out)
    return out


def _manifests() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for path in sorted([*DEMO.glob("*.yaml"), *CORPUS.rglob("*.yaml")]):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(doc, dict):
                continue
            items = doc.get("items") if str(doc.get("kind", "")).endswith("List") else [doc]
            objects.extend(o for o in items or () if isinstance(o, dict) and "kind" in o)
    return objects


ODD_VALUES: list[Any] = [None, "x", "80", 8080, True, 1.5, [], {}, ["a"], [1], {"a": "b"}, {"a": 1}]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        obj = obj[step]
    obj[path[-1]] = value


def test_shape_fast_path_agrees_with_full_validation() -> None:
    rng = random.Random(8)
    objects = _manifests()
    assert len(objects) > 100
    compared = 0
    for obj in objects:
        api_version = obj.get("apiVersion")
        if not isinstance(api_version, str):
            continue
        group, _ = split_api_version(api_version)
        kind = str(obj["kind"])
        assert check_object(group, kind, obj) == _reference(group, kind, obj)
        # the compiled predicate is exact on parsed input (not merely cautious): a no where the
        # full validation finds nothing would send every such object down the slow path
        assert shape_ok(group, kind, obj) == (not _reference(group, kind, obj))
        paths = _paths(obj)
        for _ in range(25):
            mutated = copy.deepcopy(obj)
            path = rng.choice(paths)
            _set(mutated, path, copy.deepcopy(rng.choice(ODD_VALUES)))
            expected = _reference(group, kind, mutated)
            assert check_object(group, kind, mutated) == expected, path
            assert shape_ok(group, kind, mutated) == (not expected), path
            compared += 1
    assert compared > 2500


def _instance(spec: Any) -> Any:
    """A value every field of `spec` is present in, with a valid value."""
    if isinstance(spec, Nullable):
        return _instance(spec.value)
    if isinstance(spec, list):
        return [_instance(spec[0])]
    if isinstance(spec, MapOf):
        return {"k": _instance(spec.value)}
    if isinstance(spec, dict):
        return {key: _instance(sub) for key, sub in spec.items()}
    return {str: "x", int: 1, bool: True, INT_OR_STR: "a", PORT: 80, ANY: {"a": [1]}}[spec]


def _merged(one: Any, other: Any) -> Any:
    if isinstance(one, dict) and isinstance(other, dict):
        return {**one, **{k: _merged(one.get(k), v) for k, v in other.items()}}
    return one if other is None else other


@pytest.mark.parametrize("key", sorted(SPECS), ids="/".join)
def test_compiled_predicate_is_exact_on_every_spec_field(key: tuple[str, str]) -> None:
    """Every field of every kind's spec, set to every odd value (and ports out of range): the
    compiled predicate says yes exactly when the full validation finds nothing."""
    group, kind = key
    full = _merged(_instance(METADATA), _instance(SPECS[key]))
    full.update(apiVersion=f"{group}/v1" if group else "v1", kind=kind)
    assert shape_ok(group, kind, full) and not _reference(group, kind, full)
    paths = [p for p in _paths(full) if p[0] not in ("apiVersion", "kind")]
    values = [*ODD_VALUES, 0, 65536, -1, "", [None], {"a": None}, {1: "x"}]
    checked = 0
    for path in paths:
        for value in values:
            mutated = copy.deepcopy(full)
            _set(mutated, path, copy.deepcopy(value))
            assert shape_ok(group, kind, mutated) == (not _reference(group, kind, mutated)), (
                path,
                value,
            )
            checked += 1
    assert checked == len(paths) * len(values)


@pytest.mark.parametrize(
    ("api_version", "kind", "where"),
    [
        ("v1", "Service", ("metadata",)),
        ("apps/v1", "Deployment", ("metadata",)),
        ("apps/v1", "Deployment", ("spec", "template", "metadata")),
        # a path no spec of the kind reaches is bounded all the same
        ("v1", "Service", ("spec", "template", "metadata")),
    ],
)
def test_annotations_are_bounded_in_the_compiled_predicate(
    api_version: str, kind: str, where: tuple[str, ...]
) -> None:
    """The API server refuses annotations over 256 KiB in all (keys and values): the compiled
    predicate counts them in its own loop and says no exactly past the limit."""
    limit = 256 * 1024
    group, _ = split_api_version(api_version)
    for size, fine in ((limit, True), (limit + 1, False)):
        obj: dict[str, Any] = {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": "big", "namespace": "shop"},
            "spec": {"selector": {"app": "big"}},
        }
        node = obj
        for key in where:
            node = node.setdefault(key, {})
        node["annotations"] = {"a": "x" * (size - 4), "bc": "d"}
        assert shape_ok(group, kind, obj) is fine
        problems = check_object(group, kind, obj)
        assert [str(p) for p in problems] == (
            []
            if fine
            else [
                f"{'.'.join(where)}.annotations: {size} characters in all, over the API "
                f"server's limit of {limit}"
            ]
        )


OBJECTS = [
    {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "orphan", "namespace": "edge"},
        "spec": {"selector": {"istio": "none"}, "servers": []},
    },
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad"}, "spec": {"ports": 80}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x\ny", "namespace": "edge"}},
]


def _doc() -> dict[str, Any]:
    return snapshot_document(
        SourceInfo(type="cluster", context="prod", server="https://10.0.0.1:6443"),
        {"Pod": CollectionStatus(status="forbidden", message="pods is forbidden")},
        copy.deepcopy(OBJECTS),
    )


def _summary(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "objects": [(o.kind, o.namespace, o.name, o.origin, o.raw) for o in snapshot.all_objects()],
        "warnings": [w.to_json() for w in snapshot.warnings],
        "collection": {k: v.to_json() for k, v in snapshot.collection.items()},
        "source": snapshot.source.to_json(),
        "inventory": dict(snapshot.inventory),
    }


@pytest.mark.parametrize("name", ["snap.json", "snap.json.gz"])
def test_streamed_layout_is_one_json_document_read_like_one(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_snapshot(path, _doc())
    data = path.read_bytes()
    text = gzip.decompress(data) if name.endswith(".gz") else data
    assert json.loads(text) == _doc()
    assert len(text.splitlines()) == len(OBJECTS) + 2  # head, one line per object, end
    whole = tmp_path / "whole.json"
    whole.write_bytes(orjson.dumps(_doc()))  # the same document on one line: parsed whole
    streamed, parsed = load_paths([str(path)]), load_paths([str(whole)])
    assert _summary(streamed)["objects"] == [
        (k, ns, n, o.replace(str(whole), str(path)), raw)
        for k, ns, n, o, raw in _summary(parsed)["objects"]
    ]
    assert len(_summary(streamed)["warnings"]) == 1  # the mistyped Service
    for key in ("collection", "inventory"):
        assert _summary(streamed)[key] == _summary(parsed)[key]
    assert _summary(streamed)["source"]["type"] == "snapshot"


def test_empty_snapshot_streams(tmp_path: Path) -> None:
    doc = _doc()
    doc["objects"] = []
    (tmp_path / "empty.json").write_bytes(encode_snapshot(doc))
    assert json.loads((tmp_path / "empty.json").read_bytes()) == doc
    snapshot = load_paths([str(tmp_path / "empty.json")])
    assert list(snapshot.all_objects()) == []
    assert snapshot.collection["Pod"].status == "forbidden"


def _lines(tmp_path: Path) -> tuple[Path, list[bytes]]:
    path = tmp_path / "snap.json"
    return path, encode_snapshot(_doc()).splitlines()


def test_broken_line_reports_its_line_and_column(tmp_path: Path) -> None:
    path, lines = _lines(tmp_path)
    lines[2] = lines[2].replace(b'"kind"', b'"kind" oops', 1)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"snap\.json:3:\d+: invalid JSON"):
        load_paths([str(path)])


@pytest.mark.parametrize(
    "edit",
    ["cut-short", "trailing-comma", "missing-comma", "trailing-data", "two-per-line"],
)
def test_not_quite_the_layout_is_read_as_one_document(tmp_path: Path, edit: str) -> None:
    path, lines = _lines(tmp_path)
    valid = True
    if edit == "cut-short":
        lines = lines[:-1]
        valid = False
    elif edit == "trailing-comma":
        lines[-2] += b","
        valid = False
    elif edit == "missing-comma":
        lines[2] = lines[2].rstrip(b",")
        valid = False
    elif edit == "trailing-data":
        lines.append(b"{}")
        valid = False
    elif edit == "two-per-line":
        lines[1:3] = [lines[1] + b" " + lines[2]]
    path.write_bytes(b"\n".join(lines))
    if not valid:
        with pytest.raises(InputError, match=r"snap\.json:\d+:\d+: invalid JSON"):
            load_paths([str(path)])
        return
    assert _summary(load_paths([str(path)]))["objects"][0][2] == "orphan"


def test_yaml_strings_are_shared_across_objects(tmp_path: Path) -> None:
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"svc-{i}", "namespace": "shop", "labels": {"team": "checkout"}},
            "spec": {"selector": {"app": "web"}},
        }
        for i in range(2)
    ]
    (tmp_path / "svc.yaml").write_text(yaml.safe_dump_all(docs))
    first, second = load_paths([str(tmp_path)]).objects("Service")
    assert first.labels == second.labels == {"team": "checkout"}
    assert first.labels["team"] is second.labels["team"]
    assert next(iter(first.spec)) is next(iter(second.spec))


def test_many_api_versions_are_read_past_what_the_loader_remembers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader remembers what an (apiVersion, kind) pair decides for a bounded number of
    pairs (input is untrusted): past the bound, objects are still counted, read and compacted
    exactly as before."""
    # start from nothing remembered, so the Pods below come after the bound is reached
    monkeypatch.setattr(compaction, "_PLANS", {})
    monkeypatch.setattr(snapshot_module, "_KINDS_READ", {})
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "managedFields": [{"m": 1}]},
        "spec": {
            "containers": [{"name": "web", "image": "shop/web:1", "env": [{"name": "A"}]}],
            "nodeName": "n1",
        },
        "status": {"phase": "Running"},
    }
    unknown = [
        {"apiVersion": f"g{i}.example.com/v1", "kind": "Thing", "metadata": {"name": f"t{i}"}}
        for i in range(1500)
    ]
    path = tmp_path / "snap.json"
    write_snapshot(
        path, snapshot_document(SourceInfo(type="cluster"), {}, [*unknown, pod, {**pod}])
    )
    snapshot = load_paths([str(path)])
    assert snapshot.inventory["g1499.example.com/Thing"] == 1
    assert sum(snapshot.inventory.values()) == 1502
    [kept] = snapshot.objects("Pod")
    assert kept.raw == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"containers": [{"name": "web", "image": "shop/web:1"}]},
    }
    assert [w.problem for w in snapshot.warnings] == [
        "duplicate object: the later document replaces the earlier one"
    ]
    assert len(compaction._PLANS) == compaction._MAX_PLANS
    assert ("v1", "Pod") not in compaction._PLANS


def test_a_long_api_version_is_read_and_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apiVersion longer than any real one is read as any other (its group decides the kind)
    but not kept in what the loader remembers for the rest of the process."""
    monkeypatch.setattr(compaction, "_PLANS", {})
    monkeypatch.setattr(snapshot_module, "_KINDS_READ", {})
    api_version = "networking.istio.io/v" + "1" * 600
    gateway = {
        "apiVersion": api_version,
        "kind": "Gateway",
        "metadata": {"name": "edge", "namespace": "shop"},
        "spec": {"selector": {"istio": "ingressgateway"}, "servers": []},
    }
    path = tmp_path / "snap.json"
    write_snapshot(path, snapshot_document(SourceInfo(type="cluster"), {}, [gateway]))
    snapshot = load_paths([str(path)])
    [kept] = snapshot.objects("networking.istio.io/Gateway")
    assert kept.raw == gateway and kept.api_version == api_version
    assert compaction._PLANS == {} and snapshot_module._KINDS_READ == {}
