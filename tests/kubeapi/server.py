"""``FakeKubeAPI``: a read-only Kubernetes API server on loopback HTTPS, for collector tests.

It answers the legacy discovery documents, list and get, the way kube-apiserver v1.30 does, so
the official ``kubernetes`` client can be pointed at it through an ordinary kubeconfig. Custom
resources are served from the real Istio and Gateway API CRD bundles in ``tests/data/crds``, so
group/version choices made by the collector are tested against what a cluster really serves.
Fault injection (403, 404, 410, 429, 5xx, slowness) exercises the collector's error paths, and
raw answers (``answer_raw``, ``truncate``, ``drip``, ``endless_continue``, ``oversized``) stand in
for broken proxies, overloaded control planes and hostile servers.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import shutil
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import yaml
from pytest_httpserver import HTTPServer
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from .resources import (
    BUILTIN_GROUP_ORDER,
    BUILTIN_RESOURCES,
    CRD_DIR,
    CRD_FILES,
    ResourceType,
    crd_as_served,
    load_crds,
    resource_from_crd,
    select_crds,
    sort_versions,
)
from .selectors import SelectorError, parse_field_selector, parse_label_selector
from .tls import TLSFiles, write_tls_files

ContextKind = Literal["live", "dead", "bad-token"]
FaultKind = Literal[
    "forbid", "forbid_cluster_wide", "not_found", "expire_continue", "throttle", "fail", "slow"
]

# Field labels a type supports beyond metadata.name/namespace (kube-apiserver's SelectableFields).
SELECTABLE_FIELDS = {"secrets": ("type",)}
DEAD_SERVER = "https://127.0.0.1:1"  # nothing listens on port 1: connection refused at once
USER = "system:serviceaccount:mesh-audit:mesh-audit"
CREATED = "2024-06-12T08:00:00Z"
PARTIAL_LIST = "PartialObjectMetadataList"
PARTIAL = "PartialObjectMetadata"
EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

FAIL_MESSAGES = {
    500: "Internal error occurred: injected failure",
    503: "the server is currently unable to handle the request",
    504: "Timeout: request did not complete within the allotted timeout",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it, for asserting what the collector asked for."""

    method: str
    path: str
    query: dict[str, str]
    accept: str
    status: int
    raw_path: str = ""  # the path as sent, before percent-decoding


@dataclass
class _Fault:
    """An injected failure; ``remaining=None`` means it never wears off."""

    kind: FaultKind
    remaining: int | None
    status: int = 0
    retry_after: int = 0
    seconds: float = 0.0

    def applies(self, namespace: str | None, has_continue: bool) -> bool:
        if self.kind == "forbid_cluster_wide":
            return namespace is None
        if self.kind == "expire_continue":
            return has_continue
        return self.kind != "slow"

    def consume(self) -> bool:
        """Count one use; True when the fault is used up and should be dropped."""
        if self.remaining is None:
            return False
        self.remaining -= 1
        return self.remaining <= 0


@dataclass
class _RawAnswer:
    """A hostile or broken answer served instead of the real one (see ``answer_raw``)."""

    kind: Literal["body", "drip", "endless_continue", "oversized"]
    body: bytes = b""
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] | None = None
    chunk: int = 4
    interval: float = 0.0
    remaining: int | None = None


@dataclass(frozen=True)
class _Target:
    """A parsed resource URL: which resource, which version, and optionally namespace/name."""

    rtype: ResourceType
    version: str
    namespace: str | None
    name: str | None
    subresource: str | None


