"""Snapshot: every object the audit reads, by kind, plus how it was collected.

A Snapshot is built once (by the file loader or the live collector) and then only read. Objects
stay the plain dicts they were parsed into (no copies, no model classes); `KObject` adds the
identity fields and where the object came from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.base.model import ResourceRef
from auditor.input import certinfo
from auditor.input.compaction import MAX_PAIR_CHARS, compact_early, compact_object
from auditor.input.kinds import BY_GROUP_KIND, KINDS, KindSpec, kind_key, split_api_version
from auditor.input.shapes import check_object
from auditor.input.shaping import LAST_APPLIED

STATUS_OK = "ok"
STATUS_FORBIDDEN = "forbidden"
STATUS_NOT_INSTALLED = "not-installed"
STATUS_ERROR = "error"
COLLECTION_STATUSES = (STATUS_OK, STATUS_FORBIDDEN, STATUS_NOT_INSTALLED, STATUS_ERROR)


class KObject:
    """One Kubernetes object: identity plus the parsed body, read-only by convention."""

    __slots__ = ("api_version", "group", "kind", "name", "namespace", "origin", "raw")

    def __init__(
        self,
        *,
        group: str,
        kind: str,
        namespace: str,
        name: str,
        api_version: str,
        raw: dict[str, Any],
        origin: str,
    ) -> None:
        self.group = group
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.api_version = api_version
        self.raw = raw
        self.origin = origin

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(
            group=self.group,
            kind=self.kind,
            namespace=self.namespace,
            name=self.name,
            api_version=self.api_version,
        )

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.raw.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.raw.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def labels(self) -> dict[str, str]:
        return self.metadata.get("labels") or {}

    @property
    def annotations(self) -> dict[str, str]:
        return self.metadata.get("annotations") or {}

    def __repr__(self) -> str:
        return f"<{self.kind} {self.namespace}/{self.name}>"


@dataclass(frozen=True, slots=True, kw_only=True)
class InputWarning:
    """Something in the input that was skipped or read leniently; never fatal."""

    source: str
    document: int | None
    problem: str
    item: int | None = None
    kind: str | None = None
    name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "document": self.document,
            "item": self.item,
            "kind": self.kind,
            "name": self.name,
            "problem": self.problem,
        }

    def display(self) -> str:
        where = self.source if self.document is None else f"{self.source} document {self.document}"
        if self.item is not None:
            where += f" items[{self.item}]"
        what = f" {self.kind} {self.name}:" if self.kind and self.name else ""
        return f"{where}:{what} {self.problem}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionStatus:
    status: str
    message: str = ""
    count: int = 0
    version: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "count": self.count,
            "version": self.version,
        }


@dataclass(slots=True, kw_only=True)
class SourceInfo:
    """Where the snapshot came from; shown on the report's cover."""

    type: str  # "files", "snapshot" or "cluster"
    paths: list[str] = field(default_factory=list)
    context: str | None = None
    server: str | None = None
    kubernetes_version: str | None = None
    istio_version: str | None = None
    namespaces: list[str] | None = None
    collected_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "paths": list(self.paths),
            "context": self.context,
            "server": self.server,
            "kubernetes_version": self.kubernetes_version,
            "istio_version": self.istio_version,
            "namespaces": self.namespaces,
            "collected_at": self.collected_at,
        }


