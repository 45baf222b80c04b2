"""Collect the KINDS from a Kubernetes API server: discovery, paged lists, partial access.

This module holds the collection logic and never imports `kubernetes`: it talks to the server
through a `Transport` (auditor/collect/live.py wraps the official client's REST layer in one), so
the policy here (which requests, how many, what a 403 or a 410 means) is plain code.

Requests are GETs only. Bodies are read as raw JSON bytes and parsed with orjson; nothing goes
through the client's model classes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from auditor.collect.shaping import SECRET_TYPE_UNKNOWN, normalize
from auditor.collect.transport import (
    JSON,
    CollectOptions,
    DeadlineExceeded,
    Requester,
    Response,
    StatusError,
    Transport,
    TransportError,
    status_message,
)
from auditor.kinds import KINDS, KindSpec
from auditor.progress import NoProgress, Progress
from auditor.snapshot import (
    STATUS_ERROR,
    STATUS_FORBIDDEN,
    STATUS_NOT_INSTALLED,
    STATUS_OK,
    CollectionStatus,
)

__all__ = [
    "CollectOptions",
    "DeadlineExceeded",
    "Response",
    "StatusError",
    "Transport",
    "TransportError",
    "collect_cluster",
    "rbac_resources",
]

METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
# Secret types learned with extra metadata-only lists (`fieldSelector=type=...`); any other
# Secret gets SECRET_TYPE_UNKNOWN, since metadata-only lists do not carry `type`.
SECRET_TYPES = ("kubernetes.io/tls", "Opaque")
MAX_LIST_RESTARTS = 3


@dataclass(slots=True)
class KindResult:
    status: CollectionStatus
    objects: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class ClusterData:
    kubernetes_version: str | None
    results: dict[str, KindResult]
    istio_served: bool
    requests: int


@dataclass(frozen=True, slots=True)
class Plan:
    """How one kind is read: its served version and URL prefix, or why it cannot be."""

    spec: KindSpec
    version: str = ""
    unavailable: CollectionStatus | None = None

    @property
    def prefix(self) -> str:
        return (
            f"/apis/{self.spec.group}/{self.version}" if self.spec.group else f"/api/{self.version}"
        )

    @property
    def api_version(self) -> str:
        return f"{self.spec.group}/{self.version}" if self.spec.group else self.version


def _json(req: Requester, path: str) -> Any:
    resp = req.get(path)
    if resp.status != 200:
        raise StatusError(resp.status, status_message(resp))
    return orjson.loads(resp.body)


def discover(req: Requester, kinds: Sequence[KindSpec] = KINDS) -> dict[str, Plan]:
    """Pick, per kind, the preferred served version that mesh-audit understands.

    Versions are tried in the server's order (its preferred version first); a version is usable
    when its resource list names the kind's plural and the kind's KindSpec lists it.
    """
    served: dict[str, list[str]] = {"": list(_json(req, "/api").get("versions") or [])}
    for group in _json(req, "/apis").get("groups") or []:
        versions = [v.get("version") for v in group.get("versions") or []]
        preferred = (group.get("preferredVersion") or {}).get("version")
        ordered = [preferred] if preferred in versions else []
        ordered += [v for v in versions if v != preferred]
        served[str(group.get("name"))] = [str(v) for v in ordered]
    wanted: dict[tuple[str, str], set[str]] = {}
    for spec in kinds:
        for version in served.get(spec.group, ()):
            if version in spec.versions:
                wanted.setdefault((spec.group, version), set()).add(spec.plural)
    resources: dict[tuple[str, str], set[str]] = {}
    for group, version in sorted(wanted):
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        doc = _json(req, path)
        resources[(group, version)] = {
            str(r.get("name")) for r in doc.get("resources") or [] if "/" not in str(r.get("name"))
        }
    plans: dict[str, Plan] = {}
    for spec in kinds:
        group_versions = served.get(spec.group)
        if group_versions is None:
            plans[spec.key] = Plan(
                spec, unavailable=_not_installed(f"API group {spec.group} is not served")
            )
            continue
        usable = [
            v
            for v in group_versions
            if v in spec.versions and spec.plural in resources.get((spec.group, v), ())
        ]
        if usable:
            plans[spec.key] = Plan(spec, usable[0])
        else:
            plans[spec.key] = Plan(spec, unavailable=_not_installed_in(spec, group_versions))
    return plans


def _not_installed(message: str) -> CollectionStatus:
    return CollectionStatus(status=STATUS_NOT_INSTALLED, message=message)


def _not_installed_in(spec: KindSpec, versions: list[str]) -> CollectionStatus:
    names = f"{spec.plural}.{spec.group}" if spec.group else spec.plural
    if versions and not set(versions) & set(spec.versions):
        return CollectionStatus(
            status=STATUS_ERROR,
            message=(
                f"{spec.group} is served only as {', '.join(versions)}; "
                f"mesh-audit reads {', '.join(spec.versions)}"
            ),
        )
    return _not_installed(f"{names} is not served (CRD not installed)")


class Lister:
    """Reads one kind: paged lists, per-namespace fallback, metadata-only Secrets."""

    def __init__(self, req: Requester, options: CollectOptions, namespaces: list[str] | None):
        self.req = req
        self.options = options
        self.namespaces = namespaces  # every namespace's name when Namespaces were listable

    def pages(
        self, path: str, accept: str, selector: Sequence[tuple[str, str]] = ()
    ) -> list[dict[str, Any]]:
        """All items of one list; a 410 on a continue token restarts the list from scratch."""
        items: list[dict[str, Any]] = []
        token = ""
        restarts = 0
        while True:
            query = [("limit", str(self.options.page_size)), *selector]
            if token:
                query.append(("continue", token))
            resp = self.req.get(path, query, accept)
            if resp.status == 410 and token and restarts < MAX_LIST_RESTARTS:
                restarts += 1
                items.clear()
                token = ""
                continue
            if resp.status != 200:
                raise StatusError(resp.status, status_message(resp))
            doc = orjson.loads(resp.body)
            items.extend(doc.get("items") or [])
            token = (doc.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def scoped(
        self, plan: Plan, accept: str, selector: Sequence[tuple[str, str]] = ()
    ) -> tuple[list[dict[str, Any]], str]:
        """Items across the namespaces in scope, and a note when some namespaces were denied."""
        spec = plan.spec
        base = f"{plan.prefix}/{spec.plural}"
        cluster_wide: StatusError | None = None
        if spec.kind == "ConfigMap":
            names = [self.options.istio_namespace]
        elif spec.namespaced and self.options.namespaces:
            names = list(self.options.namespaces)
        else:
            try:
                return self.pages(base, accept, selector), ""
            except StatusError as exc:
                if exc.status != 403 or not spec.namespaced or self.namespaces is None:
                    raise
                names = self.namespaces  # a namespaced grant: read what each namespace allows
                cluster_wide = exc
        items: list[dict[str, Any]] = []
        denied: list[str] = []
        for ns in names:
            path = f"{plan.prefix}/namespaces/{ns}/{spec.plural}"
            try:
                items.extend(self.pages(path, accept, selector))
            except StatusError as exc:
                if exc.status != 403:
                    raise
                denied.append(ns)
        if names and len(denied) == len(names):
            if cluster_wide is not None:
                raise StatusError(403, f"{cluster_wide.message}, nor in any namespace")
            raise StatusError(403, f"{spec.plural} cannot be listed in any namespace in scope")
        note = f"forbidden in namespaces: {', '.join(denied)}" if denied else ""
        return items, note

    def read(self, plan: Plan) -> KindResult:
        spec = plan.spec
        if plan.unavailable is not None:
            return KindResult(plan.unavailable)
        try:
            if spec.metadata_only:
                raw, note = self.scoped(plan, METADATA_LIST)
                types: dict[tuple[str, str], str] = {}
                for secret_type in SECRET_TYPES:
                    selector = [("fieldSelector", f"type={secret_type}")]
                    try:
                        typed, _ = self.scoped(plan, METADATA_LIST, selector)
                    except StatusError as exc:
                        if exc.status not in (400, 403):
                            raise
                        break  # types stay unknown; the Secrets themselves were read
                    for item in typed:
                        types[_identity(item)] = secret_type
                objects = [
                    normalize(
                        spec,
                        plan.api_version,
                        item,
                        types.get(_identity(item), SECRET_TYPE_UNKNOWN),
                    )
                    for item in raw
                ]
            else:
                raw, note = self.scoped(plan, JSON)
                objects = [normalize(spec, plan.api_version, item) for item in raw]
                if spec.kind == "ConfigMap":
                    objects = [o for o in objects if _mesh_config_name(o)]
        except StatusError as exc:
            status = STATUS_FORBIDDEN if exc.status == 403 else STATUS_ERROR
            if exc.status == 404:
                status = STATUS_NOT_INSTALLED
            return KindResult(
                CollectionStatus(status=status, message=exc.message, version=plan.version)
            )
        except DeadlineExceeded:
            message = f"not read: the overall deadline ({self.options.deadline:g}s) passed"
            return KindResult(
                CollectionStatus(status=STATUS_ERROR, message=message, version=plan.version)
            )
        except TransportError as exc:
            return KindResult(
                CollectionStatus(status=STATUS_ERROR, message=exc.reason, version=plan.version)
            )
        read = CollectionStatus(
            status=STATUS_OK, message=note, count=len(objects), version=plan.version
        )
        return KindResult(read, objects)


def _installed(plan: Plan) -> bool:
    return plan.unavailable is None or plan.unavailable.status != STATUS_NOT_INSTALLED


def _identity(item: Mapping[str, Any]) -> tuple[str, str]:
    meta = item.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _mesh_config_name(obj: Mapping[str, Any]) -> bool:
    name = str((obj.get("metadata") or {}).get("name") or "")
    return name == "istio" or name.startswith("istio-")


def collect_cluster(
    transport: Transport,
    options: CollectOptions,
    *,
    progress: Progress | None = None,
    **requester_kw: Any,
) -> ClusterData:
    """Discovery, then Namespaces, then every other kind on a bounded pool of threads."""
    shown: Progress = progress if progress is not None else NoProgress()
    shown.start(total=len(KINDS))
    try:
        return _collect_cluster(transport, options, shown, **requester_kw)
    finally:
        shown.finish()


def _collect_cluster(
    transport: Transport, options: CollectOptions, progress: Progress, **requester_kw: Any
) -> ClusterData:
    req = Requester(transport, options, **requester_kw)
    version_doc = _json(req, "/version")
    plans = discover(req)
    results: dict[str, KindResult] = {}
    ns_key = "Namespace"
    lister = Lister(req, options, None)
    results[ns_key] = lister.read(plans[ns_key])
    _report(progress, ns_key, results[ns_key])
    if results[ns_key].status.status == STATUS_OK:
        lister.namespaces = sorted(_identity(o)[1] for o in results[ns_key].objects)
    elif options.namespaces:
        lister.namespaces = list(options.namespaces)
    rest = [plans[k.key] for k in KINDS if k.key != ns_key]
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        for plan, result in zip(rest, pool.map(lister.read, rest), strict=True):
            results[plan.spec.key] = result
            _report(progress, plan.spec.key, result)
    istio_served = any(_installed(plans[k.key]) for k in KINDS if k.is_istio)
    git_version = version_doc.get("gitVersion") if isinstance(version_doc, dict) else None
    return ClusterData(
        kubernetes_version=str(git_version) if git_version else None,
        results=results,
        istio_served=istio_served,
        requests=req.count,
    )


def _report(progress: Progress, key: str, result: KindResult) -> None:
    progress.kind_done(key, count=len(result.objects), status=result.status.status)


def iter_objects(data: ClusterData) -> Iterator[dict[str, Any]]:
    for spec in KINDS:
        result = data.results.get(spec.key)
        if result is not None:
            yield from result.objects


# Discovery paths every authenticated user may read (the `system:discovery` ClusterRole).
DISCOVERY_URLS = ("/version", "/api", "/api/*", "/apis", "/apis/*")


def rbac_resources() -> list[tuple[str, str]]:
    """The (apiGroup, resource) pairs the collector lists (verb `list` only), sorted.

    Secrets are listed as metadata only, which RBAC still authorizes as `list secrets`: a
    ClusterRole generated from this must say so, and nothing ever asks `get` for a Secret.
    """
    return sorted({(spec.group, spec.plural) for spec in KINDS})
