"""Baselines and `mesh-audit diff`: new / unchanged / resolved by finding id, and gating on new
findings only (`--fail-on-new`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.base.errors import InputError
from auditor.base.model import Severity
from auditor.run.baseline import diff_reports, gating_findings, load_report
from tests.pipeline_helpers import (
    AFTER,
    BEFORE,
    COMMON,
    EGR001,
    EGR003,
    GW001,
    GW002,
    GW005,
    MTLS001,
    VS001,
    VS002,
    WAIVERS,
    ours,
    read_json,
    run_cli,
    validate_report,
)


def scan_to(
    out: Path, variant: Path, monkeypatch: pytest.MonkeyPatch, *extra: str, clock: str = ""
) -> tuple[int, dict[str, Any], str]:
    args = ["scan", "--from", str(COMMON), "--from", str(variant), "--output-dir", str(out)]
    result = run_cli([*args, *extra], monkeypatch, **({"clock": clock} if clock else {}))
    return result.exit_code, read_json(out / "report.json"), result.stdout


@pytest.fixture
def before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    code, _data, _out = scan_to(
        tmp_path / "before", BEFORE, monkeypatch, clock="2026-11-18T12:00:00Z"
    )
    assert code == 0
    return tmp_path / "before" / "report.json"


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {f["id"]: f["baseline_status"] for f in ours(data["findings"])}


def test_baseline_marks_new_unchanged_and_resolved(
    before: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, data, stdout = scan_to(
        tmp_path / "after", AFTER, monkeypatch, "--baseline", str(before), "--severity", "low"
    )
    assert code == 0
    assert statuses(data) == {
        EGR001: "unchanged",
        GW005: "unchanged",
        MTLS001: "unchanged",
        GW001: "unchanged",
        GW002: "new",
    }
    assert [f["id"] for f in data["resolved"]] == [EGR003, VS001, VS002]
    resolved = data["resolved"][1]
    assert (resolved["check"], resolved["resource"]["kind"], resolved["resource"]["name"]) == (
        "VS001",
        "VirtualService",
        "legacy",
    )
    assert data["baseline"]["source"] == str(before)
    assert data["baseline"]["generated_at"] == "2026-11-18T12:00:00Z"
    assert data["baseline"] == {
        "source": str(before),
        "generated_at": "2026-11-18T12:00:00Z",
        "new": 1,
        "unchanged": 4,
        "resolved": 3,
        "not_compared": 0,
        "new_by_severity": {"critical": 0, "high": 0, "medium": 0, "low": 1, "info": 0},
    }
    validate_report(data)
    assert (
        f"Since baseline {before} (2026-11-18T12:00:00Z): 1 new, 4 unchanged, 3 resolved" in stdout
    )
    assert "[LOW     ] NEW GW002  Gateway shop/shop-gateway  spec.servers[1].port.number" in stdout


def test_baseline_of_itself_is_all_unchanged(
    before: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _code, data, _out = scan_to(tmp_path / "again", BEFORE, monkeypatch, "--baseline", str(before))
    assert set(statuses(data).values()) == {"unchanged"}
    assert data["resolved"] == []
    assert data["baseline"]["new"] == 0


def test_resolved_findings_do_not_carry_the_old_runs_marks(
    before: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a baseline that itself was compared with an older one: its marks are not carried over
    _c, second, _o = scan_to(tmp_path / "b2", BEFORE, monkeypatch, "--baseline", str(before))
    assert second["findings"][0]["baseline_status"] == "unchanged"
    base2 = tmp_path / "b2" / "report.json"
    _c, data, _o = scan_to(tmp_path / "after", AFTER, monkeypatch, "--baseline", str(base2))
    assert [f["id"] for f in data["resolved"]] == [EGR003, VS001, VS002]
    assert all("baseline_status" not in f for f in data["resolved"])


def test_fail_on_new_gates_on_new_findings_only(
    before: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--baseline", str(before), "-q"]
    # the only new finding is GW002 (low); EGR001 (medium) is old
    assert scan_to(tmp_path / "a", AFTER, monkeypatch, *args, "--fail-on-new", "low")[0] == 1
    assert scan_to(tmp_path / "b", AFTER, monkeypatch, *args, "--fail-on-new", "medium")[0] == 0
    # --fail-on still sees old findings
    assert scan_to(tmp_path / "c", AFTER, monkeypatch, *args, "--fail-on", "medium")[0] == 1
    # a waived new finding does not gate (the fixture waives GW002 by id)
    waived = [*args, "--waivers", str(WAIVERS), "--fail-on-new", "low"]
    code, data, _out = scan_to(tmp_path / "d", AFTER, monkeypatch, *waived)
    assert code == 0
    gw002 = next(f for f in data["findings"] if f["id"] == GW002)
    assert (gw002["baseline_status"], gw002["waiver"]["index"]) == ("new", 1)
    assert data["baseline"]["new_by_severity"]["low"] == data["baseline"]["new"] - 1
    validate_report(data)


def test_fail_on_new_needs_a_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["scan", "--from", str(COMMON), "--fail-on-new", "low"], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr == (
        "mesh-audit: error: --fail-on-new needs --baseline PREVIOUS_REPORT.json\n"
    )


def test_gating_findings_library() -> None:
    findings = [
        {"id": "A", "severity": "high", "baseline_status": "new", "waiver": None},
        {"id": "B", "severity": "high", "baseline_status": "unchanged", "waiver": None},
        {"id": "C", "severity": "critical", "baseline_status": "new", "waiver": {"index": 0}},
        {"id": "D", "severity": "low", "baseline_status": "new"},
    ]
    ids = [f["id"] for f in gating_findings(findings, Severity.HIGH)]
    assert ids == ["A", "B"]
    assert [f["id"] for f in gating_findings(findings, Severity.HIGH, new_only=True)] == ["A"]
    assert [f["id"] for f in gating_findings(findings, Severity.LOW, new_only=True)] == ["A", "D"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"tool": {"name": "kubescape"}, "findings": []}', "not a mesh-audit report.json"),
        ('{"tool": {"name": "mesh-audit"}}', "report has no 'findings' list"),
        (
            '{"tool": {"name": "mesh-audit"}, "findings": [{"check": "GW001"}]}',
            "findings[0] has no 'id'",
        ),
    ],
)
def test_bad_baseline_is_an_input_error(
    content: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.json"
    path.write_text(content)
    with pytest.raises(InputError, match=f"^{path}: ") as exc:
        load_report(path)
    assert message in str(exc.value)
    result = run_cli(["scan", "--from", str(COMMON), "--baseline", str(path)], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mesh-audit: error: {path}: ")
    assert result.stderr.count("\n") == 1


def test_diff_command(before: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scan_to(tmp_path / "after", AFTER, monkeypatch)
    after = tmp_path / "after" / "report.json"
    out = tmp_path / "diff.json"
    result = run_cli(["diff", str(before), str(after), "--output", str(out)], monkeypatch)
    assert result.exit_code == 0, result.stderr
    written = json.loads(out.read_text())
    assert written == diff_reports(load_report(before), load_report(after))
    assert [f["id"] for f in written["new_findings"]] == [GW002]
    assert [f["id"] for f in written["resolved_findings"]] == [EGR003, VS001, VS002]
    assert [f["id"] for f in written["unchanged_findings"]] == [EGR001, MTLS001, GW005, GW001]
    counts = written["counts"]
    assert counts == {"new": 1, "resolved": 3, "unchanged": 4, "not_compared": 0}
    assert written["not_compared_findings"] == []
    assert written["old"]["generated_at"] == "2026-11-18T12:00:00Z"
    lines = result.stdout.splitlines()
    assert lines[1] == (
        f"New: {counts['new']}   Resolved: {counts['resolved']}   Unchanged: {counts['unchanged']}"
        "   Not compared: 0"
    )
    assert "New findings:" in lines
    assert (
        f"  [LOW     ] GW002  Gateway shop/shop-gateway  spec.servers[1].port.number  {GW002}"
        in (lines)
    )
    assert f"  [LOW     ] VS001  VirtualService shop/legacy  spec.gateways[0]  {VS001}" in lines
    assert lines[-1] == f"Wrote {out}"


def test_diff_of_a_report_with_itself(before: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["diff", str(before), str(before)], monkeypatch)
    assert result.exit_code == 0
    data = load_report(before)
    assert result.stdout.splitlines()[1] == (
        f"New: 0   Resolved: 0   Unchanged: {len(data['findings'])}   Not compared: 0"
    )
    assert "New findings:" not in result.stdout


def test_diff_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr == (
        f"mesh-audit: error: {tmp_path / 'a.json'}: cannot read: No such file or directory\n"
    )
