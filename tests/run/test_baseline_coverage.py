"""A baseline finding that the new scan could not see again is "not compared", never "resolved":
its check was skipped, its kinds were not (or only partly) read, or its namespace was outside the
new scan's scope. `mesh-audit diff` says the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.run.baseline import diff_reports, load_report
from tests.pipeline_helpers import (
    BEFORE,
    COMMON,
    EGR001,
    EGR003,
    GW001,
    GW005,
    MTLS001,
    VS001,
    VS002,
    read_json,
    run_cli,
    validate_report,
)

VS_KEY = "networking.istio.io/VirtualService"


def _objects(*paths: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in paths:
        out.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return out


def write_snapshot(
    path: Path,
    objects: list[dict[str, Any]],
    *,
    collection: dict[str, dict[str, Any]] | None = None,
    namespaces: list[str] | None = None,
) -> Path:
    doc = {
        "apiVersion": "mesh-audit.dev/v1",
        "kind": "MeshAuditSnapshot",
        "source": {"type": "cluster", "context": "prod", "namespaces": namespaces},
        "collection": collection or {},
        "objects": objects,
    }
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "before"
    args = ["scan", "--from", str(COMMON), "--from", str(BEFORE), "--output-dir", str(out)]
    assert run_cli(args, monkeypatch, clock="2026-11-18T12:00:00Z").exit_code == 0
    return out / "report.json"


def scan_snapshot(
    snap: Path, before: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], str]:
    args = ["scan", "--from", str(snap), "--baseline", str(before), "--output-dir", str(out)]
    result = run_cli(args, monkeypatch)
    assert result.exit_code == 0, result.stderr
    data = read_json(out / "report.json")
    validate_report(data)
    return data, result.stdout


def test_virtualservices_unreadable_are_not_compared_never_resolved(
    before: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same mesh, but the scan could not list VirtualServices (a CronJob lost a permission):
    # the findings about VirtualService shop/legacy are gone from the scan, not from the mesh.
    objects = [o for o in _objects(COMMON, BEFORE) if o["kind"] != "VirtualService"]
    forbidden = {
        VS_KEY: {"status": "forbidden", "message": "virtualservices is forbidden", "count": 0}
    }
    snap = write_snapshot(tmp_path / "snap.json", objects, collection=forbidden)
    data, stdout = scan_snapshot(snap, before, tmp_path / "after", monkeypatch)
    assert data["resolved"] == []
    reasons = {f["id"]: f["not_compared_reason"] for f in data["not_compared"]}
    assert reasons == {
        EGR003: "check EGR003 did not run in this scan (skipped)",
        VS001: "check VS001 did not run in this scan (skipped)",
        VS002: "check VS002 did not run in this scan (skipped)",
    }
    assert data["baseline"]["resolved"] == 0
    assert data["baseline"]["not_compared"] == 3
    assert ", 0 resolved, 3 not compared" in stdout
    assert (
        "  NOT COMPARED VS001  VirtualService shop/legacy: "
        "check VS001 did not run in this scan (skipped)"
    ) in stdout.splitlines()
    html = (tmp_path / "after" / "report.html").exists()
    assert not html  # json only: the HTML side is covered below

    # diff says the same as the baseline
    result = diff_reports(load_report(before), load_report(tmp_path / "after" / "report.json"))
    assert result["resolved_findings"] == []
    assert [f["id"] for f in result["not_compared_findings"]] == [EGR003, VS001, VS002]
    assert result["counts"]["not_compared"] == 3
    cli = run_cli(["diff", str(before), str(tmp_path / "after" / "report.json")], monkeypatch)
    assert "Resolved: 0   Unchanged: 4   Not compared: 3" in cli.stdout
    assert "Not compared (the newer scan could not see them; not counted as resolved):" in (
        cli.stdout
    )


def test_partly_read_kind_is_not_compared(
    before: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # VirtualServices read, but not in every namespace: a finding that is gone may be hidden
    objects = [o for o in _objects(COMMON, BEFORE) if o["kind"] != "VirtualService"]
    partial = {VS_KEY: {"status": "ok", "message": "forbidden in namespaces: shop", "count": 0}}
    snap = write_snapshot(tmp_path / "snap.json", objects, collection=partial)
    data, _ = scan_snapshot(snap, before, tmp_path / "after", monkeypatch)
    assert data["resolved"] == []
    reason = f"{VS_KEY} was read only in part in this scan (forbidden in namespaces: shop)"
    assert {f["id"]: f["not_compared_reason"] for f in data["not_compared"]} == {
        EGR003: reason,
        VS001: reason,
        VS002: reason,
    }


def test_namespace_outside_scope_is_not_compared(
    before: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same mesh scanned with -n istio-system: every shop finding is out of scope
    out = tmp_path / "after"
    args = ["scan", "--from", str(COMMON), "--from", str(BEFORE), "-n", "istio-system"]
    result = run_cli([*args, "--baseline", str(before), "--output-dir", str(out)], monkeypatch)
    assert result.exit_code == 0, result.stderr
    data = read_json(out / "report.json")
    validate_report(data)
    assert data["resolved"] == []
    out_of_scope = "namespace shop was outside this scan's scope"
    gone = {f["id"]: f["not_compared_reason"] for f in data["not_compared"]}
    assert gone == {
        GW005: out_of_scope,
        EGR003: out_of_scope,
        GW001: out_of_scope,
        VS001: out_of_scope,
        VS002: out_of_scope,
    }
    assert [f["id"] for f in data["findings"]] == [EGR001, MTLS001]
    # a snapshot that read only istio-system cannot judge even those: not compared either
    objects = [o for o in _objects(COMMON, BEFORE) if o["metadata"].get("namespace") != "shop"]
    snap = write_snapshot(tmp_path / "snap.json", objects, namespaces=["istio-system"])
    data, _ = scan_snapshot(snap, before, tmp_path / "snap-out", monkeypatch)
    assert data["findings"] == [] and data["resolved"] == []
    assert {f["id"] for f in data["not_compared"]} == {
        GW005,
        EGR003,
        GW001,
        VS001,
        VS002,
        EGR001,
        MTLS001,
    }
    assert {f["id"]: f["not_compared_reason"] for f in data["not_compared"]}[MTLS001].endswith(
        "what it reports may only be unread, so it is not judged"
    )


def test_a_fully_read_scan_still_resolves(
    before: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # control: the VirtualService really deleted, VirtualServices read: resolved, not "unknown"
    objects = [o for o in _objects(COMMON, BEFORE) if o["kind"] != "VirtualService"]
    snap = write_snapshot(tmp_path / "snap.json", objects)
    data, _ = scan_snapshot(snap, before, tmp_path / "after", monkeypatch)
    assert [f["id"] for f in data["resolved"]] == [EGR003, VS001, VS002]
    assert data["not_compared"] == []


def test_html_shows_not_compared(
    before: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = [o for o in _objects(COMMON, BEFORE) if o["kind"] != "VirtualService"]
    forbidden = {VS_KEY: {"status": "forbidden", "message": "forbidden", "count": 0}}
    snap = write_snapshot(tmp_path / "snap.json", objects, collection=forbidden)
    out = tmp_path / "after"
    args = ["scan", "--from", str(snap), "--baseline", str(before), "--output-dir", str(out)]
    assert run_cli([*args, "--format", "html"], monkeypatch).exit_code == 0
    html = (out / "report.html").read_text()
    assert '<a href="#not-compared"><strong>3</strong> not compared</a>' in html
    assert '<section id="not-compared"' in html
    assert f'<tr data-id="{VS001}">' in html
    assert "check VS001 did not run in this scan (skipped)" in html
