"""`--notify` against hostile webhooks on loopback: a redirect is never followed (the second
origin's request log stays empty), an answer that is not HTTP or a peer that drips is one warning
line, and none of it changes the exit code; a malformed URL is a usage error (exit 2, one line,
without the URL's secret path)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from auditor.run.deliver import notify
from tests.hostile_http import drip, drip_headers, peer, raw_peer, redirect_to, send
from tests.pipeline_helpers import AFTER, run_cli

WARNING = (
    "mesh-audit: warning: webhook notification to {origin} failed after {n} attempts ({why}); "
)


def scan(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> tuple[int, str]:
    result = run_cli(
        [
            "scan",
            "--from",
            str(AFTER),
            "--output-dir",
            str(tmp_path / "out"),
            "--notify",
            url,
            *list(extra),
        ],
        monkeypatch,
    )
    assert (tmp_path / "out" / "report.json").is_file()
    return result.exit_code, result.stderr


def test_a_redirecting_webhook_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner_ok = lambda h: send(h, 200, b"ok", "text/plain")  # noqa: E731
    with peer(inner_ok) as inner, peer(redirect_to(inner.url + "/internal", 302)) as hook:
        code, err = scan(hook.url + "/services/T0/B0/secret", tmp_path, monkeypatch)
    assert code == 0
    assert [(s.method, s.path) for s in hook.seen] == [("POST", "/services/T0/B0/secret")]
    assert inner.seen == []
    assert err.splitlines() == [
        WARNING.format(
            origin=hook.url,
            n=1,
            why="answered a redirect (HTTP 302); redirects are not followed",
        )
        + "the report is unaffected"
    ]


def test_a_webhook_that_is_not_http_is_a_warning_and_keeps_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify, "BACKOFF", 0.01)
    with raw_peer(b"garbage\r\n\r\n") as server:
        code, err = scan(server.url + "/hook", tmp_path, monkeypatch, "--fail-on", "info")
    assert code == 1  # the scan's own gate, not the webhook
    assert err.splitlines()[0] == (
        WARNING.format(origin=server.url, n=4, why="answered something that is not HTTP")
        + "the report is unaffected"
    )
    assert server.connections == 4


def test_a_dripping_webhook_is_cut_at_its_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify, "DEADLINE", 1.5)
    with peer(drip_headers(0.1)) as server:
        started = time.monotonic()
        code, err = scan(server.url + "/hook", tmp_path, monkeypatch)
        took = time.monotonic() - started
    assert code == 0
    assert took < 1.5 + 10
    assert err.splitlines() == [
        WARNING.format(origin=server.url, n=1, why="cut at the overall deadline")
        + "the report is unaffected"
    ]


def test_a_webhook_answer_body_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with peer(drip(0.1)) as server:
        started = time.monotonic()
        code, err = scan(server.url + "/hook", tmp_path, monkeypatch)
    assert (code, err) == (0, "")
    assert time.monotonic() - started < 10
    assert len(server.seen) == 1


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:notaport/T0/secret", "--notify: not a valid URL (Port could not be"),
        ("http://[::1/T0/secret", "--notify: not a valid URL (Invalid IPv6 URL)"),
        ("http:///T0/secret", "--notify: expected an http:// or https:// URL with a host"),
        ("https://hooks.example.test/T0/se cret", "--notify: the URL holds a space or control"),
    ],
)
def test_a_malformed_webhook_url_is_a_usage_error(
    url: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(["scan", "--from", str(AFTER), "--notify", url], monkeypatch)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mesh-audit: error: {reason}")
    assert result.stderr.count("\n") == 1
    assert "secret" not in result.stderr and "Traceback" not in result.output
