"""`--notify URL`: the run's summary reaches a webhook (a real HTTP server on loopback), in the
Slack-compatible and the generic JSON form, with retries that never cost the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from auditor.run.deliver import notify
from tests.pipeline_helpers import AFTER, BEFORE, run_cli
from tests.s3.fixture import BUCKET, S3Server

CLOCK = "2026-11-26T03:17:00Z"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "BACKOFF", 0.01)  # the doubling itself is tested below


def previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "previous"
    result = run_cli(["scan", "--from", str(AFTER), "--output-dir", str(out)], monkeypatch)
    assert result.exit_code == 0, result.output
    return out / "report.json"


def bodies(server: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(request.get_data()) for request, _ in server.log]


def test_generic_json_summary_with_new_findings(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    baseline = previous_report(tmp_path, monkeypatch)
    result = run_cli(
        [
            "scan",
            "--from",
            str(BEFORE),
            "--output-dir",
            str(tmp_path / "out"),
            "--baseline",
            str(baseline),
            "--cluster-name",
            "prod-eu-1",
            "--notify",
            httpserver.url_for("/hook"),
            "--notify-format",
            "json",
        ],
        monkeypatch,
        CLOCK,
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    [(request, _)] = httpserver.log
    assert request.headers["Content-Type"] == "application/json"
    [body] = bodies(httpserver)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    new = [f for f in report["findings"] if f["baseline_status"] == "new"]
    assert len(new) == 3
    assert body == {
        "kind": "MeshAuditSummary",
        "tool": {"name": "mesh-audit", "version": report["tool"]["version"]},
        "cluster": "prod-eu-1",
        "generated_at": CLOCK,
        "complete": True,
        "incomplete": None,
        # one score: the report's own, copied
        "score": report["summary"]["score"],
        "grade": report["summary"]["grade"],
        "findings": report["summary"]["total"],
        "by_severity": report["summary"]["by_severity"],
        "kinds_read": report["summary"]["coverage"]["kinds_read"],
        "kinds_total": report["summary"]["coverage"]["kinds_total"],
        "unread": [],
        "baseline": True,
        "new": 3,
        "new_findings": [
            {
                "check": f["check"],
                "severity": f["severity"],
                "title": f["title"],
                "resource": f["resource"],
            }
            for f in new
        ],
        "report_url": None,
    }
    # the webhook URL is a credential: the report's command line never shows it
    assert httpserver.url_for("/hook") not in json.dumps(report)
    assert "--notify" in report["command"] and "***" in report["command"]


def test_slack_summary_links_the_uploaded_report(
    httpserver: HTTPServer, s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/services/T0/B0/x", method="POST").respond_with_data("ok")
    baseline = previous_report(tmp_path, monkeypatch)
    result = run_cli(
        [
            "scan",
            "--from",
            str(BEFORE),
            "--format",
            "json,html",
            "--output-dir",
            str(tmp_path / "out"),
            "--baseline",
            str(baseline),
            "--upload",
            f"s3://{BUCKET}/audits",
            "--cluster-name",
            "prod-eu-1",
            "--report-base-url",
            "https://reports.example.com/",
            "--notify",
            httpserver.url_for("/services/T0/B0/x"),
        ],
        monkeypatch,
        CLOCK,
    )
    assert result.exit_code == 0, result.output
    [body] = bodies(httpserver)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    value, grade = report["summary"]["score"], report["summary"]["grade"]
    sev = report["summary"]["by_severity"]
    counts = ", ".join(
        f"{sev[s]} {s}" for s in ("critical", "high", "medium", "low", "info") if sev[s]
    )
    head = (
        f"mesh-audit prod-eu-1: score {value} (grade {grade}), "
        f"{report['summary']['total']} findings ({counts})"
    )
    assert body["text"] == head
    [block] = body["blocks"]
    lines = block["text"]["text"].splitlines()
    assert lines[0] == f"*{head}*"
    assert lines[1] == "New since the previous audit: 3"
    new = [f for f in report["findings"] if f["baseline_status"] == "new"]
    for line, finding in zip(lines[2:5], new, strict=True):
        ref = finding["resource"]
        assert line == (
            f"• [{finding['severity']}] {finding['check']} {finding['title']}: "
            f"{ref['kind']} {ref['namespace']}/{ref['name']}"
        )
    assert lines[5:] == [
        "Report: <https://reports.example.com/audits/prod-eu-1/20261126T031700Z/report.html>"
    ]
    # the link points at an object that exists
    s3.client().head_object(Bucket=BUCKET, Key="audits/prod-eu-1/20261126T031700Z/report.html")


def test_retries_with_backoff_then_delivers(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/hook").respond_with_data("slow down", status=429)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    result = run_cli(
        [
            "scan",
            "--from",
            str(AFTER),
            "--output-dir",
            str(tmp_path / "out"),
            "--notify",
            httpserver.url_for("/hook"),
        ],
        monkeypatch,
    )
    assert result.exit_code == 0
    assert result.stderr == ""
    assert [r.status_code for _, r in httpserver.log] == [503, 429, 200]
    assert bodies(httpserver)[0] == bodies(httpserver)[2]  # the same summary each time


def test_post_waits_double_each_retry() -> None:
    waits: list[float] = []
    outcome = notify.post(
        "http://127.0.0.1:1/hook", {"x": 1}, attempts=4, backoff=0.5, sleep=waits.append
    )
    assert (outcome.ok, outcome.attempts) == (False, 4)
    assert outcome.detail == "connection refused"
    assert waits == [0.5, 1.0, 2.0]


def test_a_dead_webhook_never_costs_the_report(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    result = run_cli(
        [
            "scan",
            "--from",
            str(AFTER),
            "--output-dir",
            str(tmp_path / "out"),
            "--notify",
            httpserver.url_for("/hook"),
            "--fail-on",
            "critical",
        ],
        monkeypatch,
    )
    assert result.exit_code == 0  # the exit code is the scan's
    assert result.stderr.splitlines() == [
        f"mesh-audit: warning: webhook notification to http://localhost:{httpserver.port} failed "
        "after 4 attempts (HTTP 500); "
        "the report is unaffected"
    ]
    assert len(httpserver.log) == 4
    assert (tmp_path / "out" / "report.json").is_file()


def test_a_client_error_is_not_retried(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/hook").respond_with_data("no such hook", status=404)
    result = run_cli(
        [
            "scan",
            "--from",
            str(AFTER),
            "--output-dir",
            str(tmp_path / "o"),
            "--notify",
            httpserver.url_for("/hook"),
        ],
        monkeypatch,
    )
    assert result.exit_code == 0
    assert len(httpserver.log) == 1
    assert "failed after 1 attempts (HTTP 404)" in result.stderr
    assert "/hook" not in result.stderr  # the URL's path is the webhook's secret


def test_bad_webhook_url_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(["scan", "--from", str(AFTER), "--notify", "ftp://x/y"], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr == (
        "mesh-audit: error: --notify: expected an http:// or https:// URL with a host\n"
    )


def test_slack_text_escapes_tenant_text() -> None:
    summary = {
        "cluster": "c<!channel>",
        "score": 50,
        "grade": "F",
        "findings": 1,
        "by_severity": {"high": 1},
        "baseline": True,
        "new": 1,
        "new_findings": [
            {
                "check": "GW001",
                "severity": "high",
                "title": "t",
                "resource": {"kind": "Gateway", "namespace": "a", "name": "<http://evil|x>\x1b[2J"},
            }
        ],
        "unread": [],
    }
    text = notify.slack_payload(summary, None)["blocks"][0]["text"]["text"]
    assert "<" not in text and ">" not in text and "\x1b" not in text
    assert "c&lt;!channel&gt;" in text
    assert "Gateway a/&lt;http://evil|x&gt;[2J" in text
