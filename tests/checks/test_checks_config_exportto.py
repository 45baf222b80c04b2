"""CFG011: exportTo entries naming a namespace that does not exist (fixtures/cases/exportto,
modelled on Kiali's exportto checker data; README.md there names the sources)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from auditor.cli import main
from tests.case_helpers import CASES, report_for
from tests.kubeapi import FakeKubeAPI


def _found(case: str) -> set[tuple[str, str, str, str, str, str]]:
    return {
        (
            f["check"],
            f["resource"]["kind"],
            f["resource"]["namespace"],
            f["resource"]["name"],
            f["path"],
            f["severity"],
        )
        for f in report_for(case)["findings"]
        if f["check"] == "CFG011"
    }


def _run(case: str) -> dict[str, object]:
    (run,) = [r for r in report_for(case)["check_runs"] if r["check"] == "CFG011"]
    return dict(run)


def test_missing_namespaces_when_the_list_is_complete() -> None:
    annotation = "metadata.annotations[networking.istio.io/exportTo]"
    assert _found("exportto/exportto-snapshot.json") == {
        ("CFG011", "DestinationRule", "bookinfo", "dr-exportto-invalid", "spec.exportTo[0]", "low"),
        ("CFG011", "DestinationRule", "bookinfo", "dr-exportto-invalid", "spec.exportTo[1]", "low"),
        ("CFG011", "Service", "bookinfo", "reviews", annotation, "low"),
    }
    assert _run("exportto/exportto-snapshot.json") == {
        "check": "CFG011",
        "status": "ran",
        "message": "",
        "missing_kinds": [],
        "findings": 3,
    }


def test_file_input_is_not_judged_rather_than_clean() -> None:
    assert _found("exportto/exportto-files.yaml") == set()
    run = _run("exportto/exportto-files.yaml")
    assert run["status"] == "ran"
    assert run["message"] == (
        "not judged: the Namespace list was not read from a cluster (file input), so a "
        "namespace missing from it may still exist"
    )


def _live(kube_api: FakeKubeAPI, tmp_path: Path) -> dict[str, Any]:
    doc = json.loads((CASES / "exportto" / "exportto-snapshot.json").read_text())
    assert kube_api.load_objects(doc["objects"]) > 0
    kc = kube_api.write_kubeconfig(tmp_path / "kubeconfig", None)
    out = tmp_path / "out"
    args = ["scan", "--context", "prod", "--kubeconfig", str(kc), "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--output-dir", str(out)], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads((out / "report.json").read_text())
    return data


def test_live_read_lists_every_namespace_so_it_is_judged(
    kube_api: FakeKubeAPI, tmp_path: Path
) -> None:
    data = _live(kube_api, tmp_path)
    assert data["collection"]["Namespace"]["status"] == "ok"
    assert {
        (f["resource"]["name"], f["path"]) for f in data["findings"] if f["check"] == "CFG011"
    } == {
        ("dr-exportto-invalid", "spec.exportTo[0]"),
        ("dr-exportto-invalid", "spec.exportTo[1]"),
        ("reviews", "metadata.annotations[networking.istio.io/exportTo]"),
    }


def test_namespaces_forbidden_is_not_audited(kube_api: FakeKubeAPI, tmp_path: Path) -> None:
    kube_api.forbid("namespaces")
    data = _live(kube_api, tmp_path)
    (run,) = [r for r in data["check_runs"] if r["check"] == "CFG011"]
    assert run["status"] == "skipped"
    assert not [f for f in data["findings"] if f["check"] == "CFG011"]
