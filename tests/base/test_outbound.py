"""The outbound HTTP layer (auditor/base/outbound.py) against hostile peers on loopback: which
origin receives the credential, what a redirect does to a webhook, how a drip is cut, and that
every failure is one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from auditor.base.outbound import (
    Limits,
    OutboundError,
    finite,
    json_answer,
    parse_url,
    read_token_file,
    request,
    show_origin,
)
from auditor.input.prometheus.client import PrometheusClient, PrometheusError, PrometheusSettings
from tests.hostile_http import Seen, drip, json_body, peer, prometheus, raw_peer, redirect_to, send

TOKEN = "Bearer s3cr3t-sa-token"
FOLLOW = Limits(max_redirects=5, read_timeout=5)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_a_redirect_to_another_port_never_carries_the_credential() -> None:
    with peer(json_body(b"{}")) as other, peer(redirect_to(other.url)) as first:
        resp = request("GET", first.url + "/q", limits=FOLLOW, credentials={"Authorization": TOKEN})
    assert resp.status == 200
    assert first.seen == [Seen("GET", "/q", TOKEN)]
    assert other.seen == [Seen("GET", "/q", None)]


def test_a_chain_that_leaves_and_comes_back_stays_without_the_credential() -> None:
    def home(h: object) -> None:
        path = h.path  # type: ignore[attr-defined]
        if path == "/start":
            send(h, 302, b"", "text/plain", {"Location": away.url + "/back"})  # type: ignore[arg-type]
        else:
            send(h, 200, b"{}")  # type: ignore[arg-type]

    with peer(home) as first, peer(redirect_to(first.url + "/end")) as away:
        request("GET", first.url + "/start", limits=FOLLOW, credentials={"Authorization": TOKEN})
    assert first.seen == [Seen("GET", "/start", TOKEN), Seen("GET", "/end/back", None)]
    assert away.seen == [Seen("GET", "/back", None)]


def test_a_same_origin_redirect_keeps_the_credential() -> None:
    def respond(h: object) -> None:
        if h.path == "/old":  # type: ignore[attr-defined]
            send(h, 307, b"", "text/plain", {"Location": "/new"})  # type: ignore[arg-type]
        else:
            send(h, 200, b'{"ok":true}')  # type: ignore[arg-type]

    with peer(respond) as server:
        resp = request(
            "GET", server.url + "/old", limits=FOLLOW, credentials={"Authorization": TOKEN}
        )
    assert json_answer(resp) == {"ok": True}
    assert server.seen == [Seen("GET", "/old", TOKEN), Seen("GET", "/new", TOKEN)]


def test_redirect_loops_end() -> None:
    again = peer(lambda h: send(h, 302, b"", "text/plain", {"Location": "/again"}))
    with again as server, pytest.raises(OutboundError) as err:
        request("GET", server.url + "/", limits=FOLLOW)
    assert err.value.reason == "more than 5 redirects"
    assert len(server.seen) == 6


def test_without_redirects_allowed_a_redirect_is_an_error_and_never_followed() -> None:
    reason = "followed"
    with peer(json_body(b"ok")) as inner, peer(redirect_to(inner.url, 302)) as first:
        try:
            request("POST", first.url + "/hook", body=b"{}", limits=Limits())
        except OutboundError as exc:
            reason = exc.reason
    assert reason == "answered a redirect (HTTP 302); redirects are not followed"
    assert [s.method for s in first.seen] == ["POST"]
    assert inner.seen == []


def test_a_drip_is_cut_at_the_overall_deadline() -> None:
    with peer(drip(0.1)) as server:
        started = time.monotonic()
        with pytest.raises(OutboundError) as err:
            request("GET", server.url, limits=Limits(read_timeout=30, until=started + 1.5))
        took = time.monotonic() - started
    assert err.value.kind == "deadline"
    assert 1.4 < took < 3.0


def test_an_answer_over_the_cap_is_refused() -> None:
    big = peer(lambda h: send(h, 200, b"x" * 5000))
    with big as server, pytest.raises(OutboundError) as err:
        request("GET", server.url, limits=Limits(max_body=1024))
    assert err.value.reason == "answer is larger than 1024 bytes"


@pytest.mark.parametrize(
    "raw", [b"SSH-2.0-OpenSSH_9.6\r\n", b"\x16\x03\x01\x00\x05hello", b"HTTP/1.1 abc\r\n\r\n"]
)
def test_a_peer_that_does_not_speak_http_is_one_line(raw: bytes) -> None:
    with raw_peer(raw) as server, pytest.raises(OutboundError) as err:
        request("GET", server.url, limits=FOLLOW)
    assert err.value.reason in (
        "answered something that is not HTTP",
        "the connection closed before the answer was complete",
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[NaN]", "answered invalid JSON"),
        (b"[" * 5000 + b"]" * 5000, "answered JSON nested too deeply"),
        (b"[" * 100 + b"]" * 100, "answered JSON nested more than 64 deep"),
        (b"{not json", "answered invalid JSON"),
    ],
)
def test_json_answers_are_validated(body: bytes, reason: str) -> None:
    with peer(json_body(body)) as server:
        resp = request("GET", server.url, limits=FOLLOW)
    with pytest.raises(OutboundError) as err:
        json_answer(resp)
    assert err.value.reason == reason


@pytest.mark.parametrize("text", ["NaN", "+Inf", "-Inf", "1e999", "nan", "x", True, None, [1]])
def test_finite_refuses_what_is_not_a_finite_number(text: object) -> None:
    with pytest.raises(OutboundError):
        finite(text, "value")


def test_finite_reads_prometheus_numbers() -> None:
    assert (finite("12.5", "v"), finite(3, "v"), finite("1e3", "v")) == (12.5, 3.0, 1000.0)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:notaport/hook", "--notify: not a valid URL"),
        ("http://[::1/hook", "--notify: not a valid URL (Invalid IPv6 URL)"),
        ("http:///hook", "--notify: expected an http:// or https:// URL with a host"),
        ("ftp://example.test/", "--notify: expected an http:// or https:// URL with a host"),
        ("http://a b/", "--notify: the URL holds a space or control character"),
        ("http://127.0.0.1:0/", "--notify: port 0 is not a port"),
    ],
)
def test_malformed_urls_are_usage_errors(url: str, reason: str) -> None:
    with pytest.raises(OutboundError) as err:
        parse_url(url, "--notify")
    assert err.value.kind == "usage"
    assert err.value.reason.startswith(reason)


def test_show_origin_hides_the_path_and_credentials() -> None:
    assert show_origin("https://u:p@hooks.example.test/services/T0/B0/XyZ") == (
        "https://hooks.example.test"
    )
    assert show_origin("http://127.0.0.1:8080/x?token=1") == "http://127.0.0.1:8080"


def test_a_token_with_a_line_break_is_one_line_without_the_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("first-half-TOKEN\nsecond-half-TOKEN\n")
    with pytest.raises(OutboundError) as err:
        read_token_file(str(path), "--prometheus-token-file")
    assert err.value.reason == (
        f"--prometheus-token-file {path} holds a line break or control character"
    )
    assert "TOKEN" not in err.value.reason


def test_prometheus_behind_a_cross_origin_redirect_gets_no_token(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cr3t-sa-token\n")
    with peer(prometheus()) as other, peer(redirect_to(other.url)) as first:
        client = PrometheusClient(PrometheusSettings(url=first.url, bearer_token_file=str(token)))
        assert client.buildinfo() == {"version": "2.53.0"}
    assert first.seen == [Seen("GET", "/api/v1/status/buildinfo", TOKEN)]
    assert other.seen == [Seen("GET", "/api/v1/status/buildinfo", None)]


def test_prometheus_values_that_are_not_finite_are_refused() -> None:
    for value in ("NaN", "+Inf", "-Inf"):
        with peer(prometheus(value)) as server, pytest.raises(PrometheusError) as err:
            PrometheusClient(PrometheusSettings(url=server.url)).query("up", 0)
        assert (
            str(err.value) == f"query answered a sample value that is not a finite number ({value})"
        )


def test_prometheus_drip_is_cut_at_its_deadline() -> None:
    with peer(drip(0.1)) as server:
        client = PrometheusClient(PrometheusSettings(url=server.url, deadline=1.5))
        started = time.monotonic()
        with pytest.raises(PrometheusError) as err:
            client.buildinfo()
        assert time.monotonic() - started < 3.0
        with pytest.raises(PrometheusError):
            client.buildinfo()  # the deadline is the client's: later calls fail at once
        assert time.monotonic() - started < 3.0
    assert str(err.value) == (
        f"{server.url}/api/v1/status/buildinfo did not answer within the overall deadline (1.5s)"
    )


def test_an_environment_proxy_is_used_as_urllib_would(monkeypatch: pytest.MonkeyPatch) -> None:
    with peer(json_body(b"{}")) as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        request("GET", "http://127.0.0.1:9/q?x=1", limits=FOLLOW)
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        with peer(json_body(b"{}")) as direct:
            request("GET", direct.url + "/d", limits=FOLLOW)
    # absolute-form to the proxy; NO_PROXY hosts are reached directly
    assert [s.path for s in proxy.seen] == ["http://127.0.0.1:9/q?x=1"]
    assert [s.path for s in direct.seen] == ["/d"]


def test_url_credentials_go_as_basic_auth_to_their_origin_only() -> None:
    with peer(prometheus()) as other, peer(redirect_to(other.url)) as first:
        url = first.url.replace("http://", "http://reader:pa%3Ass@")
        client = PrometheusClient(PrometheusSettings(url=url))
        assert client.buildinfo() == {"version": "2.53.0"}
        assert client.display_url == first.url  # the credentials are never shown
    assert first.seen == [Seen("GET", "/api/v1/status/buildinfo", "Basic cmVhZGVyOnBhOnNz")]
    assert other.seen == [Seen("GET", "/api/v1/status/buildinfo", None)]
