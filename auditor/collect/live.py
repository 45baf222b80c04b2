"""Read a live cluster: kubeconfig or in-cluster config, then collect (auditor/collect/cluster.py).

The only module that imports `kubernetes`. It uses the client for what it does well (kubeconfig
parsing, exec/OIDC token refresh, TLS set-up) and sends every request through the client's REST
layer (`param_serialize` + `call_api`, kubernetes>=37), reading raw bytes: never the model classes.

The client's urllib3 retries are switched off (`configuration.retries = False`) so that the retry
policy in cluster.Requester is the one that runs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from auditor import __version__
from auditor.collect.cluster import (
    ClusterData,
    CollectOptions,
    DeadlineExceeded,
    Response,
    StatusError,
    TransportError,
    collect_cluster,
    iter_objects,
)
from auditor.errors import ClusterError
from auditor.istio.version import istio_version
from auditor.progress import Progress
from auditor.snapshot import InputWarning, Snapshot, SourceInfo

SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
# At most 120 characters: the terminal summary shows warnings cut to that length.
NO_ISTIO = (
    "Istio is not installed (no networking.istio.io or security.istio.io API served): "
    "only Kubernetes-side checks ran"
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
    """cluster.Transport over the official client's REST layer."""

    def __init__(self, api: client.ApiClient, server: str) -> None:
        self.api = api
        self.server = server

    def get(
        self, path: str, query: Sequence[tuple[str, str]], accept: str, timeout: float
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
            body = resp.read()  # type: ignore[no-untyped-call]
        except ApiException as exc:  # the REST layer turns TLS failures into status 0
            raise TransportError("tls", _tls_reason(str(exc.reason or exc))) from exc
        except urllib3.exceptions.SSLError as exc:
            raise TransportError("tls", _tls_reason(str(exc))) from exc
        except urllib3.exceptions.NewConnectionError as exc:
            raise TransportError("connect", _errno_reason(str(exc))) from exc
        except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError) as e:
            raise TransportError("timeout", f"no answer within {timeout:g}s") from e
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransportError("dropped", _errno_reason(str(exc))) from exc
        return Response(
            status=resp.status,
            headers={k.lower(): v for k, v in resp.headers.items()},
            body=body,
        )


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
        try:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path, context=context, client_configuration=cfg, persist_config=False
            )
        except (ConfigException, OSError, ValueError) as exc:
            raise ClusterError(f"cannot use context {context} from {path}: {exc}") from None
    cfg.retries = False  # cluster.Requester owns retries and backoff
    cfg.connection_pool_maxsize = max(options.collect.workers, 1)
    return cfg, context


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def collect(
    options: LiveOptions, *, progress: Progress | None = None, **requester_kw: Any
) -> LiveResult:
    """Read the cluster into a Snapshot; ClusterError when it cannot be read at all.

    `progress` (auditor.progress) is told about each kind as it is read."""
    cfg, context = configure(options)
    server = str(cfg.host)
    api = client.ApiClient(cfg)
    api.user_agent = f"mesh-audit/{__version__}"
    where = f"{server} (context {context})"
    try:
        data = collect_cluster(
            ClientTransport(api, server), options.collect, progress=progress, **requester_kw
        )
    except TransportError as exc:
        verb = "cannot reach" if exc.kind in ("connect", "timeout", "dropped") else "cannot talk to"
        raise ClusterError(f"{verb} {where}: {exc.reason}") from None
    except StatusError as exc:
        if exc.status == 401:
            raise ClusterError(f"authentication to {where} failed: {exc.message}") from None
        raise ClusterError(f"cannot read {where}: {exc}") from None
    except DeadlineExceeded:
        deadline = options.collect.deadline
        raise ClusterError(f"cannot read {where}: deadline of {deadline:g}s passed") from None
    finally:
        api.close()  # type: ignore[no-untyped-call]
    return LiveResult(
        snapshot=build_snapshot(data, context, server, options), requests=data.requests
    )


def build_snapshot(data: ClusterData, context: str, server: str, options: LiveOptions) -> Snapshot:
    deployments = data.results.get("apps/Deployment")
    source = SourceInfo(
        type="cluster",
        context=context,
        server=server,
        kubernetes_version=data.kubernetes_version,
        istio_version=istio_version(deployments.objects) if deployments else None,
        namespaces=list(options.collect.namespaces) or None,
        collected_at=_now(),
    )
    snapshot = Snapshot(source)
    origin = f"cluster {context}"
    for obj in iter_objects(data):
        snapshot.add(obj, origin=origin, document=None)
    snapshot.collection = {key: result.status for key, result in data.results.items()}
    if not data.istio_served:
        snapshot.warnings.append(InputWarning(source=origin, document=None, problem=NO_ISTIO))
    return snapshot
