"""Gates and CI outputs agree: the exit code, the one line per failing gate, the JUnit failures,
and the score in report.json and on the terminal."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.pipeline_helpers import (
    AFTER,
    COMMON,
    EGR001,
    GW001,
    GW002,
    GW005,
    MTLS001,
    WAIVERS,
    read_json,
    run_cli,
    validate_report,
)

# COMMON + AFTER: EGR001, MTLS001 (medium); GW001, GW002, GW005 (low; GW005 is governance since
# #14). Score (auditor/report/score.py): weaknesses 4 + 4*0.9 + 1*0.81 + 1*0.729 + 1*0.6561 =
# 9.80, plus the internet-facing plaintext listener on port 80: 10, R = 19.8,
# 100 * e^(-0.198) = 82.0 -> 82, grade B.
MEDIUM = {EGR001, MTLS001}
LOW = {GW001, GW002, GW005}


def scan(out: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> tuple[int, str, str]:
    args = ["scan", "--from", str(COMMON), "--from", str(AFTER), "--output-dir", str(out)]
    result = run_cli([*args, "--format", "json,junit", *extra], monkeypatch)
    return result.exit_code, result.stdout, result.stderr


def junit_outcomes(path: Path) -> dict[str, str]:
    """Finding id -> failure / passed / skipped, for the test cases that carry a finding."""
    out: dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        failure, system_out, skipped = (case.find(t) for t in ("failure", "system-out", "skipped"))
        text = (failure.text if failure is not None else None) or (
            system_out.text if system_out is not None else ""
        )
        for line in (text or "").splitlines():
            if line.startswith("id: "):
                out[line[4:]] = "failure" if failure is not None else "passed"
        if skipped is not None and case.get("name", "").startswith("GW002 "):
            out[GW002] = "skipped"
    return out


def test_score_and_grade_in_report_and_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, stdout, stderr = scan(tmp_path, monkeypatch)
    assert (code, stderr) == (0, "")
    data = read_json(tmp_path / "report.json")
    validate_report(data)
    assert (data["summary"]["score"], data["summary"]["grade"]) == (82, "B")
    assert "gates" not in data
    assert "Score: 82/100   grade B" in stdout.splitlines()


@pytest.mark.parametrize(
    ("fail_on", "failing", "stderr"),
    [
        (
            "low",
            MEDIUM | LOW,
            "mesh-audit: 5 unwaived findings at or above low "
            "(EGR001, GW001, GW002, GW005, MTLS001)\n",
        ),
        (
            "medium",
            MEDIUM,
            "mesh-audit: 2 unwaived findings at or above medium (EGR001, MTLS001)\n",
        ),
        ("high", set(), ""),
    ],
)
def test_junit_failures_are_the_findings_that_trip_fail_on(
    fail_on: str,
    failing: set[str],
    stderr: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _stdout, err = scan(tmp_path, monkeypatch, "--fail-on", fail_on)
    assert code == (1 if failing else 0)
    assert err == stderr
    outcomes = junit_outcomes(tmp_path / "report.junit.xml")
    assert {i for i, o in outcomes.items() if o == "failure"} == failing
    assert {i for i, o in outcomes.items() if o == "passed"} == (MEDIUM | LOW) - failing
    data = read_json(tmp_path / "report.json")
    assert data["gates"] == {"fail_on": fail_on, "fail_on_new": None, "fail_under": None}
    root = ET.parse(tmp_path / "report.junit.xml").getroot()
    assert root.get("failures") == str(len(failing))


def test_junit_without_fail_on_fails_at_high_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # documented default: no --fail-on, JUnit fails findings at or above high; exit code stays 0
    code, _stdout, err = scan(tmp_path, monkeypatch)
    assert (code, err) == (0, "")
    outcomes = junit_outcomes(tmp_path / "report.junit.xml")
    assert outcomes == dict.fromkeys(MEDIUM | LOW, "passed")


def test_waived_findings_are_skipped_and_never_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the pipeline waivers file waives GW001 (by pattern) and GW002 (by id); EGR001's waiver
    # has expired
    code, _stdout, err = scan(
        tmp_path, monkeypatch, "--fail-on", "low", "--waivers", str(WAIVERS), "-q"
    )
    assert code == 1
    assert err == "mesh-audit: 3 unwaived findings at or above low (EGR001, GW005, MTLS001)\n"
    outcomes = junit_outcomes(tmp_path / "report.junit.xml")
    assert outcomes[GW002] == "skipped"
    assert {i for i, o in outcomes.items() if o == "failure"} == MEDIUM | {GW005}


def test_repeated_checks_are_counted_in_the_gate_line() -> None:
    from auditor.base.model import Severity
    from auditor.report.gates import Gates, failures

    findings = [
        {"id": f"x{i}", "check": c, "severity": s}
        for i, (c, s) in enumerate(
            [("TLS001", "high"), ("TLS001", "critical"), ("MTLS002", "high"), ("GW001", "low")]
        )
    ]
    data = {"findings": findings, "summary": {"score": 50, "grade": "F"}}
    assert failures(data, Gates(fail_on=Severity.HIGH, fail_under=60)) == [
        "3 unwaived findings at or above high (MTLS002, TLS001 x2)",
        "score 50 (grade F) is below --fail-under 60",
    ]
    assert failures(data, Gates(fail_on=Severity.CRITICAL)) == [
        "1 unwaived finding at or above critical (TLS001)"
    ]
    assert failures(data, Gates(fail_under=50)) == []


@pytest.mark.parametrize(("under", "code"), [(82, 0), (83, 1)])
def test_fail_under(under: int, code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got, _stdout, err = scan(tmp_path, monkeypatch, "--fail-under", str(under), "-q")
    assert got == code
    assert err == ("" if code == 0 else "mesh-audit: score 82 (grade B) is below --fail-under 83\n")


def test_fail_under_out_of_range_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _stdout, err = scan(tmp_path, monkeypatch, "--fail-under", "101")
    assert code == 2
    assert "--fail-under" in err and "101" in err