class Snapshot:
    """Objects by kind key and (namespace, name), with collection status and input warnings."""

    __slots__ = (
        "_by_kind",
        "collection",
        "inventory",
        "lines",
        "mesh_config_override",
        "source",
        "warnings",
    )

    def __init__(self, source: SourceInfo) -> None:
        self._by_kind: dict[str, dict[tuple[str, str], KObject]] = {k.key: {} for k in KINDS}
        self.inventory: Counter[str] = Counter()
        self.warnings: list[InputWarning] = []
        self.collection: dict[str, CollectionStatus] = {}
        self.source = source
        # A MeshConfig given with --mesh-config, as a mapping (already parsed).
        self.mesh_config_override: tuple[str, Mapping[str, Any]] | None = None
        # KObject.origin -> the 1-based line its object starts on, where the loader knows it
        self.lines: dict[str, int] = {}

    def put(self, obj: KObject) -> bool:
        """Add an object read elsewhere (a pre-merge overlay); True when it replaced one."""
        bucket = self._by_kind[kind_key(obj.group, obj.kind)]
        replaced = (obj.namespace, obj.name) in bucket
        bucket[(obj.namespace, obj.name)] = obj
        return replaced

    # ---- reading -------------------------------------------------------------------------

    def objects(self, key: str) -> Iterator[KObject]:
        """Objects of one kind (`networking.istio.io/Gateway`, `Service`), in a stable order."""
        bucket = self._by_kind.get(key)
        if not bucket:
            return iter(())
        return iter(bucket.values())

    def get(self, key: str, namespace: str, name: str) -> KObject | None:
        bucket = self._by_kind.get(key)
        return bucket.get((namespace, name)) if bucket else None

    def count(self, key: str) -> int:
        return len(self._by_kind.get(key, ()))

    def all_objects(self) -> Iterator[KObject]:
        for bucket in self._by_kind.values():
            yield from bucket.values()

    def status_of(self, key: str) -> CollectionStatus:
        return self.collection.get(key, CollectionStatus(status=STATUS_OK))

    def unavailable_kinds(self) -> set[str]:
        return {k for k, s in self.collection.items() if s.status != STATUS_OK}

    # ---- building ------------------------------------------------------------------------

    def add(
        self,
        obj: Any,
        *,
        origin: str,
        document: int | None,
        item: int | None = None,
        default_namespace: str = "default",
        compact: bool = False,
    ) -> KObject | None:
        """Add one parsed document; anything that is not a usable object becomes a warning.

        `compact`: the caller already applied `compact_early` and it answered compacted.
        """

        def warn(problem: str, kind: str | None = None, name: str | None = None) -> None:
            self.warnings.append(
                InputWarning(
                    source=origin,
                    document=document,
                    item=item,
                    problem=problem,
                    kind=kind,
                    name=name,
                )
            )

        if not isinstance(obj, dict):
            kind_of = "a list" if isinstance(obj, list) else f"a {type(obj).__name__} value"
            if obj is None:
                return None  # an empty document (a trailing `---`) is not a mistake
            warn(f"not a Kubernetes object ({kind_of}); skipped")
            return None
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        metadata = obj.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not (
            isinstance(api_version, str)
            and api_version
            and isinstance(kind, str)
            and kind
            and isinstance(name, str)
            and name
        ):
            missing = [
                field_name
                for field_name, value in (
                    ("apiVersion", api_version),
                    ("kind", kind),
                    ("metadata.name", name),
                )
                if not isinstance(value, str) or not value
            ]
            warn(
                f"not a Kubernetes object (missing or invalid {', '.join(missing)}); skipped",
                kind=kind if isinstance(kind, str) else None,
                name=name if isinstance(name, str) else None,
            )
            return None
        assert isinstance(metadata, dict)
        try:
            spec, inventory_key = _KINDS_READ[(api_version, kind)]
        except KeyError:
            spec, inventory_key = _kind_read(api_version, kind)
        self.inventory[inventory_key] += 1
        if spec is None:
            return None
        group = spec.group
        if spec.namespaced:
            namespace = metadata.get("namespace")
            if namespace is None or namespace == "":
                namespace = default_namespace
            elif not isinstance(namespace, str):
                warn("metadata.namespace is not a string; skipped", kind=kind, name=name)
                return None
        else:
            namespace = ""
        if not compact:
            # the one-call path the streamed snapshot and the collector take, for every other
            # input too (YAML, JSON arrays and Lists): Secrets and ConfigMaps, and objects with a
            # shape problem, go on below
            obj, compact = compact_early(obj)
        # compact_early compacts only objects whose shape checks report nothing
        problems = () if compact else check_object(group, kind, obj)
        if problems:
            fatal = [p for p in problems if p.fatal]
            for p in problems:
                if not p.fatal:
                    warn(str(p), kind=kind, name=name)
            if fatal:
                detail = "; ".join(str(p) for p in fatal[:3])
                more = f" (and {len(fatal) - 3} more)" if len(fatal) > 3 else ""
                warn(f"{detail}{more}; object skipped", kind=kind, name=name)
                return None
        if spec.metadata_only:
            obj = _strip_secret(obj)
        if kind == "ConfigMap":
            if _is_injector_config_map(name, obj):
                obj = _injector_values_only(obj)
            elif not _is_mesh_config_map(name, obj):
                return None  # only mesh and injector config is kept; the rest is inventory
        if not compact:
            obj = compact_object(obj, group, kind)
        kobj = KObject(
            group=group,
            kind=kind,
            namespace=namespace,
            name=name,
            api_version=api_version,
            raw=obj,
            origin=_origin(origin, document, item),
        )
        bucket = self._by_kind[inventory_key]  # the kind's key (`KindSpec.key`)
        if (namespace, name) in bucket:
            warn(
                "duplicate object: the later document replaces the earlier one",
                kind=kind,
                name=f"{namespace}/{name}" if namespace else name,
            )
        bucket[(namespace, name)] = kobj
        return kobj