class _HTTPServer(HTTPServer):
    """pytest-httpserver's server, polling for shutdown every 20 ms instead of every 500 ms,
    so stopping one server per test does not cost half a second."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)


class FakeKubeAPI:
    """A read-only Kubernetes API server on ``https://127.0.0.1:<ephemeral port>``.

    ``crds`` chooses the installed CRDs: ``True`` (all Istio and Gateway API CRDs), ``False``
    (a cluster without Istio), or a list of CRD names / group names. Objects are added with
    ``load_objects``; faults with ``forbid``, ``throttle`` and friends. Use as a context manager
    or call ``start``/``stop``.
    """

    def __init__(
        self,
        *,
        crds: bool | Sequence[str] = True,
        token: str | None = None,
        git_version: str = "v1.30.2",
        crd_dir: Path = CRD_DIR,
        crd_files: Sequence[str] = CRD_FILES,
    ) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self.git_version = git_version
        self.requests: list[RecordedRequest] = []
        self.handler_errors: list[Exception] = []
        self._lock = threading.Lock()
        self._faults: dict[str, list[_Fault]] = {}
        self._raw: dict[str, _RawAnswer] = {}
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}
        self._resource_version = 1000
        self._server: HTTPServer | None = None
        self._tmpdir: Path | None = None
        self._tls: TLSFiles | None = None
        installed = select_crds(load_crds(crd_dir, crd_files), crds)
        custom = [r for r in map(resource_from_crd, installed) if r is not None]
        self._register_resources([*BUILTIN_RESOURCES, *custom])
        self.load_objects(crd_as_served(crd) for crd in installed)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Generate TLS material and start serving on an ephemeral loopback port."""
        if self._server is not None:
            raise RuntimeError("FakeKubeAPI already started")
        self._tmpdir = Path(tempfile.mkdtemp(prefix="fake-kubeapi-"))
        self._tls = write_tls_files(self._tmpdir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._tls.server_cert, self._tls.server_key)
        server = _HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving and delete the temporary TLS files."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._running().port

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_path(self) -> Path:
        """The CA certificate (PEM) that signed the server certificate."""
        self._running()
        assert self._tls is not None
        return self._tls.ca_cert

    def _running(self) -> HTTPServer:
        if self._server is None:
            raise RuntimeError("FakeKubeAPI is not started")
        return self._server

    def check(self) -> None:
        """Re-raise the first exception the request handler hit (a bug in the fake itself)."""
        if self.handler_errors:
            raise self.handler_errors[0]

    # ----------------------------------------------------------------- kubeconfig

    def write_kubeconfig(
        self,
        path: Path | str | None = None,
        contexts: Mapping[str, ContextKind] | None = None,
        current_context: str | None = None,
        *,
        embed_ca: bool = False,
    ) -> Path:
        """Write a kubeconfig; by default ``prod`` (this server) and ``dead`` (nothing listens).

        ``contexts`` maps context name to ``live`` (this server, valid token), ``dead``
        (``https://127.0.0.1:1``) or ``bad-token`` (this server, wrong token -> 401).
        ``current_context`` defaults to the first context. Returns the path written.
        """
        contexts = contexts or {"prod": "live", "dead": "dead"}
        target = Path(path) if path is not None else self._tmpdir_path() / "kubeconfig"
        ca: dict[str, str] = (
            {"certificate-authority-data": base64.b64encode(self.ca_path.read_bytes()).decode()}
            if embed_ca
            else {"certificate-authority": str(self.ca_path)}
        )
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [
                {"name": name, "cluster": {"server": self._server_for(kind), **ca}}
                for name, kind in contexts.items()
            ],
            "users": [
                {"name": name, "user": {"token": self._token_for(kind)}}
                for name, kind in contexts.items()
            ],
            "contexts": [
                {"name": name, "context": {"cluster": name, "user": name}} for name in contexts
            ],
            "current-context": current_context or next(iter(contexts)),
        }
        target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return target

    def _server_for(self, kind: ContextKind) -> str:
        return DEAD_SERVER if kind == "dead" else self.url

    def _token_for(self, kind: ContextKind) -> str:
        return "not-" + self.token if kind == "bad-token" else self.token

    def _tmpdir_path(self) -> Path:
        self._running()
        assert self._tmpdir is not None
        return self._tmpdir

    # ----------------------------------------------------------------- resources and objects

    def _register_resources(self, resources: Iterable[ResourceType]) -> None:
        self._resources = list(resources)
        self._by_key = {r.key: r for r in self._resources}
        self._by_kind = {(r.group, r.kind): r for r in self._resources}
        self._by_path = {(r.group, v, r.plural): r for r in self._resources for v in r.versions}
        self._objects = {r.key: {} for r in self._resources}

    @property
    def resource_keys(self) -> list[str]:
        """Every served resource, as fault-injection keys (``secrets``, ``apps/deployments``)."""
        return sorted(self._by_key)

    def load_objects(self, objects: Iterable[dict[str, Any] | None], *, strict: bool = True) -> int:
        """Add objects as ``yaml.safe_load_all`` yields them (``kind: List`` is expanded).

        With ``strict`` an object whose group/version/kind the cluster does not serve raises
        ``ValueError`` (as ``kubectl apply`` would fail); otherwise it is skipped, which lets one
        fixture feed both a cluster with Istio and one without. Returns how many were stored.
        """
        stored = 0
        for obj in objects:
            if not obj:
                continue
            if str(obj.get("kind", "")).endswith("List") and isinstance(obj.get("items"), list):
                stored += self.load_objects(obj["items"], strict=strict)
            elif self._store(obj, strict=strict):
                stored += 1
        return stored

    def _store(self, obj: dict[str, Any], *, strict: bool) -> bool:
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        group, _, version = api_version.rpartition("/")
        rtype = self._by_kind.get((group, kind))
        if rtype is None or version not in rtype.versions:
            if strict:
                raise ValueError(f"{api_version} {kind} is not served by this FakeKubeAPI")
            return False
        metadata = dict(obj.get("metadata") or {})
        if not metadata.get("name"):
            raise ValueError(f"{api_version} {kind} without metadata.name")
        if rtype.namespaced:
            metadata.setdefault("namespace", "default")
        else:
            metadata.pop("namespace", None)
        key = self._object_key(metadata)
        with self._lock:
            self._resource_version += 1
            metadata.setdefault("resourceVersion", str(self._resource_version))
        metadata.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rtype.key}/{key}")))
        metadata.setdefault("creationTimestamp", CREATED)
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        if rtype.key == "secrets":
            body = self._encode_string_data(body)
            body.setdefault("type", "Opaque")  # the API server's default
        self._objects[rtype.key][key] = {"metadata": metadata, **body}
        return True

    @staticmethod
    def _object_key(metadata: Mapping[str, Any]) -> str:
        """The etcd-style key the real server orders list results (and continue tokens) by."""
        namespace = metadata.get("namespace")
        return f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])

    @staticmethod
    def _encode_string_data(body: dict[str, Any]) -> dict[str, Any]:
        """Fold ``stringData`` into base64 ``data``, as the API server does on write."""
        string_data = body.pop("stringData", None) or {}
        data = dict(body.get("data") or {})
        for name, value in string_data.items():
            data[name] = base64.b64encode(str(value).encode()).decode()
        return {**body, "data": data} if data else body

    # ----------------------------------------------------------------- fault injection

    def _add_fault(self, resource: str, fault: _Fault) -> None:
        if resource not in self._by_key:
            raise KeyError(f"{resource!r} is not served; known: {', '.join(self.resource_keys)}")
        with self._lock:
            self._faults.setdefault(resource, []).append(fault)

    def forbid(self, resource: str, times: int | None = None) -> None:
        """Answer 403 Forbidden (RBAC denial) for get and list of the resource."""
        self._add_fault(resource, _Fault("forbid", times))

    def forbid_cluster_wide(self, resource: str, times: int | None = None) -> None:
        """Answer 403 only for the all-namespaces list: a Role-only (namespaced) grant."""
        self._add_fault(resource, _Fault("forbid_cluster_wide", times))

    def not_found(self, resource: str, times: int | None = None) -> None:
        """Answer 404, as when a CRD is removed between discovery and listing."""
        self._add_fault(resource, _Fault("not_found", times))

    def expire_continue(self, resource: str, times: int = 1) -> None:
        """Answer 410 Gone (reason Expired) when a ``continue`` token is presented."""
        self._add_fault(resource, _Fault("expire_continue", times))

    def throttle(self, resource: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer 429 TooManyRequests with a ``Retry-After`` header (API priority & fairness)."""
        self._add_fault(resource, _Fault("throttle", times, retry_after=retry_after))

    def fail(self, resource: str, status: int = 500, times: int | None = 1) -> None:
        """Answer ``status`` (a 5xx by default) with a Status body."""
        self._add_fault(resource, _Fault("fail", times, status=status))

    def slow(self, resource: str, seconds: float) -> None:
        """Delay every answer for the resource (to test client timeouts)."""
        self._add_fault(resource, _Fault("slow", None, seconds=seconds))

    def answer_raw(
        self,
        target: str,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer ``target`` (a resource key such as ``services``, or a discovery path such as
        ``/apis``) with exactly this body: invalid JSON, an HTML proxy page with status 200, a
        truncated body, a document of the wrong shape..."""
        raw = body.encode() if isinstance(body, str) else body
        self._add_raw(
            target,
            _RawAnswer(
                "body",
                raw,
                status=status,
                content_type=content_type,
                headers=dict(headers or {}),
                remaining=times,
            ),
        )

    def truncate(self, target: str, body: bytes | str, declared: int) -> None:
        """Declare ``declared`` bytes of Content-Length, send ``body`` (fewer), then close."""
        raw = body.encode() if isinstance(body, str) else body
        self._add_raw(target, _RawAnswer("body", raw, headers={"Content-Length": str(declared)}))

    def drip(
        self, target: str, body: bytes | str, *, chunk: int = 4, interval: float = 0.2
    ) -> None:
        """Send the answer ``chunk`` bytes at a time, ``interval`` seconds apart (slow drip)."""
        raw = body.encode() if isinstance(body, str) else body
        self._add_raw(target, _RawAnswer("drip", raw, chunk=chunk, interval=interval))

    def endless_continue(self, resource: str) -> None:
        """Every page of the list says there is another (``metadata.continue`` never ends)."""
        self._add_raw(resource, _RawAnswer("endless_continue"))

    def oversized(self, target: str, declared: int) -> None:
        """Declare a huge Content-Length, then send bytes slowly until the client hangs up."""
        self._add_raw(
            target,
            _RawAnswer(
                "oversized",
                b'{"items":[',
                headers={"Content-Length": str(declared)},
                interval=0.05,
            ),
        )

    def _add_raw(self, target: str, raw: _RawAnswer) -> None:
        if not target.startswith("/") and target not in self._by_key:
            raise KeyError(f"{target!r} is not served; known: {', '.join(self.resource_keys)}")
        with self._lock:
            self._raw[target] = raw

    def _take_raw(self, target: str) -> _RawAnswer | None:
        with self._lock:
            raw = self._raw.get(target)
            if raw is not None and raw.remaining is not None:
                raw.remaining -= 1
                if raw.remaining <= 0:
                    del self._raw[target]
        return raw

    def _raw_response(self, raw: _RawAnswer, target: _Target | None, token: str) -> Response:
        headers = dict(raw.headers or {})
        if raw.kind == "endless_continue":
            assert target is not None
            page = int(token.rpartition("-")[2] or 0) if token.startswith("page-") else 0
            body = {
                "kind": f"{target.rtype.kind}List",
                "apiVersion": target.rtype.api_version(target.version),
                "metadata": {"resourceVersion": "1", "continue": f"page-{page + 1}"},
                "items": [],
            }
            return self._json(body)
        if raw.kind in ("drip", "oversized"):
            return Response(
                self._slowly(raw), status=raw.status, headers=headers, content_type=raw.content_type
            )
        response = Response(raw.body, status=raw.status, content_type=raw.content_type)
        for name, value in headers.items():
            response.headers[name] = value
        return response

    @staticmethod
    def _slowly(raw: _RawAnswer) -> Iterator[bytes]:
        if raw.kind == "oversized":
            yield raw.body
            for _ in range(2000):  # about 100 s at most, then the thread ends on its own
                time.sleep(raw.interval)
                yield b"{}," * 8
            return
        for start in range(0, len(raw.body), raw.chunk):
            time.sleep(raw.interval)
            yield raw.body[start : start + raw.chunk]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._raw.clear()

    def _take_fault(
        self, rtype: ResourceType, target: _Target, has_continue: bool
    ) -> _Fault | None:
        """Sleep for ``slow`` faults, then consume and return the first fault that applies."""
        with self._lock:
            faults = self._faults.get(rtype.key, [])
            delay = sum(f.seconds for f in faults if f.kind == "slow")
            hit = next((f for f in faults if f.applies(target.namespace, has_continue)), None)
            if hit is not None and hit.consume():
                faults.remove(hit)
        if delay:
            time.sleep(delay)
        return hit

    def _fault_response(self, fault: _Fault, target: _Target, verb: str) -> Response:
        rtype = target.rtype
        details: dict[str, Any] = {"kind": rtype.plural}
        if rtype.group:
            details["group"] = rtype.group
        if target.name:
            details["name"] = target.name
        if fault.kind in ("forbid", "forbid_cluster_wide"):
            scope = (
                f'in the namespace "{target.namespace}"'
                if target.namespace
                else ("at the cluster scope")
            )
            message = (
                f'{rtype.qualified} is forbidden: User "{USER}" cannot {verb} resource '
                f'"{rtype.plural}" in API group "{rtype.group}" {scope}'
            )
            return self._status(403, message, details)
        if fault.kind == "not_found":
            return self._status(404, "the server could not find the requested resource", {})
        if fault.kind == "expire_continue":
            return self._status(410, EXPIRED_MESSAGE)
        if fault.kind == "throttle":
            return self._status(
                429,
                "Too many requests, please try again later.",
                {"retryAfterSeconds": fault.retry_after},
                headers={"Retry-After": str(fault.retry_after)},
            )
        message = FAIL_MESSAGES.get(fault.status, f"injected failure (HTTP {fault.status})")
        return self._status(fault.status, message, details)

    # ----------------------------------------------------------------- HTTP plumbing

    def _handle(self, request: Request) -> Response:
        """Entry point for every request: answer it, never raise, and record it."""
        try:
            response = self._respond(request)
        except Exception as exc:  # a bug in the fake: keep serving, surface it via check()
            self.handler_errors.append(exc)
            response = self._status(500, f"Internal error occurred: {exc!r}")
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.args.items()),
            accept=request.headers.get("Accept", ""),
            status=response.status_code,
            raw_path=str(
                request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
            ).partition("?")[0],
        )
        with self._lock:
            self.requests.append(record)
        return response

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def _respond(self, request: Request) -> Response:
        if not self._authorized(request.headers.get("Authorization", "")):
            return self._status(401, "Unauthorized")
        if request.method != "GET":
            return self._status(
                405, "the server does not allow this method on the requested resource"
            )
        raw = self._take_raw(request.path.rstrip("/") or "/")
        if raw is not None:
            return self._raw_response(raw, None, "")
        return self._route(request.path, request.args, request.headers.get("Accept", ""))

    def _authorized(self, header: str) -> bool:
        scheme, _, credential = header.partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(credential.strip(), self.token)

    def _route(self, path: str, args: MultiDict[str, str], accept: str) -> Response:
        path = path.rstrip("/") or "/"
        if path == "/version":
            return self._json(self._version_document())
        if path == "/api":
            return self._json(self._api_versions_document())
        if path == "/apis":
            return self._json(self._group_list_document())
        if match := re.fullmatch(r"/api/(?P<version>[^/]+)(?P<rest>/.+)?", path):
            return self._route_group_version("", match["version"], match["rest"], args, accept)
        if match := re.fullmatch(
            r"/apis/(?P<group>[^/]+)(?:/(?P<version>[^/]+)(?P<rest>/.+)?)?", path
        ):
            if match["version"] is None:
                return self._group_document(match["group"])
            return self._route_group_version(
                match["group"], match["version"], match["rest"], args, accept
            )
        return self._not_found()

    def _route_group_version(
        self, group: str, version: str, rest: str | None, args: MultiDict[str, str], accept: str
    ) -> Response:
        if version not in self._group_versions().get(group, ()):
            return self._not_found()
        if rest is None:
            return self._json(self._resource_list_document(group, version))
        target = self._resolve(group, version, rest)
        if target is None:
            return self._not_found()
        return self._serve_resource(target, args, accept)

    def _resolve(self, group: str, version: str, rest: str) -> _Target | None:
        """Map ``[namespaces/{ns}/]{plural}[/{name}[/{sub}]]`` to a target, or None (404)."""
        segments = rest.strip("/").split("/")
        namespace = None
        if len(segments) >= 3 and segments[0] == "namespaces":
            candidate = self._by_path.get((group, version, segments[2]))
            if candidate is not None and candidate.namespaced:
                namespace, segments = segments[1], segments[2:]
        rtype = self._by_path.get((group, version, segments[0]))
        if rtype is None or len(segments) > 3:
            return None
        if rtype.namespaced and namespace is None and len(segments) > 1:
            return None
        name = segments[1] if len(segments) > 1 else None
        subresource = segments[2] if len(segments) > 2 else None
        if subresource is not None and subresource != "status":
            return None
        return _Target(rtype, version, namespace, name, subresource)

    # ----------------------------------------------------------------- documents

    def _json(
        self,
        body: dict[str, Any],
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Response:
        payload = json.dumps(body, separators=(",", ":"))
        return Response(
            payload, status=status, headers=dict(headers or {}), content_type=content_type
        )

    def _status(
        self,
        code: int,
        message: str,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """A ``Status`` failure body, exactly the shape kube-apiserver sends."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": REASONS.get(code, ""),
        }
        if details is not None:
            body["details"] = details
        body["code"] = code
        return self._json(body, status=code, headers=headers)

    def _not_found(self) -> Response:
        return self._status(404, "the server could not find the requested resource", {})

    def _version_document(self) -> dict[str, Any]:
        major, minor = self.git_version.lstrip("v").split(".")[:2]
        return {
            "major": major,
            "minor": minor,
            "gitVersion": self.git_version,
            "gitCommit": "39683505b630ff2121012f3c5b16215a1449d5ed",
            "gitTreeState": "clean",
            "buildDate": "2024-06-11T20:21:00Z",
            "goVersion": "go1.22.4",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def _api_versions_document(self) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
            ],
        }

    def _group_versions(self) -> dict[str, tuple[str, ...]]:
        """Served versions per group, kube-aware sorted: the first one is the preferred version.

        kube-apiserver prefers the highest version (GA over beta over alpha) among the served
        versions of all CRDs in a group, not the storage version: telemetry.istio.io stores
        v1alpha1 but prefers v1.
        """
        versions: dict[str, set[str]] = {}
        for rtype in self._resources:
            versions.setdefault(rtype.group, set()).update(rtype.versions)
        builtin_rank = {group: rank for rank, group in enumerate(BUILTIN_GROUP_ORDER)}
        order = sorted(versions, key=lambda g: (builtin_rank.get(g, len(builtin_rank)), g))
        return {group: sort_versions(versions[group]) for group in order}

    def _group_entry(self, group: str) -> dict[str, Any] | None:
        """The APIGroup fields for a named group, or None if no version of it is served."""
        versions = self._group_versions().get(group) if group else None
        if not versions:
            return None
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def _group_document(self, group: str) -> Response:
        entry = self._group_entry(group)
        if entry is None:
            return self._not_found()
        return self._json({"kind": "APIGroup", "apiVersion": "v1", **entry})

    def _group_list_document(self) -> dict[str, Any]:
        groups = [self._group_entry(group) for group in self._group_versions() if group]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _resource_list_document(self, group: str, version: str) -> dict[str, Any]:
        resources = sorted(
            (r for r in self._resources if r.group == group and version in r.versions),
            key=lambda r: r.plural,
        )
        entries = [entry for r in resources for entry in r.discovery_entries(version)]
        group_version = f"{group}/{version}" if group else version
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": entries,
        }

    # ----------------------------------------------------------------- get and list

    def _serve_resource(self, target: _Target, args: MultiDict[str, str], accept: str) -> Response:
        verb = "list" if target.name is None else "get"
        has_continue = bool(args.get("continue"))
        raw = self._take_raw(target.rtype.key)
        if raw is not None:
            return self._raw_response(raw, target, args.get("continue") or "")
        fault = self._take_fault(target.rtype, target, has_continue and verb == "list")
        if fault is not None:
            return self._fault_response(fault, target, verb)
        partial = self._negotiate(accept, PARTIAL_LIST if verb == "list" else PARTIAL)
        if partial is None:
            return self._status(
                406,
                "only the following media types are accepted: application/json, "
                f"application/json;as={PARTIAL_LIST if verb == 'list' else PARTIAL};"
                "g=meta.k8s.io;v=v1",
            )
        if args.get("watch") in ("1", "true"):
            return self._status(400, "watch is not supported by FakeKubeAPI")
        if verb == "get":
            return self._get(target, partial == PARTIAL)
        try:
            return self._list(target, args, partial == PARTIAL_LIST)
        except SelectorError as exc:
            return self._status(400, str(exc))

    @staticmethod
    def _negotiate(accept: str, metadata_as: str) -> str | None:
        """Pick the first acceptable media type: ``json``, ``metadata_as`` or None (406).

        Clients list alternatives (``...;as=PartialObjectMetadataList;..., application/json``);
        the server takes the first it can produce, which is what this mirrors.
        """
        for option in (accept or "application/json").split(","):
            media, *raw_params = (part.strip() for part in option.split(";"))
            params = dict(p.split("=", 1) for p in raw_params if "=" in p)
            if media not in ("application/json", "application/*", "*/*"):
                continue
            as_kind = params.get("as")
            if as_kind is None:
                return "json"
            if (
                as_kind == metadata_as
                and params.get("g") == "meta.k8s.io"
                and (params.get("v") == "v1")
            ):
                return as_kind
        return None

    def _present(self, obj: dict[str, Any], target: _Target, *, in_list: bool) -> dict[str, Any]:
        """Serve the stored object under the requested version.

        Built-in list items carry no apiVersion/kind (the list's own kind says it); custom
        resources, served as unstructured JSON, keep them, as on a real cluster.
        """
        if in_list and not target.rtype.custom:
            return obj
        return {
            "apiVersion": target.rtype.api_version(target.version),
            "kind": target.rtype.kind,
            **obj,
        }

    @staticmethod
    def _partial(obj: dict[str, Any]) -> dict[str, Any]:
        return {"kind": PARTIAL, "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}

    def _get(self, target: _Target, partial: bool) -> Response:
        key = f"{target.namespace}/{target.name}" if target.namespace else str(target.name)
        obj = self._objects[target.rtype.key].get(key)
        if obj is None:
            details = {"name": target.name, "kind": target.rtype.plural}
            if target.rtype.group:
                details["group"] = target.rtype.group
            return self._status(404, f'{target.rtype.qualified} "{target.name}" not found', details)
        if partial:
            return self._json(self._partial(obj), content_type=self._partial_type(PARTIAL))
        return self._json(self._present(obj, target, in_list=False))

    @staticmethod
    def _partial_type(kind: str) -> str:
        return f"application/json;as={kind};g=meta.k8s.io;v=v1"

    def _list(self, target: _Target, args: MultiDict[str, str], partial: bool) -> Response:
        label_selector, field_selector = args.get("labelSelector"), args.get("fieldSelector")
        matches_label = parse_label_selector(label_selector or "")
        matches_field = parse_field_selector(
            field_selector or "", SELECTABLE_FIELDS.get(target.rtype.key, ())
        )
        limit = self._parse_limit(args.get("limit"))
        continue_token = args.get("continue")
        resource_version, start = self._resource_version, ""
        if continue_token:
            try:
                resource_version, start = self._decode_continue(continue_token)
            except ValueError as exc:
                return self._status(400, f"continue key is not valid: {exc}")
        prefix = f"{target.namespace}/" if target.namespace else ""
        selected = [
            (key, obj)
            for key, obj in sorted(self._objects[target.rtype.key].items())
            if key.startswith(prefix) and key >= start and matches_label(obj) and matches_field(obj)
        ]
        page = selected[:limit] if limit else selected
        metadata: dict[str, Any] = {"resourceVersion": str(resource_version)}
        if len(page) < len(selected):
            metadata["continue"] = self._encode_continue(resource_version, page[-1][0])
            if not label_selector and not field_selector:
                metadata["remainingItemCount"] = len(selected) - len(page)
        if partial:
            items = [self._partial(obj) for _, obj in page]
            body = {
                "kind": PARTIAL_LIST,
                "apiVersion": "meta.k8s.io/v1",
                "metadata": metadata,
                "items": items,
            }
            return self._json(body, content_type=self._partial_type(PARTIAL_LIST))
        items = [self._present(obj, target, in_list=True) for _, obj in page]
        body = {
            "kind": f"{target.rtype.kind}List",
            "apiVersion": target.rtype.api_version(target.version),
            "metadata": metadata,
            "items": items,
        }
        return self._json(body)

    @staticmethod
    def _parse_limit(raw: str | None) -> int:
        try:
            return max(int(raw), 0) if raw else 0
        except ValueError as exc:
            raise SelectorError(f"invalid limit {raw!r}") from exc

    @staticmethod
    def _encode_continue(resource_version: int, last_key: str) -> str:
        """An opaque token shaped like the real one: base64url JSON with rv and start key."""
        token = {"v": "meta.k8s.io/v1", "rv": resource_version, "start": last_key + "\x00"}
        return base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")

    @staticmethod
    def _decode_continue(token: str) -> tuple[int, str]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            decoded = json.loads(raw)
            if decoded.get("v") != "meta.k8s.io/v1":
                raise ValueError("continue key is not a supported version")
            return int(decoded["rv"]), str(decoded["start"])
        except (binascii.Error, json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(str(e)) from e
