"""A small read-only Prometheus HTTP API client (urllib; GET only).

It speaks the stable query API (https://prometheus.io/docs/prometheus/latest/querying/api/):
`/api/v1/query` (an instant query evaluated at a given time), `/api/v1/status/buildinfo` (the
server's version) and `/api/v1/status/runtimeinfo` (its storage retention). Every answer is
checked before use (status, content type, JSON shape) and read with a size cap; every failure
is a PrometheusError with one line saying why, which the caller turns into a coverage note:
telemetry never fails a scan.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.base.redact import redact_text, register_secret

MAX_BODY = 16 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0


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
    max_body: int = MAX_BODY

    def validate(self) -> str | None:
        """A one-line problem with the settings themselves (a usage error), or None."""
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"--prometheus {redact_text(self.url)!r}: expected an http:// or https:// URL"
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
    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self._token: str | None = None
        if settings.bearer_token_file is not None:
            try:
                token = Path(settings.bearer_token_file).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise PrometheusError(f"cannot read the bearer token file: {exc}") from None
            register_secret(token)
            self._token = token

    @property
    def display_url(self) -> str:
        return redact_text(self.base)

    def _context(self) -> ssl.SSLContext | None:
        if not self.base.startswith("https:"):
            return None
        if self.settings.insecure_skip_verify:
            ctx = ssl._create_unverified_context()
        else:
            ctx = ssl.create_default_context(cafile=self.settings.ca_file)
        return ctx

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The `data` of a successful API answer."""
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, headers=headers, method="GET")
        where = f"{self.display_url}{path}"
        try:
            with urllib.request.urlopen(
                request, timeout=self.settings.timeout, context=self._context()
            ) as resp:
                body = self._read(resp, where)
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            raise PrometheusError(f"{where} answered HTTP {exc.code}{detail}") from None
        except urllib.error.URLError as exc:
            raise PrometheusError(f"cannot reach {where}: {_reason(exc.reason)}") from None
        except (TimeoutError, OSError) as exc:
            raise PrometheusError(f"cannot reach {where}: {_reason(exc)}") from None
        if "json" not in ctype.lower():
            shown = ctype.split(";")[0] or "no content type"
            raise PrometheusError(f"{where} answered {shown}, not JSON")
        try:
            doc = json.loads(body)
        except ValueError:
            raise PrometheusError(f"{where} answered invalid JSON") from None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            error = doc.get("error") if isinstance(doc, dict) else None
            raise PrometheusError(f"{where} answered an error: {str(error or doc)[:200]}")
        return doc.get("data")

    def _read(self, resp: Any, where: str) -> bytes:
        cap = self.settings.max_body
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise PrometheusError(f"{where} answer is larger than {cap} bytes")
        body: bytes = resp.read(cap + 1)
        if len(body) > cap:
            raise PrometheusError(f"{where} answer is larger than {cap} bytes")
        return body

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
        for item in data.get("result") or ():
            if not isinstance(item, dict):
                raise PrometheusError("query answered a malformed vector")
            metric = item.get("metric") or {}
            value = item.get("value")
            if (
                not isinstance(metric, dict)
                or not isinstance(value, list)
                or len(value) != 2
                or not all(isinstance(k, str) and isinstance(v, str) for k, v in metric.items())
            ):
                raise PrometheusError("query answered a malformed sample")
            try:
                number = float(value[1])
            except (TypeError, ValueError):
                raise PrometheusError("query answered a sample that is not a number") from None
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


def _reason(reason: object) -> str:
    if isinstance(reason, ssl.SSLError):
        return f"TLS error: {reason.reason or reason}"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "timed out"
    text = str(getattr(reason, "strerror", None) or reason)
    return redact_text(text)[:200]


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        doc = json.loads(exc.read(64 * 1024) or b"{}")
    except (ValueError, OSError):
        return ""
    if isinstance(doc, dict) and isinstance(doc.get("error"), str):
        return f": {doc['error'][:200]}"
    return ""
