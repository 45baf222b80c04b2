"""Outbound HTTP for the integrations (Prometheus, webhooks): one place that bounds every
request, decides what follows a redirect, and turns every failure into one redacted line.

The collector's transport (auditor/collect/transport.py) set the rules this follows:

- Credentials go only to the origin they were given for. A redirect is followed by hand (at most
  `Limits.max_redirects`; webhooks: none, per OWASP's SSRF guidance); once a hop leaves the
  configured origin (scheme, host and port), the credential headers are dropped for the rest of
  the chain, as Go's net/http (CVE-2023-45289, CVE-2024-45336) and prometheus/common (#901,
  #920) do and as requests does by origin (CVE-2018-18074).
- Bounded: a per-read timeout, an overall deadline (a watchdog closes the socket when it passes,
  so a peer that drips one byte at a time is cut there), and a body cap checked on the declared
  length and while reading.
- One line per failure (`OutboundError.reason`), never a traceback: whatever http.client, ssl
  or the socket raise (an answer that is not HTTP, a bad URL, a header with a line break) is
  mapped here, and every reason passes the redaction (auditor/base/redact.py).

It speaks http.client directly: no urllib opener, so no redirect handler copies headers behind
our back. Proxies are taken from the environment as urllib takes them (HTTPS_PROXY, HTTP_PROXY,
NO_PROXY; an https:// target is tunnelled with CONNECT, so the proxy never sees its headers).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import math
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from auditor.base.redact import redact_text, register_secret

REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_body: int = 16 * 1024 * 1024
    read_timeout: float = 30.0  # connect and each read
    until: float | None = None  # overall deadline, a time.monotonic() value
    max_redirects: int = 0
    max_depth: int = MAX_DEPTH  # JSON nesting accepted by `json_answer`


class OutboundError(Exception):
    """One line (already redacted). `kind`: usage, connect, tls, timeout, deadline, redirect,
    protocol, too-large, answer."""

    def __init__(self, kind: str, reason: str) -> None:
        reason = redact_text(" ".join(reason.split()))[:300]
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    url: str  # after redirects

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


Origin = tuple[str, str, int]


def parse_url(url: str, what: str) -> urllib.parse.SplitResult:
    """An absolute http(s) URL with a host and a valid port, else OutboundError("usage")."""
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise OutboundError("usage", f"{what}: the URL holds a space or control character")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise OutboundError("usage", f"{what}: not a valid URL ({exc})") from None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise OutboundError("usage", f"{what}: expected an http:// or https:// URL with a host")
    if port == 0:
        raise OutboundError("usage", f"{what}: port 0 is not a port")
    return parts


def origin(url: str) -> Origin:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme, 0)


def show_origin(url: str) -> str:
    """scheme://host[:port] only: for URLs whose path is itself a secret (webhooks)."""
    scheme, host, port = origin(url)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + ("" if DEFAULT_PORTS.get(scheme) == port else f":{port}")


def header_value(value: str, what: str) -> str:
    """A header value that cannot split the request (no CR, LF or other control character)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise OutboundError("usage", f"{what} holds a line break or control character")
    return value


def read_token_file(path: str, what: str) -> str:
    """A bearer token from a file: surrounding whitespace dropped; never shown in a message."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(64 * 1024 + 1)
    except OSError as exc:
        raise OutboundError("usage", f"{what} {path}: cannot read: {exc.strerror}") from None
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise OutboundError("usage", f"{what} {path}: not UTF-8 text") from None
    register_secret(token)
    if len(raw) > 64 * 1024:
        raise OutboundError("usage", f"{what} {path}: larger than 64 KiB")
    if not token:
        raise OutboundError("usage", f"{what} {path}: empty")
    header_value(token, f"{what} {path}")
    return token


def request(
    method: str,
    url: str,
    *,
    limits: Limits,
    headers: Mapping[str, str] | None = None,
    credentials: Mapping[str, str] | None = None,
    body: bytes | None = None,
    context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
    read_body: bool = True,
) -> Response:
    """One request and the redirects `limits` allows; `credentials` (e.g. Authorization) are sent
    only while every hop so far stayed on the origin of `url`. Without `read_body` the answer
    ends at its headers (a webhook's status is all that is wanted)."""
    home = origin(url)
    carry = True
    current = url
    hops = 0
    for value in (credentials or {}).values():
        register_secret(value.partition(" ")[2] or value)
    while True:
        sent = dict(headers or {})
        if carry:
            sent.update(credentials or {})
        resp = _once(method, current, sent, body, limits, context, clock, read_body)
        if resp.status not in REDIRECTS:
            return resp
        if limits.max_redirects == 0:
            raise OutboundError(
                "redirect", f"answered a redirect (HTTP {resp.status}); redirects are not followed"
            )
        if hops >= limits.max_redirects:
            raise OutboundError("redirect", f"more than {limits.max_redirects} redirects")
        location = resp.headers.get("location", "")
        if not location:
            raise OutboundError("redirect", f"answered HTTP {resp.status} without a Location")
        nxt = urllib.parse.urljoin(current, location)
        parse_url(nxt, "redirect target")
        if origin(nxt) != home:
            carry = False  # sticky: a later hop back home does not bring them back either
        if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
            method, body = "GET", None
        current, hops = nxt, hops + 1


