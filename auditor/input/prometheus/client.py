"""A small read-only Prometheus HTTP API client (GET only).

It speaks the stable query API (https://prometheus.io/docs/prometheus/latest/querying/api/):
`/api/v1/query` (an instant query evaluated at a given time), `/api/v1/status/buildinfo` (the
server's version) and `/api/v1/status/runtimeinfo` (its storage retention). Requests go through
the outbound HTTP layer (auditor/base/outbound.py: the token only to Prometheus' own origin, a body
cap, per-read timeout and one overall deadline). Every answer is checked before use (status,
content type, JSON shape and nesting, finite numbers); every failure is a PrometheusError with
one line saying why, which the caller turns into "not assessed": telemetry never fails a scan.
"""

from __future__ import annotations

import base64
import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.base.outbound import (
    Limits,
    OutboundError,
    finite,
    json_answer,
    parse_url,
    read_token_file,
    request,
)
from auditor.base.redact import redact_text, register_secret
from auditor.base.text import inert

MAX_BODY = 16 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
DEFAULT_DEADLINE = 300.0  # every Prometheus call of one scan together
MAX_REDIRECTS = 5
MAX_LABEL = 1024  # a label value longer than this is not a workload or host name


class PrometheusError(Exception):
    """Prometheus could not be asked, or did not answer a query: one line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PrometheusSettings:
    """How to reach Prometheus (the `scan --prometheus*` options)."""

    url: str
    bearer_token_file: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    max_body: int = MAX_BODY

    def validate(self) -> str | None:
        """A one-line problem with the settings themselves (a usage error), or None."""
        try:
            parse_url(self.url, f"--prometheus {redact_text(self.url)!r}")
        except OutboundError as exc:
            return exc.reason
        for flag, path in (
            ("--prometheus-token-file", self.bearer_token_file),
            ("--prometheus-ca-file", self.ca_file),
        ):
            if path is not None and not Path(path).is_file():
                return f"{flag} {path}: no such file"
        return None


@dataclass(frozen=True, slots=True)
class Sample:
    """One series of an instant vector: its labels and value."""

    labels: Mapping[str, str]
    value: float


class PrometheusClient:
    """GET only, through the one outbound HTTP layer (auditor/base/outbound.py): the bearer token
    goes to the configured origin only, redirects are followed at most MAX_REDIRECTS times, and
    every call shares one overall deadline (`PrometheusSettings.deadline`, from the client's
    creation): a peer that drips its answer cannot hold the scan."""

    def __init__(
        self, settings: PrometheusSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.base, self._basic = _without_userinfo(settings.url.rstrip("/"))
        self._clock = clock
        self._until = clock() + settings.deadline
        self._token: str | None = None
        if settings.bearer_token_file is not None:
            try:
                self._token = read_token_file(settings.bearer_token_file, "--prometheus-token-file")
            except OutboundError as exc:
                raise PrometheusError(exc.reason) from None

    @property
    def display_url(self) -> str:
        return redact_text(self.base)

    def _context(self) -> ssl.SSLContext | None:
        if not self.base.lower().startswith("https:"):
            return None
        if self.settings.insecure_skip_verify:
            return ssl._create_unverified_context()
        try:
            return ssl.create_default_context(cafile=self.settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise PrometheusError(
                f"--prometheus-ca-file {self.settings.ca_file}: not a PEM CA bundle ({exc})"
            ) from None

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The `data` of a successful API answer."""
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        where = f"{self.display_url}{path}"
        limits = Limits(
            max_body=self.settings.max_body,
            read_timeout=self.settings.timeout,
            until=self._until,
            max_redirects=MAX_REDIRECTS,
        )
        credentials = (
            {"Authorization": f"Bearer {self._token}"}
            if self._token
            else {"Authorization": f"Basic {self._basic}"}
            if self._basic
            else None
        )
        try:
            resp = request(
                "GET",
                url,
                limits=limits,
                headers={"Accept": "application/json", "User-Agent": f"mesh-audit/{__version__}"},
                credentials=credentials,
                context=self._context(),
                clock=self._clock,
            )
        except OutboundError as exc:
            if exc.kind in ("connect", "tls", "timeout"):
                raise PrometheusError(f"cannot reach {where}: {exc.reason}") from None
            raise PrometheusError(f"{where} {_phrase(exc, self.settings.deadline)}") from None
        if resp.status != 200 and "json" not in resp.content_type:
            raise PrometheusError(f"{where} answered HTTP {resp.status}")
        try:
            doc = json_answer(resp)
        except OutboundError as exc:
            if resp.status != 200:
                raise PrometheusError(f"{where} answered HTTP {resp.status}") from None
            raise PrometheusError(f"{where} {exc.reason}") from None
        if resp.status != 200:
            error = doc.get("error") if isinstance(doc, dict) else None
            detail = f": {inert(error, 200)}" if isinstance(error, str) else ""
            raise PrometheusError(f"{where} answered HTTP {resp.status}{detail}")
        if not isinstance(doc, dict) or doc.get("status") != "success":
            error = doc.get("error") if isinstance(doc, dict) else None
            shown = error if isinstance(error, str) else "no success status"
            raise PrometheusError(f"{where} answered an error: {inert(shown, 200)}")
        return doc.get("data")

    # ---- the API calls mesh-audit makes -------------------------------------------------

    def query(self, promql: str, at: float) -> list[Sample]:
        """An instant query evaluated at `at` (Unix seconds): its vector."""
        data = self.get(
            "/api/v1/query",
            {"query": promql, "time": f"{at:.3f}", "timeout": f"{int(self.settings.timeout)}s"},
        )
        if not isinstance(data, dict) or data.get("resultType") != "vector":
            raise PrometheusError(f"query answered {_kind(data)}, not a vector")
        out: list[Sample] = []
        result = data.get("result")
        if not isinstance(result, list):
            raise PrometheusError("query answered a malformed vector")
        for item in result:
            if not isinstance(item, dict):
                raise PrometheusError("query answered a malformed vector")
            metric = item.get("metric")
            value = item.get("value")
            if (
                not isinstance(metric, dict)
                or not isinstance(value, list)
                or len(value) != 2
                or not all(
                    isinstance(k, str) and isinstance(v, str) and len(v) <= MAX_LABEL
                    for k, v in metric.items()
                )
            ):
                raise PrometheusError("query answered a malformed sample")
            try:
                finite(value[0], "a sample time")
                number = finite(value[1], "a sample value")
            except OutboundError as exc:
                raise PrometheusError(f"query answered {exc.reason}") from None
            out.append(Sample(labels=dict(metric), value=number))
        return out

    def buildinfo(self) -> Mapping[str, Any]:
        data = self.get("/api/v1/status/buildinfo")
        return data if isinstance(data, dict) else {}

    def runtimeinfo(self) -> Mapping[str, Any]:
        data = self.get("/api/v1/status/runtimeinfo")
        return data if isinstance(data, dict) else {}


def _kind(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("resultType") or "no resultType")
    return type(data).__name__


def _without_userinfo(url: str) -> tuple[str, str | None]:
    """The URL without `user:password@`, and those as a Basic credential (sent, like the bearer
    token, to this URL's origin only)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    register_secret(password)
    host = parts.netloc.rpartition("@")[2]
    bare = urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return bare, base64.b64encode(f"{user}:{password}".encode()).decode()


def _phrase(exc: OutboundError, deadline: float) -> str:
    """What went wrong, after "<where> ": "answered ...", "answer is larger ...", ..."""
    if exc.kind == "deadline":
        return f"did not answer within the overall deadline ({deadline:g}s)"
    if exc.kind == "too-large" or exc.reason.startswith("answered"):
        return exc.reason
    return f"failed: {exc.reason}"
