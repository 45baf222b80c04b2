"""HTTP for the collector: the Transport seam, and the retry, backoff and deadline policy.

auditor/input/cluster/live.py implements Transport over the official client's REST layer; the policy
here is the only retry logic that runs (the client's urllib3 retries are switched off).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

JSON = "application/json"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A page of 500 objects is rarely above a few MB; 64 MiB leaves room for very large Pods lists
# while refusing a server that declares gigabytes. 1000 pages of 500 is 500k objects of a kind.
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_PAGES = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class TransportError(Exception):
    """No HTTP answer: `kind` is connect, tls, timeout or dropped; `reason` is one short phrase."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class BadAnswer(Exception):
    """An HTTP answer mesh-audit will not use (wrong content type, invalid JSON, wrong shape,
    too large, too many pages); `reason` is one short phrase. Never retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Transport(Protocol):
    """One GET. `timeout` bounds each wait for the server (connect, each read); `until` is the
    overall deadline on the Requester's clock: no answer is still being read after it."""

    server: str

    def get(
        self,
        path: str,
        query: Sequence[tuple[str, str]],
        accept: str,
        timeout: float,
        until: float | None = None,
    ) -> Response: ...


class DeadlineExceeded(Exception):
    pass


class StatusError(Exception):
    """An HTTP error answer (after retries), with the Status message the server sent."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectOptions:
    namespaces: tuple[str, ...] = ()  # empty: all namespaces
    page_size: int = 500
    workers: int = 8
    request_timeout: float = 30.0
    deadline: float = 600.0
    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 10.0
    istio_namespace: str = "istio-system"  # where the mesh-config ConfigMaps are read
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # one answer's body, declared or read
    max_pages: int = DEFAULT_MAX_PAGES  # pages of one list (`continue` chain)


def status_message(resp: Response) -> str:
    try:
        doc = orjson.loads(resp.body)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return str(doc["message"])
    return resp.body[:200].decode("utf-8", "replace").strip() or f"HTTP {resp.status}"


class Requester:
    """GET with this tool's retry policy: the only one (the client's own retries are off).

    429 and 5xx answers and dropped connections or timeouts are retried up to `max_retries`
    times with exponential backoff (Retry-After honoured when sent), always inside the overall
    deadline. A refused connection before the server ever answered is not retried: the cluster
    is unreachable and saying so at once beats a minute of backoff.
    """

    def __init__(
        self,
        transport: Transport,
        options: CollectOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = transport
        self.options = options
        self.clock = clock
        self.sleep = sleep
        self.deadline_at = clock() + options.deadline
        self.answered = False
        self._count = 0
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return self._count

    def _delay(self, attempt: int, resp: Response | None) -> float:
        if resp is not None:
            retry_after = resp.headers.get("retry-after", "")
            if retry_after.strip().isdigit():
                return min(float(retry_after), self.options.backoff_max)
        base = self.options.backoff_base * float(1 << attempt)
        return min(base * (0.5 + random.random() / 2), self.options.backoff_max)

    def get(self, path: str, query: Sequence[tuple[str, str]] = (), accept: str = JSON) -> Response:
        attempt = 0
        while True:
            remaining = self.deadline_at - self.clock()
            if remaining <= 0:
                raise DeadlineExceeded
            with self._lock:
                self._count += 1
            try:
                resp = self.transport.get(
                    path,
                    query,
                    accept,
                    min(self.options.request_timeout, remaining),
                    self.deadline_at,
                )
            except TransportError as exc:
                retryable = exc.kind in ("timeout", "dropped") or (
                    exc.kind == "connect" and self.answered
                )
                if not retryable or attempt >= self.options.max_retries:
                    raise
                delay = self._delay(attempt, None)
            else:
                self.answered = True
                if resp.status not in RETRY_STATUSES or attempt >= self.options.max_retries:
                    return resp
                delay = self._delay(attempt, resp)
            if self.clock() + delay >= self.deadline_at:
                raise DeadlineExceeded
            self.sleep(delay)
            attempt += 1
