"""Read a live cluster: kubeconfig or in-cluster config, then collect
(auditor/input/cluster/lists.py).

The only module that imports `kubernetes`. It uses the client for what it does well (kubeconfig
parsing, exec/OIDC token refresh, TLS set-up) and sends every request through the client's REST
layer (`param_serialize` + `call_api`, kubernetes>=37), reading raw bytes: never the model classes.

The client's urllib3 retries are switched off (`configuration.retries = False`) so that the retry
policy in cluster.Requester is the one that runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from auditor import __version__
from auditor.base.errors import ClusterError
from auditor.base.progress import Progress
from auditor.base.redact import kubeconfig_user_secrets, redact_text, redact_url, register_secrets
from auditor.input.cluster.discovery import DiscoveryError
from auditor.input.cluster.lists import (
    BadAnswer,
    ClusterData,
    CollectOptions,
    DeadlineExceeded,
    Response,
    StatusError,
    TransportError,
    collect_cluster,
    drain_objects,
)
from auditor.input.cluster.transport import DEFAULT_MAX_BODY_BYTES
from auditor.input.istiod_image import istio_version
from auditor.input.sharing import bulk_load
from auditor.input.snapshot import InputWarning, Snapshot, SourceInfo

CHUNK = 64 * 1024


class DeadlinePassed(Exception):
    """The overall deadline passed while an answer was still arriving."""


SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
# At most 120 characters: the terminal summary shows warnings cut to that length.
NO_ISTIO = (
    "Istio is not installed (no networking.istio.io or security.istio.io API served): "
    "only Kubernetes-side checks ran"
)


# At most 120 characters, as NO_ISTIO.
INSECURE_TLS = (
    "TLS verification is off (insecure-skip-tls-verify): the API server's identity was not checked"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveOptions:
    context: str | None = None
    kubeconfig: str | None = None
    in_cluster: bool = False
    collect: CollectOptions = field(default_factory=CollectOptions)


@dataclass(slots=True, kw_only=True)
class LiveResult:
    snapshot: Snapshot
    requests: int


class ClientTransport:
    """cluster.Transport over the official client's REST layer.

    Bodies are streamed, never buffered whole by the client: a declared Content-Length above
    `max_bytes` is refused before reading, a body that grows past it is cut off. Each chunk's
    socket read waits at most `timeout`, and no read goes past `until` (the overall collection
    deadline, on this transport's clock): a server that drips a few bytes at a time is stopped
    at the deadline, not when it stops sending.
    """

    def __init__(
        self,
        api: client.ApiClient,
        server: str,
        *,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.server = server
        self.max_bytes = max_bytes
        self.clock = clock

    def get(
        self,
        path: str,
        query: Sequence[tuple[str, str]],
        accept: str,
        timeout: float,
        until: float | None = None,
    ) -> Response:
        method, url, headers, _, _ = self.api.param_serialize(
            "GET",
            path,
            query_params=list(query) or None,
            header_params={"Accept": accept},
            auth_settings=["BearerToken"],
        )
        try:
            resp = self.api.call_api(method, url, header_params=headers, _request_timeout=timeout)
            body = self._read(resp.response, until, timeout)
        except ApiException as exc:  # the REST layer turns TLS failures into status 0
            raise TransportError("tls", _tls_reason(str(exc.reason or exc))) from exc
        except urllib3.exceptions.SSLError as exc:
            raise TransportError("tls", _tls_reason(str(exc))) from exc
        except urllib3.exceptions.NewConnectionError as exc:
            raise TransportError("connect", _errno_reason(str(exc))) from exc
        except DeadlinePassed as e:
            raise DeadlineExceeded from e
        except (
            urllib3.exceptions.ConnectTimeoutError,
            urllib3.exceptions.ReadTimeoutError,
            TimeoutError,
        ) as e:
            raise TransportError("timeout", f"no answer within {timeout:g}s") from e
        except urllib3.exceptions.ProtocolError as exc:
            raise TransportError("dropped", _dropped_reason(str(exc))) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransportError("dropped", _errno_reason(str(exc))) from exc
        return Response(
            status=resp.status,
            headers={k.lower(): v for k, v in resp.headers.items()},
            body=body,
        )

    def _read(self, raw: urllib3.BaseHTTPResponse, until: float | None, timeout: float) -> bytes:
        try:
            declared = int(raw.headers.get("content-length", "") or -1)
        except ValueError:
            declared = -1
        if declared > self.max_bytes:
            raw.close()  # never drain it: the connection is dropped, not reused
            raise BadAnswer(
                f"answer declares {declared} bytes, above the limit of {self.max_bytes} "
                "(--max-body-bytes)"
            )
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                wait = timeout
                if until is not None:
                    left = until - self.clock()
                    if left <= 0:
                        raise DeadlinePassed
                    wait = min(wait, left)
                _set_read_timeout(raw, wait)
                chunk = raw.read1(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_bytes:
                    raise BadAnswer(
                        f"answer larger than the limit of {self.max_bytes} bytes (--max-body-bytes)"
                    )
                chunks.append(chunk)
        except BaseException:
            with contextlib.suppress(Exception):  # already released after a read error
                raw.shutdown()
            raw.close()
            raise
        raw.release_conn()
        return b"".join(chunks)


def _set_read_timeout(raw: urllib3.BaseHTTPResponse, seconds: float) -> None:
    """Bound the next socket read to the time left for this answer."""
    conn = getattr(raw, "connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(max(seconds, 0.001))


def _dropped_reason(text: str) -> str:
    if "IncompleteRead" in text or "incomplete" in text.lower():
        return "connection closed before the whole answer arrived"
    return _errno_reason(text)


def _errno_reason(text: str) -> str:
    match = re.search(r"\[Errno -?\d+\] ([^)'\"]+)", text)
    reason = match.group(1) if match else text.splitlines()[-1] if text else "connection failed"
    return reason.strip().rstrip(".")[:1].lower() + reason.strip().rstrip(".")[1:]


def _tls_reason(text: str) -> str:
    match = re.search(r"\[SSL: [A-Z_]+\] ([^(]+)", text)
    detail = match.group(1).strip() if match else text.splitlines()[-1].strip()
    return f"TLS handshake failed: {detail}"


def _kubeconfig_path(option: str | None) -> str:
    return option or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def _use_in_cluster(options: LiveOptions) -> bool:
    if options.in_cluster:
        return True
    if options.kubeconfig or os.environ.get("KUBECONFIG") or options.context:
        return False
    return (
        not Path(_kubeconfig_path(None)).exists()
        and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        and SA_TOKEN.exists()
    )


def configure(options: LiveOptions) -> tuple[client.Configuration, str]:
    """A client Configuration and the context name to report; ClusterError when unusable."""
    cfg = client.Configuration()
    if _use_in_cluster(options):
        try:
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        except ConfigException as exc:
            raise ClusterError(f"in-cluster configuration unavailable: {exc}") from None
        context = "in-cluster"
    else:
        path = _kubeconfig_path(options.kubeconfig)
        paths = [p for p in path.split(os.pathsep) if p]
        for p in paths:
            if not os.access(p, os.R_OK):
                reason = "no such file" if not os.path.exists(p) else "permission denied"
                raise ClusterError(f"cannot read kubeconfig {p}: {reason}")
        try:
            contexts, active = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            raise ClusterError(f"cannot use kubeconfig {path}: {exc}") from None
        except Exception as exc:  # malformed YAML surfaces as yaml errors
            raise ClusterError(f"cannot parse kubeconfig {path}: {type(exc).__name__}") from None
        names = [str(c.get("name")) for c in contexts or []]
        context = options.context or (str(active.get("name")) if active else "")
        if not context:
            raise ClusterError(f"kubeconfig {path} has no current context; give --context")
        if context not in names:
            known = ", ".join(names) or "none"
            raise ClusterError(f"context {context} not found in {path} (contexts: {known})")
        # Before the client reads it: its own errors (an exec plugin's stderr) may quote them.
        with contextlib.suppress(Exception):
            register_secrets(kubeconfig_user_secrets(_user_entry(options, context)))
        try:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path, context=context, client_configuration=cfg, persist_config=False
            )
        except (ConfigException, OSError, ValueError) as exc:
            raise ClusterError(f"cannot use context {context} from {path}: {exc}") from None
    _register_credentials(cfg, options)
    cfg.retries = False  # cluster.Requester owns retries and backoff
    cfg.connection_pool_maxsize = max(options.collect.workers, 1)
    return cfg, context


def _register_credentials(cfg: client.Configuration, options: LiveOptions) -> None:
    """Tell auditor/base/redact.py every credential this context holds, before anything is
    printed."""
    values: list[object] = [cfg.password]
    for value in (cfg.api_key or {}).values():
        values.append(value)
        if isinstance(value, str) and " " in value:
            values.append(value.split(" ", 1)[1])  # "Bearer <token>"
    register_secrets(values)


def _user_entry(options: LiveOptions, context: str) -> dict[str, Any]:
    """The `users[].user` mapping of `context`, from the first kubeconfig file that names it."""
    path = _kubeconfig_path(options.kubeconfig)
    for file in [p for p in path.split(os.pathsep) if p]:
        doc = yaml.safe_load(Path(file).read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            continue
        contexts = {
            c.get("name"): c.get("context") or {}
            for c in doc.get("contexts") or []
            if isinstance(c, dict)
        }
        if context not in contexts:
            continue
        user_name = (contexts.get(context) or {}).get("user")
        for user in doc.get("users") or []:
            if isinstance(user, dict) and user.get("name") == user_name:
                entry = user.get("user")
                return entry if isinstance(entry, dict) else {}
    return {}


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def collect(
    options: LiveOptions, *, progress: Progress | None = None, **requester_kw: Any
) -> LiveResult:
    """Read the cluster into a Snapshot; ClusterError when it cannot be read at all.

    `progress` (auditor.base.progress) is told about each kind as it is read."""
    cfg, context = configure(options)
    server = str(cfg.host)
    api = client.ApiClient(cfg)
    api.user_agent = f"mesh-audit/{__version__}"
    where = f"{redact_url(server)} (context {context})"
    notes: list[str] = []
    if not cfg.verify_ssl:
        # One collection note instead of a urllib3 warning per request.
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        notes.append(INSECURE_TLS)
    transport = ClientTransport(api, server, max_bytes=options.collect.max_body_bytes)
    # As the file loader: the cyclic GC would walk the growing heap of parsed pages again and
    # again (a third of the collector's CPU at 10k objects, more as the heap grows).
    with bulk_load():
        data = _read_cluster(transport, api, options, where, progress, requester_kw)
        snapshot = build_snapshot(data, context, server, options)
    origin = f"cluster {context}"
    snapshot.warnings.extend(
        InputWarning(source=origin, document=None, problem=note) for note in notes
    )
    return LiveResult(snapshot=snapshot, requests=data.requests)


def _read_cluster(
    transport: ClientTransport,
    api: client.ApiClient,
    options: LiveOptions,
    where: str,
    progress: Progress | None,
    requester_kw: dict[str, Any],
) -> ClusterData:
    try:
        return collect_cluster(transport, options.collect, progress=progress, **requester_kw)
    except TransportError as exc:
        verb = "cannot reach" if exc.kind in ("connect", "timeout", "dropped") else "cannot talk to"
        raise ClusterError(f"{verb} {where}: {exc.reason}") from None
    except StatusError as exc:
        if exc.status == 401:
            raise ClusterError(f"authentication to {where} failed: {exc.message}") from None
        raise ClusterError(f"cannot read {where}: {exc}") from None
    except DiscoveryError as exc:
        raise ClusterError(f"cannot read {where}: {exc.reason}") from None
    except BadAnswer as exc:
        raise ClusterError(f"cannot read {where}: {exc.reason}") from None
    except DeadlineExceeded:
        deadline = options.collect.deadline
        raise ClusterError(f"cannot read {where}: deadline of {deadline:g}s passed") from None
    finally:
        api.close()  # type: ignore[no-untyped-call]


def build_snapshot(data: ClusterData, context: str, server: str, options: LiveOptions) -> Snapshot:
    deployments = data.results.get("apps/Deployment")
    source = SourceInfo(
        type="cluster",
        context=context,
        server=redact_url(server),
        kubernetes_version=data.kubernetes_version,
        istio_version=istio_version(deployments.objects) if deployments else None,
        namespaces=list(options.collect.namespaces) or None,
        collected_at=_now(),
    )
    snapshot = Snapshot(source)
    origin = f"cluster {context}"
    for obj, compacted in drain_objects(data):
        snapshot.add(obj, origin=origin, document=None, compact=compacted)
    # A server's own messages (Status bodies, errors) are output too: they go through redaction.
    snapshot.collection = {
        key: dataclasses.replace(result.status, message=redact_text(result.status.message))
        for key, result in data.results.items()
    }
    if not data.istio_served:
        snapshot.warnings.append(InputWarning(source=origin, document=None, problem=NO_ISTIO))
    return snapshot
