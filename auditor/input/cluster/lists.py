"""Collect the KINDS from a Kubernetes API server: paged lists, partial access.

Which version of each kind to read (discovery) is auditor/input/cluster/discovery.py; this module
reads
the lists it plans.

This module holds the collection logic and never imports `kubernetes`: it talks to the server
through a `Transport` (auditor/input/cluster/live.py wraps the official client's REST layer in
one), so
the policy here (which requests, how many, what a 403 or a 410 means) is plain code.

Requests are GETs only. Bodies are read as raw JSON bytes and parsed with orjson; nothing goes
through the client's model classes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from auditor.base.progress import NoProgress, Progress
from auditor.input.cluster.discovery import Plan, decode, discover, server_version, shown_text
from auditor.input.cluster.names import segment
from auditor.input.cluster.transport import (
    JSON,
    BadAnswer,
    CollectOptions,
    DeadlineExceeded,
    Requester,
    Response,
    StatusError,
    Transport,
    TransportError,
    status_message,
)
from auditor.input.compaction import compact_early
from auditor.input.kinds import KINDS
from auditor.input.shaping import SECRET_TYPE_UNKNOWN, normalize
from auditor.input.snapshot import (
    STATUS_ERROR,
    STATUS_FORBIDDEN,
    STATUS_NOT_INSTALLED,
    STATUS_OK,
    CollectionStatus,
)

__all__ = [
    "BadAnswer",
    "CollectOptions",
    "DeadlineExceeded",
    "Response",
    "StatusError",
    "Transport",
    "TransportError",
    "collect_cluster",
]

METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
PARTIAL_LIST = "PartialObjectMetadataList"
# Secret types learned with extra metadata-only lists (`fieldSelector=type=...`); any other
# Secret gets SECRET_TYPE_UNKNOWN, since metadata-only lists do not carry `type`.
SECRET_TYPES = ("kubernetes.io/tls", "Opaque")
MAX_LIST_RESTARTS = 3


@dataclass(slots=True)
class KindResult:
    """One kind as read. `compacted[i]`: objects[i] already went through `compact_early` and it
    answered compacted (pass `compact=True` to `Snapshot.add`); empty means none did."""

    status: CollectionStatus
    objects: list[dict[str, Any]] = field(default_factory=list)
    compacted: list[bool] = field(default_factory=list)


# What a kind keeps of one page's items (see Lister.pages); the page itself is dropped.
Keep = Callable[[list[dict[str, Any]]], list[Any]]


@dataclass(slots=True, kw_only=True)
class ClusterData:
    kubernetes_version: str | None
    results: dict[str, KindResult]
    istio_served: bool
    requests: int


class Lister:
    """Reads one kind: paged lists, per-namespace fallback, metadata-only Secrets."""

    def __init__(self, req: Requester, options: CollectOptions, namespaces: list[str] | None):
        self.req = req
        self.options = options
        self.namespaces = namespaces  # every namespace's name when Namespaces were listable

    def pages(
        self,
        path: str,
        accept: str,
        selector: Sequence[tuple[str, str]] = (),
        list_kind: str = "",
        keep: Keep | None = None,
    ) -> list[Any]:
        """All items of one list; a 410 on a continue token restarts the list from scratch.

        Each page is checked before use (BadAnswer otherwise): JSON, a list document of the
        expected kind (`PartialObjectMetadataList` when metadata only was asked for: a server
        that ignores that Accept header is never trusted with Secrets), `items` a list of
        objects with a metadata.name, and at most `max_pages` pages.

        `keep` turns a checked page's items into what is kept of them, as each page arrives, so
        that a kind's raw pages (whole Pods, managedFields) never all exist at once."""
        if path.rsplit("/", 1)[-1] == "secrets" and accept != METADATA_LIST:
            # Never reachable by design; kept so that no future path can read Secret data.
            raise BadAnswer("refused: Secrets are only ever listed as metadata")
        items: list[dict[str, Any]] = []
        token = ""
        restarts = 0
        pages = 0
        while True:
            query = [("limit", str(self.options.page_size)), *selector]
            if token:
                query.append(("continue", token))
            resp = self.req.get(path, query, accept)
            if resp.status == 410 and token and restarts < MAX_LIST_RESTARTS:
                restarts += 1
                items.clear()
                token = ""
                pages = 0
                continue
            if resp.status != 200:
                raise StatusError(resp.status, status_message(resp))
            page, token = _list_page(
                decode(resp), PARTIAL_LIST if accept == METADATA_LIST else list_kind
            )
            items.extend(keep(page) if keep is not None else page)
            del page
            pages += 1
            if not token:
                return items
            if pages >= self.options.max_pages:
                raise BadAnswer(f"list continues past {self.options.max_pages} pages (--max-pages)")

    def scoped(
        self,
        plan: Plan,
        accept: str,
        selector: Sequence[tuple[str, str]] = (),
        keep: Keep | None = None,
    ) -> tuple[list[Any], str]:
        """Items across the namespaces in scope, and a note when some namespaces were denied."""
        spec = plan.spec
        base = f"{plan.prefix}/{segment(spec.plural)}"
        list_kind = f"{spec.kind}List"
        cluster_wide: StatusError | None = None
        if spec.kind == "ConfigMap":
            names = [self.options.istio_namespace]
            # the AKS Istio add-on's control plane and mesh config live in aks-istio-system
            # (learn.microsoft.com/azure/aks/istio-meshconfig): read there too when it exists
            if AKS_ISTIO_NAMESPACE in (self.namespaces or ()) and AKS_ISTIO_NAMESPACE not in names:
                names.append(AKS_ISTIO_NAMESPACE)
        elif spec.namespaced and self.options.namespaces:
            names = list(self.options.namespaces)
        else:
            try:
                return self.pages(base, accept, selector, list_kind, keep), ""
            except StatusError as exc:
                if exc.status != 403 or not spec.namespaced or self.namespaces is None:
                    raise
                names = self.namespaces  # a namespaced grant: read what each namespace allows
                cluster_wide = exc
        items: list[Any] = []
        denied: list[str] = []
        for ns in names:
            path = f"{plan.prefix}/namespaces/{segment(ns)}/{segment(spec.plural)}"
            try:
                items.extend(self.pages(path, accept, selector, list_kind, keep))
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
                compacted: list[bool] = []
            else:
                kept, note = self.scoped(plan, JSON, keep=_keeper(plan))
                objects = [obj for obj, _ in kept]
                compacted = [done for _, done in kept]
                del kept
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
        except (TransportError, BadAnswer) as exc:
            return KindResult(
                CollectionStatus(status=STATUS_ERROR, message=exc.reason, version=plan.version)
            )
        read = CollectionStatus(
            status=STATUS_OK, message=note, count=len(objects), version=plan.version
        )
        return KindResult(read, objects, compacted)