# (apiVersion, kind) -> the kind as mesh-audit reads it (None: counted only) and its inventory
# key, for the pairs seen; input is untrusted, so only so many, and only short ones, are
# remembered (as compaction.py's plans)
_KINDS_READ: dict[tuple[str, str], tuple[KindSpec | None, str]] = {}
_MAX_KINDS_READ = 1024


def _kind_read(api_version: str, kind: str) -> tuple[KindSpec | None, str]:
    group, _version = split_api_version(api_version)
    found = (BY_GROUP_KIND.get((group, kind)), kind_key(group, kind))
    if len(_KINDS_READ) < _MAX_KINDS_READ and len(api_version) + len(kind) <= MAX_PAIR_CHARS:
        _KINDS_READ[(api_version, kind)] = found
    return found


def _is_mesh_config_map(name: str, obj: dict[str, Any]) -> bool:
    data = obj.get("data")
    return (
        (name == "istio" or name.startswith("istio-"))
        and isinstance(data, dict)
        and ("mesh" in data)
    )


def _is_injector_config_map(name: str, obj: dict[str, Any]) -> bool:
    data = obj.get("data")
    return name.startswith("istio-sidecar-injector") and isinstance(data, dict) and "values" in data


def _injector_values_only(obj: dict[str, Any]) -> dict[str, Any]:
    """The sidecar injector ConfigMap, reduced to its `values` key (the template is not read)."""
    return {**obj, "data": {"values": obj["data"]["values"]}}


def _strip_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """Keep a Secret's identity, type and key names; never its values."""
    metadata = dict(obj.get("metadata") or {})
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        metadata["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    keys: set[str] = set()
    for section in ("data", "stringData"):
        values = obj.get(section)
        if isinstance(values, dict):
            keys.update(str(k) for k in values)
    stripped: dict[str, Any] = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": metadata,
        "type": obj.get("type") or "Opaque",
    }
    has_values = "data" in obj or "stringData" in obj
    if keys or has_values:
        stripped["dataKeys"] = sorted(keys)
    elif _is_str_list(obj.get("dataKeys")):  # already reduced: a snapshot file read back
        stripped["dataKeys"] = sorted(obj["dataKeys"])
    # the certificate is public (every client receives it); keep its validity, never the key
    certificate = certinfo.summarize(obj.get("data")) or certinfo.summarize(
        obj.get("stringData"), base64_encoded=False
    )
    if certificate is None and not has_values:
        certificate = _certificate_summary(obj.get("certificate"))
    if certificate is not None:
        stripped["certificate"] = certificate
    return stripped


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _certificate_summary(value: object) -> dict[str, Any] | None:
    """A summary written by `_strip_secret` (a snapshot read back), when it has that shape."""
    if not isinstance(value, dict) or set(value) - {"key", "format", "not_before", "not_after"}:
        return None
    if not all(isinstance(v, str) for v in value.values()):
        return None
    return dict(value)


def _origin(source: str, document: int | None, item: int | None) -> str:
    where = source if document is None else f"{source}#{document}"
    return where if item is None else f"{where}.items[{item}]"
