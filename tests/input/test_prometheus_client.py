"""The read-only Prometheus client: what it sends, and each bad answer as one line."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from auditor.base.durations import parse_duration
from auditor.input.prometheus.client import PrometheusClient, PrometheusError, PrometheusSettings
from auditor.input.prometheus.egress_queries import prom_duration, promql_string, re2_literal
from tests.observed_series import openmetrics
from tests.prometheus_support import prometheus_with

SEEN: list[tuple[str, str, str | None]] = []


class Fake(http.server.BaseHTTPRequestHandler):
    """Answers every path with the class's canned body; records method, path, Authorization."""

    body = b'{"status":"success","data":{"version":"9.9.9"}}'
    ctype = "application/json"
    length: str | None = None

    def do_GET(self) -> None:
        SEEN.append(("GET", self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Type", self.ctype)
        self.send_header("Content-Length", self.length or str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def fake(**attrs: object) -> Iterator[str]:
    handler = type("Handler", (Fake,), attrs)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_sends_only_get_with_the_bearer_token_and_redacts_it(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cr3t-token\n")
    SEEN.clear()
    with fake() as url:
        client = PrometheusClient(PrometheusSettings(url=url, bearer_token_file=str(token)))
        assert client.buildinfo() == {"version": "9.9.9"}
    assert SEEN == [("GET", "/api/v1/status/buildinfo", "Bearer s3cr3t-token")]
    from auditor.base.redact import redact_text

    assert "s3cr3t-token" not in redact_text("token s3cr3t-token")


def test_an_html_page_is_refused() -> None:
    page = {"body": b"<html>login</html>", "ctype": "text/html; charset=utf-8"}
    with fake(**page) as url, pytest.raises(PrometheusError) as err:
        PrometheusClient(PrometheusSettings(url=url)).buildinfo()
    assert str(err.value) == f"{url}/api/v1/status/buildinfo answered text/html, not JSON"


def test_an_oversized_answer_is_refused_before_reading() -> None:
    with fake(length="999999999") as url, pytest.raises(PrometheusError) as err:
        PrometheusClient(PrometheusSettings(url=url, max_body=1024)).buildinfo()
    assert str(err.value) == f"{url}/api/v1/status/buildinfo answer is larger than 1024 bytes"


def test_a_vector_with_bad_samples_is_refused() -> None:
    body = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":1}]}}'
    with fake(body=body) as url, pytest.raises(PrometheusError) as err:
        PrometheusClient(PrometheusSettings(url=url)).query("up", 0)
    assert str(err.value) == "query answered a malformed sample"


def test_a_real_prometheus_error_is_one_line(tmp_path: Path) -> None:
    with prometheus_with(openmetrics(time.time()), tmp_path) as url:
        client = PrometheusClient(PrometheusSettings(url=url))
        with pytest.raises(PrometheusError) as err:
            client.query("sum by (", time.time())
    text = str(err.value)
    assert text.startswith(f"{url}/api/v1/query answered HTTP 400: ")
    assert "\n" not in text


def test_promql_literals_escape_tenant_text() -> None:
    assert re2_literal("a.b*c") == "a\\.b\\*c"
    assert promql_string('x"y\\z') == '"x\\"y\\\\z"'
    assert promql_string(re2_literal("svc.ns")) == '"svc\\\\.ns"'


def test_durations() -> None:
    assert parse_duration("7d", days=True) == 604800
    assert parse_duration("1d12h", days=True) == 129600
    with pytest.raises(ValueError):
        parse_duration("7d")  # kubectl's durations have no days
    assert prom_duration("15d") == 15 * 86400
    assert prom_duration("1w2d") == 9 * 86400
    assert prom_duration("10GiB") is None