def _keeper(plan: Plan) -> Keep:
    """What a kind read as JSON keeps of each page: every item normalized (Pods trimmed,
    managedFields dropped), ConfigMaps only when they hold mesh config, and each object then
    compacted as `Snapshot.add` would store it (`compact_early`), paired with whether it was."""
    spec, api_version = plan.spec, plan.api_version
    config_maps = spec.kind == "ConfigMap"

    def keep(page: list[dict[str, Any]]) -> list[tuple[Any, bool]]:
        out: list[tuple[Any, bool]] = []
        for item in page:
            obj = normalize(spec, api_version, item)
            if config_maps and not _mesh_config_name(obj):
                continue
            out.append(compact_early(obj))
        return out

    return keep


def _list_page(doc: Any, list_kind: str) -> tuple[list[dict[str, Any]], str]:
    """The items and continue token of one list answer; BadAnswer when it is not one."""
    if not isinstance(doc, dict):
        raise BadAnswer(f"not a list document (a JSON {type(doc).__name__})")
    kind = doc.get("kind")
    if list_kind == PARTIAL_LIST and kind != PARTIAL_LIST:
        raise BadAnswer(
            "the server did not answer metadata only (PartialObjectMetadataList); nothing kept"
        )
    if list_kind and kind is not None and kind != list_kind:
        raise BadAnswer(f"answered kind {shown_text(str(kind))}, expected {list_kind}")
    items = doc.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise BadAnswer(f"items is not a list (a JSON {type(items).__name__})")
    for i, item in enumerate(items):
        meta = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            raise BadAnswer(f"items[{i}] is not an object with metadata.name")
    meta = doc.get("metadata")
    token = meta.get("continue") if isinstance(meta, dict) else None
    if token is not None and not isinstance(token, str):
        raise BadAnswer("metadata.continue is not a string")
    return items, token or ""


def _installed(plan: Plan) -> bool:
    return plan.unavailable is None or plan.unavailable.status != STATUS_NOT_INSTALLED


def _identity(item: Mapping[str, Any]) -> tuple[str, str]:
    meta = item.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


AKS_ISTIO_NAMESPACE = "aks-istio-system"


def _mesh_config_name(obj: Mapping[str, Any]) -> bool:
    """A ConfigMap istiod may read as mesh config: `istio`, `istio-<revision>`, the AKS add-on's
    `istio-shared-configmap-<revision>`, or any other with a `mesh` key (the name an istiod's
    SHARED_MESH_CONFIG gives: auditor/mesh/mesh_config_source.py)."""
    name = str((obj.get("metadata") or {}).get("name") or "")
    data = obj.get("data")
    return (
        name == "istio"
        or name.startswith("istio-")
        or (isinstance(data, Mapping) and "mesh" in data)
    )


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
    version_doc = server_version(req)
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


def drain_objects(data: ClusterData) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every object read, kind by kind, with whether it is already compacted; each kind's list is
    released once yielded, so the Snapshot built from them is never held twice."""
    for spec in KINDS:
        result = data.results.get(spec.key)
        if result is None:
            continue
        objects, compacted = result.objects, result.compacted
        result.objects, result.compacted = [], []
        if len(compacted) != len(objects):
            compacted = [False] * len(objects)
        yield from zip(objects, compacted, strict=True)
        del objects, compacted
