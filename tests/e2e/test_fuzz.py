"""Property-based fuzzing of every input mesh-audit reads (#20).

Each property mutates a valid input field by field (type swaps, nulls, deletions, huge and
negative numbers, Unicode digits, surrogates, control characters, YAML tags, deep nesting) and
runs the library in-process, the way the CLI does, asserting the CLI's promise:

- the run ends in "exit 0" (a report) or "exit 2" (an AuditError: one line), never another
  exception (a traceback);
- with 0, report.json validates against auditor/schema/report.schema.json, and the terminal
  summary, CSV, SARIF and JUnit text carry no control character.

Examples are derandomized (the same inputs on every run, so CI is stable) and the count is
fixed per property (1,100 in all) times `MESH_AUDIT_FUZZ_SCALE` (default 1); the larger
documented run is `MESH_AUDIT_FUZZ_SCALE=20 .venv/bin/pytest tests/e2e/test_fuzz.py` (22,000).
A crash Hypothesis finds is kept as a case in tests/e2e/test_robustness.py.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import orjson
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from auditor.base.errors import AuditError
from auditor.input.files import add_document, load_paths
from auditor.input.snapshot import Snapshot, SourceInfo
from auditor.input.snapshot_file import document_for, encode_snapshot
from auditor.input.yamlsafe import yaml_documents
from auditor.istio.meshconfig import load_file as load_mesh_config
from auditor.report import csv_report, junit, sarif, terminal
from auditor.report.load import load_report as load_saved_report
from auditor.report.model import Report
from auditor.run.baseline import diff_reports
from auditor.run.baseline import load_report as load_baseline
from auditor.run.scan import post_process, scan
from auditor.run.waivers import parse_waivers
from tests.helpers import DEMO, FIXED_CLOCK
from tests.robustness_support import CONTROL

SCALE = int(os.environ.get("MESH_AUDIT_FUZZ_SCALE", "1"))


def examples(n: int) -> Any:
    return settings(
        max_examples=n * SCALE,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
        # no shrinking: each example runs a scan, and shrinking a slow one takes minutes; the
        # failing example is printed as found (with its @reproduce_failure blob)
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )


# ---- the demo mesh, parsed once -----------------------------------------------------------


def _demo_documents() -> list[tuple[str, Any]]:
    docs = []
    for path in sorted(DEMO.glob("*.yaml")):
        for doc in yaml_documents(str(path), path.read_bytes()):
            if isinstance(doc, dict) and isinstance(doc.get("items"), list):
                docs.extend((path.name, item) for item in doc["items"])
            elif doc is not None:
                docs.append((path.name, doc))
    return docs


DEMO_DOCS = _demo_documents()
_SCHEMA_JSON = json.loads(
    (Path(__file__).parents[2] / "auditor/schema/report.schema.json").read_text()
)
SCHEMA = jsonschema.Draft202012Validator(_SCHEMA_JSON)
# jsonschema takes 0.17 s per demo report, fastjsonschema's compiled validator 0.02 s: the fast
# one checks every report; jsonschema (the reference, Draft 2020-12) confirms each rejection
# and re-checks one report in ten, so a difference between the two cannot hide a bad report.
FAST_SCHEMA = fastjsonschema.compile(_SCHEMA_JSON)


def assert_schema_valid(report: dict[str, Any]) -> None:
    try:
        FAST_SCHEMA(report)
    except fastjsonschema.JsonSchemaException:
        pass
    else:
        if zlib.crc32(orjson.dumps(report)) % 10:  # not hash(): salted per process
            return
    errors = sorted(SCHEMA.iter_errors(report), key=lambda e: list(e.path))
    assert not errors, errors[0]


# ---- hostile values ----------------------------------------------------------------------

SPECIAL_STRINGS = [
    "",
    "²",
    "8080,²",
    "٣٣",
    "\ud800",
    "\x1b]0;PWNED\x07",
    "\x1b[2J",
    "\u202e",
    "\x00",
    "=cmd|' /C calc'!A0",
    "*",
    "~",
    "*.example.com",
    "mesh",
    "istio-system/istio-ingressgateway",
    "REGISTRY_ONLY",
    "ISTIO_MUTUAL",
    "TLSV1_0",
    "STRICT",
    "HTTPS",
    "0.0.0.0/0",
    "::/0",
    "65536",
    "-1",
    "true",
    "a" * 20000,
    "a" * 300 + ".example.com",
    "GW001",
    "2026-02-30",
]
SPECIAL_NUMBERS = [0, -1, 1, 65535, 65536, 2**31, 2**63 - 1, -(2**63), 2**64, 2**70, -(2**70)]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(SPECIAL_NUMBERS),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(SPECIAL_STRINGS),
    st.text(max_size=30),
)


def _nest(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.text(max_size=8), scalars, max_size=4),
    st.builds(_nest, st.sampled_from([30, 260, 600])),
)

DELETE = object()
mutation = st.one_of(st.just(DELETE), values)


def _holds_surrogate(value: Any) -> bool:
    """Iterative: drawn values nest 600 levels, and one may be planted inside another."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# Objects reach the scan only through orjson (snapshots, JSON files, the API) or the YAML loader,
