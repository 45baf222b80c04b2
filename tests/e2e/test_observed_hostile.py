"""`scan --prometheus` against hostile or broken Prometheus look-alikes on loopback: the audit
always completes, and the observed section says "not assessed" with the one-line reason."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import main
from tests.case_helpers import CASES
from tests.hostile_http import drip, peer, prometheus, raw_peer

MESH = CASES / "observed" / "mesh.yaml"


def scan(url: str, tmp_path: Path, *extra: str) -> tuple[int, str, dict[str, object]]:
    result = CliRunner().invoke(
        main,
        [
            "scan",
            "--from",
            str(MESH),
            "--prometheus",
            url,
            "--format",
            "json,html",
            "--output-dir",
            str(tmp_path),
            "--no-progress",
            *extra,
        ],
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, json.loads((tmp_path / "report.json").read_text())


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            "NaN",
            "query external_requests failed: query answered a sample value that is not a "
            "finite number (NaN)",
        ),
        (
            "+Inf",
            "query external_requests failed: query answered a sample value that is not a "
            "finite number (+Inf)",
        ),
        (
            "-Inf",
            "query external_requests failed: query answered a sample value that is not a "
            "finite number (-Inf)",
        ),
    ],
)
def test_non_finite_values_make_the_section_not_assessed(
    value: str, reason: str, tmp_path: Path
) -> None:
    with peer(prometheus(value)) as server:
        code, out, data = scan(server.url, tmp_path)
    assert code == 0
    observed = data["observed"]
    assert isinstance(observed, dict)
    assert (observed["available"], observed["not_assessed"]) == (False, reason)
    assert all(h["verdict"] == "not-observed" for h in observed["hosts"])
    assert observed["passthrough"]["requests"] == 0
    assert f"Observed egress (last 7d): not assessed: {reason}" in out
    html = (tmp_path / "report.html").read_text()
    assert "<strong>Not assessed:</strong> query external_requests failed" in html


def test_deeply_nested_json_is_not_assessed(tmp_path: Path) -> None:
    with peer(prometheus(nested=100_000)) as server:
        code, _, data = scan(server.url, tmp_path)
    assert code == 0
    assert data["observed"]["not_assessed"] == (  # type: ignore[index]
        f"Prometheus not queried: {server.url}/api/v1/query answered JSON nested too deeply; "
        "no traffic was observed"
    )


def test_a_peer_that_is_not_http_is_not_assessed(tmp_path: Path) -> None:
    with raw_peer(b"SSH-2.0-OpenSSH_9.6\r\n") as server:
        code, _, data = scan(server.url, tmp_path)
    assert code == 0
    assert data["observed"]["not_assessed"] == (  # type: ignore[index]
        f"Prometheus not queried: {server.url}/api/v1/status/buildinfo answered "
        "something that is not HTTP; no traffic was observed"
    )


def test_a_dripping_prometheus_is_cut_at_the_scan_deadline(tmp_path: Path) -> None:
    with peer(drip(0.1)) as server:
        started = time.monotonic()
        code, _, data = scan(server.url, tmp_path, "--deadline", "2")
        took = time.monotonic() - started
    assert code == 0
    assert took < 2 + 10  # the scan itself plus the deadline, never the drip's whole body
    assert data["observed"]["not_assessed"] == (  # type: ignore[index]
        f"Prometheus not queried: {server.url}/api/v1/status/buildinfo did not answer within "
        "the overall deadline (2s); no traffic was observed"
    )


def test_a_token_file_with_a_line_break_is_one_line_without_the_token(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first-half-TOKEN\nsecond-half-TOKEN\n")
    with peer(prometheus()) as server:
        code, _, data = scan(server.url, tmp_path / "out", "--prometheus-token-file", str(token))
    assert code == 0
    reason = data["observed"]["not_assessed"]  # type: ignore[index]
    assert reason == (
        f"Prometheus not queried: --prometheus-token-file {token} holds a line break or control "
        "character; no traffic was observed"
    )
    assert server.seen == []


@pytest.mark.parametrize("since", ["999999999999d", "3651d"])
def test_extreme_since_is_a_usage_error(since: str) -> None:
    result = CliRunner().invoke(
        main, ["scan", "--from", str(MESH), "--prometheus", "http://127.0.0.1:9", "--since", since]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"mesh-audit: error: --since {since!r} is longer than 10 years (3650d)\n"
    )
