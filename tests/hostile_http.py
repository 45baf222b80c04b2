"""Small hostile HTTP peers on 127.0.0.1 (port 0 binds) for the outbound HTTP layer's tests.

Each `Peer` records what it received (method, path, Authorization header) so a test asserts
exactly which request reached which origin. `respond` builds the answer; helpers below make the
usual hostile ones: a redirector to another origin, a drip, bad numbers, deep nesting, and a
TCP peer that does not speak HTTP at all.
"""

from __future__ import annotations

import http.server
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

Respond = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass(frozen=True, slots=True)
class Seen:
    method: str
    path: str
    authorization: str | None


class Peer:
    def __init__(self, respond: Respond) -> None:
        self.seen: list[Seen] = []
        self.bodies: list[bytes] = []
        seen, bodies = self.seen, self.bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                bodies.append(self.rfile.read(length) if length else b"")
                seen.append(Seen(self.command, self.path, self.headers.get("Authorization")))
                respond(self)

            do_GET = do_POST = _any

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.errors = self.server.errors
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Server(http.server.ThreadingHTTPServer):
    """Keeps a handler's exception (a client that hangs up after the status line, as the webhook
    sender does) in `errors` instead of printing it: printed from the server's thread, it would
    land in the stderr the CLI runner captures and make the CLI's own lines flaky."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors: list[BaseException | None] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.errors.append(sys.exc_info()[1])


@contextmanager
def peer(respond: Respond) -> Iterator[Peer]:
    server = Peer(respond)
    try:
        yield server
    finally:
        server.close()


def send(
    h: http.server.BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(body)


def redirect_to(target: str, status: int = 302) -> Respond:
    """Answer every request with a redirect to the same path on `target`."""

    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        send(h, status, b"", "text/plain", {"Location": target + h.path})

    return respond


def json_body(body: bytes) -> Respond:
    return lambda h: send(h, 200, body)


def prometheus(value: str = "1", *, nested: int = 0) -> Respond:
    """A Prometheus look-alike: a version, a retention, the reporter probe says `source`, and
    every other query answers one series whose value is `value` (or `nested` brackets)."""

    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        if "buildinfo" in h.path:
            body = b'{"status":"success","data":{"version":"2.53.0"}}'
        elif "runtimeinfo" in h.path:
            body = b'{"status":"success","data":{"storageRetention":"30d"}}'
        elif nested:
            body = b'{"status":"success","data":' + b"[" * nested + b"]" * nested + b"}"
        elif "reporter" in h.path and "group" in h.path:
            body = (
                b'{"status":"success","data":{"resultType":"vector","result":'
                b'[{"metric":{"reporter":"source"},"value":[1700000000,"1"]}]}}'
            )
        elif "lowest_timestamp" in h.path:
            body = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
        else:
            body = (
                b'{"status":"success","data":{"resultType":"vector","result":[{"metric":'
                b'{"source_workload":"sleep","source_workload_namespace":"shop",'
                b'"destination_service":"httpbin.org","destination_service_name":"httpbin.org"},'
                b'"value":[1700000000,"' + value.encode() + b'"]}]}}'
            )
        send(h, 200, body)

    return respond


def drip(period: float = 0.2) -> Respond:
    """200 with a large declared body, then one byte every `period` seconds, for ever."""

    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "1000000")
        h.end_headers()
        try:
            h.wfile.write(b'{"status":"success","data":"')
            while True:
                h.wfile.write(b"a")
                h.wfile.flush()
                time.sleep(period)
        except OSError:
            pass

    return respond


def drip_headers(period: float = 0.2) -> Respond:
    """A status line, then header bytes one every `period` seconds, for ever."""

    def respond(h: http.server.BaseHTTPRequestHandler) -> None:
        try:
            h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while True:
                h.wfile.write(b"a")
                h.wfile.flush()
                time.sleep(period)
        except OSError:
            pass

    return respond


class RawPeer:
    """A TCP peer that answers every connection with `raw` bytes (not HTTP) and closes."""

    def __init__(self, raw: bytes) -> None:
        self.connections = 0
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer.connections += 1
                self.request.recv(65536)
                self.request.sendall(raw)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def raw_peer(raw: bytes) -> Iterator[RawPeer]:
    server = RawPeer(raw)
    try:
        yield server
    finally:
        server.close()