# and both refuse an unpaired surrogate (tests/e2e/test_robustness.py), so an object in memory never
# holds one: the 22,000-example run drew one here, an input no source can produce.
object_mutation = mutation.filter(lambda v: not _holds_surrogate(v))


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a JSON-like value, the root included."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(paths_of(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(paths_of(item, (*prefix, i)))
    return out


def mutate(root: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of `root` with the value at `path` replaced by `new` (or deleted).

    Only the containers along `path` are copied (the rest is shared, never changed): a deep
    copy recursed past Python's limit once a 600-level value had been planted and was mutated
    again inside (found by the 22,000-example run)."""
    if not path:
        return None if new is DELETE else new
    root = copy.copy(root)
    parent = root
    for key in path[:-1]:
        parent[key] = copy.copy(parent[key])
        parent = parent[key]
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return root


def draw_mutated(
    data: st.DataObject, root: Any, times: int = 3, using: st.SearchStrategy[Any] = mutation
) -> Any:
    for _ in range(data.draw(st.integers(1, times))):
        path = data.draw(st.sampled_from(paths_of(root)))
        root = mutate(root, path, data.draw(using))
    return root


# ---- the CLI's promise, in-process -------------------------------------------------------


def outcome(step: Callable[[], Report | None]) -> int:
    """0 with a checked report, 2 for a one-line AuditError; anything else fails the test."""
    try:
        report = step()
    except AuditError as exc:
        assert "\n" not in str(exc).strip(), str(exc)
        return 2
    if report is not None:
        check_outputs(report)
    return 0


def check_outputs(report: Report) -> None:
    data = report.data
    text = orjson.dumps(data)  # report.json must be writable ...
    assert_schema_valid(orjson.loads(text))  # ... and valid against its own schema
    assert not CONTROL.search(terminal.render(data))
    for line in csv.reader(io.StringIO(csv_report.to_csv(data))):
        assert not any("\x1b" in cell for cell in line)
    assert b"\\u001b" not in orjson.dumps(sarif.to_sarif(data))
    assert b"\x1b" not in junit.to_xml(data)


def scan_docs(docs: list[tuple[str, Any]]) -> Report:
    snapshot = Snapshot(SourceInfo(type="files", paths=[str(DEMO)]))
    for i, (origin, doc) in enumerate(docs):
        add_document(snapshot, doc, origin=origin, index=i + 1, default_namespace="default")
    return scan(snapshot, generated_at=FIXED_CLOCK)


# ---- properties --------------------------------------------------------------------------


@examples(250)
@given(st.data())
def test_fuzz_demo_mesh_objects(data: st.DataObject) -> None:
    """Mutate one or more fields of one or two demo-mesh objects, then scan."""
    docs = list(DEMO_DOCS)
    for _ in range(data.draw(st.integers(1, 2))):
        i = data.draw(st.integers(0, len(docs) - 1))
        docs[i] = (docs[i][0], draw_mutated(data, docs[i][1], using=object_mutation))
    assert outcome(lambda: scan_docs(docs)) in (0, 2)


YAML_TAGS = [
    "!!bool maybe",
    "!!int abc",
    "!!int 0x1F",
    "!!float x",
    "!!timestamp 2024-13-01",
    "!!binary aGk=",
    "!!str 80",
    "!!null x",
    "!!set {a, b}",
    "!!omap [{a: 1}]",
    "!custom x",
    "&a [*a]",
    '"\\ud800"',
    '"\\e]0;PWNED\\a"',
    "[" * 50 + "]" * 50,
    "18446744073709551616",
    "1e400",
    ".nan",
    "<<: {a: 1}",
    "{? [a]: b}",
]


@examples(200)
@given(st.data())
def test_fuzz_yaml_text_of_demo_objects(
    tmp_path_factory: pytest.TempPathFactory, data: Any
) -> None:
    """A demo object written as YAML with one scalar replaced by raw YAML (tags, anchors,
    escapes, nesting); read by the file loader, then scanned."""
    origin, doc = data.draw(st.sampled_from(DEMO_DOCS))
    scalar_paths = [p for p in paths_of(doc) if p and not isinstance(_get(doc, p), dict | list)]
    path = data.draw(st.sampled_from(scalar_paths))
    marker = "MESH_AUDIT_FUZZ_MARKER"
    text = yaml.safe_dump(mutate(doc, path, marker), sort_keys=False)
    raw = data.draw(st.sampled_from(YAML_TAGS))
    text = text.replace(marker, raw, 1)
    out = tmp_path_factory.mktemp("yaml") / origin
    out.write_bytes(text.encode("utf-8", "surrogatepass"))

    def run() -> Report:
        return scan(load_paths([str(out)]), generated_at=FIXED_CLOCK)

    assert outcome(run) in (0, 2)


def yaml_text(value: Any) -> str:
    """YAML for a drawn value; PyYAML's emitter recurses, so very deep values go as JSON (which
    is YAML too)."""
    try:
        return yaml.safe_dump(value, allow_unicode=True)
    except RecursionError:
        return json.dumps(value)


def _get(root: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        root = root[key]
    return root


SNAPSHOT_DOC = orjson.loads(orjson.dumps(document_for(load_paths([str(DEMO / "40-shop.yaml")]))))


@examples(150)
@given(st.data())
def test_fuzz_snapshot_files(tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    """A saved snapshot (header and objects) mutated field by field, streamed or not, gzipped
    or not."""
    doc = draw_mutated(data, SNAPSHOT_DOC)
    gzipped = data.draw(st.booleans())
    out = tmp_path_factory.mktemp("snap") / ("s.json.gz" if gzipped else "s.json")
    if isinstance(doc, dict) and data.draw(st.booleans()):
        try:
            out.write_bytes(encode_snapshot(doc, gzipped=gzipped))
        except (orjson.JSONEncodeError, TypeError):
            return  # not writable as the streamed layout; the plain case covers it
    else:
        body = json.dumps(doc).encode()  # \ud800 stays an escape: the file holds it as text
        out.write_bytes(__import__("gzip").compress(body) if gzipped else body)

    def run() -> Report:
        return scan(load_paths([str(out)]), generated_at=FIXED_CLOCK)

    assert outcome(run) in (0, 2)


VALID_WAIVERS = {
    "waivers": [
        {
            "check": "GW001",
            "resource": {"kind": "Gateway", "namespace": "shop", "name": "*"},
            "reason": "accepted",
            "owner": "platform",
            "expires": "2026-12-31",
            "ticket": 142,
        },
        {"id": "GW002-0123456789abcdef", "reason": "known"},
    ]
}
BASE_REPORT = scan_docs(DEMO_DOCS)


@examples(150)
@given(st.data())
def test_fuzz_waivers(tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    waivers = draw_mutated(data, VALID_WAIVERS)
    out = tmp_path_factory.mktemp("w") / "waivers.yaml"
    out.write_bytes(yaml_text(waivers).encode("utf-8", "surrogatepass"))

    def run() -> Report:
        from auditor.run.waivers import load_waivers

        return post_process(BASE_REPORT, waivers=load_waivers(out))

    assert outcome(run) in (0, 2)
    if _holds_surrogate(waivers):
        return  # only files reach parse_waivers, and the YAML loader refuses a lone surrogate
    assert outcome(lambda: post_process(BASE_REPORT, waivers=parse_waivers(waivers, "w"))) in (
        0,
        2,
    )


BASE_DATA = orjson.loads(orjson.dumps(BASE_REPORT.data))
BASE_FIELDS = ["tool", "source", "generated_at", "findings", "summary", "schema_version"]


def _baseline_draw(data: Any) -> Any:
    """The demo report with a few findings, mutated: at its top, or inside the findings."""
    small = {**BASE_DATA, "findings": BASE_DATA["findings"][:3]}
    return draw_mutated(data, small)


@examples(150)
@given(st.data())
def test_fuzz_baselines_and_diff(tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    previous = _baseline_draw(data)
    out = tmp_path_factory.mktemp("b") / "base.json"
    out.write_text(json.dumps(previous))

    def run_baseline() -> Report:
        return post_process(BASE_REPORT, baseline=load_baseline(out), baseline_source=str(out))

    def run_diff() -> None:
        result = diff_reports(load_baseline(out), BASE_DATA)
        assert not CONTROL.search(terminal.render_diff(result))
        orjson.dumps(result)

    assert outcome(run_baseline) in (0, 2)
    assert outcome(run_diff) in (0, 2)


@examples(100)
@given(st.data())
def test_fuzz_render_inputs(tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    """`render` reads a saved report.json: whatever it accepts, it renders."""
    saved = _baseline_draw(data)
    out = tmp_path_factory.mktemp("r") / "report.json"
    out.write_text(json.dumps(saved))
    assert outcome(lambda: load_saved_report(out)) in (0, 2)


VALID_MESH_CONFIG = {
    "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
    "rootNamespace": "istio-system",
    "trustDomain": "cluster.local",
    "enableAutoMtls": True,
    "meshMTLS": {"minProtocolVersion": "TLSV1_3"},
    "tlsDefaults": {
        "minProtocolVersion": "TLSV1_2",
        "cipherSuites": ["ECDHE-RSA-AES256-GCM-SHA384"],
    },
    "defaultConfig": {"proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}},
    "defaultServiceExportTo": ["*"],
}


@examples(100)
@given(st.data())
def test_fuzz_mesh_config(tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    """--mesh-config files and the mesh ConfigMap's `mesh` key, mutated."""
    config = draw_mutated(data, VALID_MESH_CONFIG)
    text = yaml_text(config)
    out = tmp_path_factory.mktemp("m") / "mesh.yaml"
    out.write_bytes(text.encode("utf-8", "surrogatepass"))

    def run_file() -> Report:
        override = load_mesh_config(str(out))
        snapshot = Snapshot(SourceInfo(type="files", paths=[]))
        for i, (origin, doc) in enumerate(DEMO_DOCS):
            add_document(snapshot, doc, origin=origin, index=i + 1, default_namespace="default")
        if override.raw is not None:
            snapshot.mesh_config_override = (str(out), override.raw)
        return scan(snapshot, generated_at=FIXED_CLOCK)

    def run_config_map() -> Report:
        docs = [
            (o, {**d, "data": {**d["data"], "mesh": text}})
            if d.get("kind") == "ConfigMap" and d["metadata"].get("name") == "istio"
            else (o, d)
            for o, d in DEMO_DOCS
        ]
        return scan_docs(docs)

    assert outcome(run_file) in (0, 2)
    assert outcome(run_config_map) in (0, 2)
