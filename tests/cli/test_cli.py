"""The CLI as users run it: exit codes, one-line errors, files written, terminal summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from auditor.cli import main
from tests.helpers import CASES, DEMO

INPUT = CASES / "input"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_scan_writes_json_and_summary(tmp_path: Path) -> None:
    code, out, err = run(
        "scan",
        "--from",
        str(INPUT / "kubectl-list"),
        "--format",
        "json",
        "--output-dir",
        str(tmp_path),
    )
    assert code == 0, err
    data = json.loads((tmp_path / "report.json").read_text())
    assert {f["check"] for f in data["findings"]} >= {"GW001", "VS001"}
    assert f"Wrote {tmp_path / 'report.json'}" in out
    # GW001 is low: counted by default, listed with --severity low
    assert "GW001  Gateway istio-ingress/orphan-gateway  spec.selector" not in out
    assert "Not listed: " in out
    listed = run("scan", "--from", str(INPUT / "kubectl-list"), "--severity", "low")[1]
    assert "  [LOW     ] GW001  Gateway istio-ingress/orphan-gateway  spec.selector" in listed


def test_fail_on_gates_on_severity(tmp_path: Path) -> None:
    src = str(INPUT / "kubectl-list")
    assert run("scan", "--from", src, "--fail-on", "low", "-q")[0] == 1
    assert run("scan", "--from", src, "--fail-on", "critical", "-q")[0] == 0
    code, _, err = run("scan", "--from", src, "--fail-on", "severe")
    assert code == 2
    assert "unknown severity 'severe'" in err


def test_syntax_error_is_exit_2_one_line_no_traceback() -> None:
    code, out, err = run("scan", "--from", str(INPUT / "syntax-error"))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("mesh-audit: error: ")
    assert "broken.yaml:8:10: invalid YAML" in lines[0]
    assert "Traceback" not in err + out


def test_debug_shows_the_traceback() -> None:
    code, _, err = run("scan", "--from", str(INPUT / "syntax-error"), "--debug")
    assert code == 2
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("mesh-audit: error: ")


def test_usage_errors_are_exit_2() -> None:
    # (--from with --context is a pre-merge overlay now: tests/run/test_overlay.py)
    code, _, err = run("scan", "--from", str(DEMO), "-A", "-n", "shop")
    assert code == 2 and "-A/--all-namespaces and -n/--namespace" in err
    code, _, err = run("scan", "--from", str(DEMO), "--format", "json,docx")
    assert code == 2 and "unknown format 'docx'" in err
    code, _, err = run("scan", "--from", str(DEMO), "--mesh-config", "/nonexistent/mesh.yaml")
    assert code == 2 and "/nonexistent/mesh.yaml: cannot read" in err


def test_mesh_config_file_overrides_configmap(tmp_path: Path) -> None:
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n")
    code, _, err = run(
        "scan", "--from", str(DEMO), "--mesh-config", str(mesh), "--output-dir", str(tmp_path)
    )
    assert code == 0, err
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["mesh_config"]["outbound_traffic_policy"] == "REGISTRY_ONLY"
    assert "EGR001" not in {f["check"] for f in data["findings"]}
    assert any("overrides ConfigMap istio-system/istio" in w["problem"] for w in data["warnings"])


def test_checks_command_formats() -> None:
    code, out, _ = run("checks", "--format", "json")
    assert code == 0
    ids = [c["id"] for c in json.loads(out)]
    assert ids == sorted(ids) and {"GW001", "GW002", "VS001", "EGR001"} <= set(ids)
    code, out, _ = run("checks", "--format", "markdown")
    assert (
        "| GW001 | exposure | low | Gateway selector matches no gateway workload | IST0101 |" in out
    )


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == "mesh-audit, version 0.1.0"


def test_terminal_names_kinds_read_only_in_part() -> None:
    from auditor.report.terminal import render
    from tests.helpers import scan_paths

    data = dict(scan_paths(INPUT / "kubectl-list").data)
    data["collection"] = dict(data["collection"])
    data["collection"]["Pod"] = {
        "status": "ok",
        "message": "forbidden in namespaces: kube-system, payments",
        "count": 3,
        "version": "v1",
    }
    assert "  PARTIAL Pod: forbidden in namespaces: kube-system, payments" in render(data)


def test_unparsable_mesh_config_and_unwritable_output_are_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "mesh.yaml"
    bad.write_text("outboundTrafficPolicy: [\n")
    code, _, err = run("scan", "--from", str(DEMO), "--mesh-config", str(bad))
    assert code == 2
    assert err == (
        # libyaml's wording: --mesh-config is read with the manifests' loader (#20)
        f"mesh-audit: error: {bad}:2:1: invalid YAML: did not find expected node content "
        "(while parsing a flow node started at line 2, column 1)\n"
    )
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run("scan", "--from", str(DEMO), "--output-dir", str(blocker / "out"))
    assert code == 2
    assert err == f"mesh-audit: error: cannot write {blocker / 'out'}: Not a directory\n"


def test_istio_version_option(tmp_path: Path) -> None:
    case = str(CASES / "tls" / "origination-versions.yaml")
    code, _, err = run("scan", "--from", case, "--istio-version", "latest")
    assert code == 2
    assert err.strip().splitlines() == [
        "mesh-audit: error: --istio-version 'latest': expected a version such as 1.24.2"
    ]
    code, _, _ = run(
        "scan",
        "--from",
        case,
        "--istio-version",
        "1.20.3",
        "--format",
        "json",
        "--output-dir",
        str(tmp_path),
        "-q",
    )
    assert code == 0
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["source"]["istio_version"] == "1.20.3"
    assert {
        (f["check"], f["resource"]["name"], f["severity"])
        for f in data["findings"]
        if f["check"] == "TLS009"
    } == {("TLS009", "edition-cnn-com", "medium")}