def _once(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    limits: Limits,
    context: ssl.SSLContext | None,
    clock: Callable[[], float],
    read_body: bool = True,
) -> Response:
    parts = parse_url(url, "URL")
    remaining = None if limits.until is None else limits.until - clock()
    if remaining is not None and remaining <= 0:
        raise OutboundError("deadline", "the overall deadline passed")
    timeout = limits.read_timeout if remaining is None else min(limits.read_timeout, remaining)
    for name, value in headers.items():
        header_value(value, f"the {name} header")
    conn = _connection(parts, timeout, context)
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    if getattr(conn, "_mesh_audit_absolute", False):
        target = urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, parts.path or "/", parts.query, "")
        )
    cut = threading.Event()
    watchdog = None
    if remaining is not None:
        watchdog = threading.Timer(remaining, _cut, (conn, cut))
        watchdog.daemon = True
        watchdog.start()
    try:
        conn.request(method, target, body=body, headers=dict(headers))
        resp = conn.getresponse()
        status = resp.status
        got = {k.lower(): v for k, v in resp.getheaders()}
        wanted = read_body and status not in REDIRECTS
        data = _read(resp, got, limits, cut) if wanted else b""
        if cut.is_set():  # the watchdog closed the socket: what was read may be cut short
            raise OutboundError("deadline", "cut at the overall deadline")
    except OutboundError:
        raise
    except Exception as exc:
        if cut.is_set():
            raise OutboundError("deadline", "cut at the overall deadline") from None
        raise _reason(exc) from None
    finally:
        if watchdog is not None:
            watchdog.cancel()
        conn.close()
    return Response(status=status, headers=got, body=data, url=url)


def _connection(
    parts: urllib.parse.SplitResult, timeout: float, context: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[scheme]
    proxy = None if urllib.request.proxy_bypass(host) else urllib.request.getproxies().get(scheme)
    if proxy:
        p = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        proxy_headers = {}
        if p.username:
            user = urllib.parse.unquote(p.username)
            password = urllib.parse.unquote(p.password or "")
            register_secret(password)
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            proxy_headers["Proxy-Authorization"] = f"Basic {token}"
        where = (p.hostname or "", p.port or 8080)
        if scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                *where, timeout=timeout, context=context or ssl.create_default_context()
            )
            conn.set_tunnel(host, port, headers=proxy_headers)
            return conn
        conn = http.client.HTTPConnection(*where, timeout=timeout)
        conn._mesh_audit_absolute = True  # type: ignore[attr-defined]
        return conn
    if scheme == "https":
        return http.client.HTTPSConnection(
            host, port, timeout=timeout, context=context or ssl.create_default_context()
        )
    return http.client.HTTPConnection(host, port, timeout=timeout)


def _cut(conn: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _read(
    resp: http.client.HTTPResponse, headers: Mapping[str, str], limits: Limits, cut: threading.Event
) -> bytes:
    cap = limits.max_body
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise OutboundError("too-large", f"answer is larger than {cap} bytes")
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = resp.read1(CHUNK)
        if cut.is_set():
            raise OutboundError("deadline", "cut at the overall deadline")
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:
            raise OutboundError("too-large", f"answer is larger than {cap} bytes")
        chunks.append(chunk)


def _reason(exc: BaseException) -> OutboundError:
    if isinstance(exc, ssl.SSLError):
        return OutboundError("tls", f"TLS error: {exc.reason or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return OutboundError("connect", "connection refused")
    if isinstance(exc, TimeoutError | socket.timeout):
        return OutboundError("timeout", "timed out")
    if isinstance(exc, socket.gaierror):
        return OutboundError("connect", f"cannot resolve the host ({exc.strerror})")
    if isinstance(exc, http.client.BadStatusLine | http.client.LineTooLong):
        return OutboundError("protocol", "answered something that is not HTTP")
    if isinstance(exc, http.client.IncompleteRead | http.client.RemoteDisconnected):
        return OutboundError("protocol", "the connection closed before the answer was complete")
    if isinstance(exc, http.client.HTTPException):
        return OutboundError("protocol", f"not a valid HTTP answer ({type(exc).__name__})")
    if isinstance(exc, OSError):
        return OutboundError("connect", str(exc.strerror or exc))
    if isinstance(exc, ValueError | UnicodeError):
        return OutboundError("usage", f"cannot send the request ({type(exc).__name__})")
    return OutboundError("protocol", f"{type(exc).__name__}")


def json_answer(resp: Response, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON body of an answer: content type JSON, valid (orjson: no NaN/Infinity literals),
    nested at most `max_depth` deep; else OutboundError("answer")."""
    if "json" not in resp.content_type:
        shown = resp.content_type or "no content type"
        raise OutboundError("answer", f"answered {shown}, not JSON")
    try:
        doc = orjson.loads(resp.body)
    except orjson.JSONDecodeError as exc:
        deep = "depth" in str(exc) or "recursion" in str(exc)
        raise OutboundError(
            "answer", "answered JSON nested too deeply" if deep else "answered invalid JSON"
        ) from None
    if _depth_over(doc, max_depth):
        raise OutboundError("answer", f"answered JSON nested more than {max_depth} deep")
    return doc


def _depth_over(doc: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in value)
    return False


def finite(value: Any, what: str) -> float:
    """A number sent as JSON or as Prometheus' string form; NaN and infinities refused."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise OutboundError("answer", f"{what} that is not a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise OutboundError("answer", f"{what} that is not a number") from None
    if not math.isfinite(number):
        raise OutboundError("answer", f"{what} that is not a finite number ({str(value)[:20]})")
    return number
