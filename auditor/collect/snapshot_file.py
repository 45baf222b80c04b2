"""mesh-audit's snapshot file: the objects plus how they were collected.

    {
      "apiVersion": "mesh-audit.dev/v1",
      "kind": "MeshAuditSnapshot",
      "source": {type, context, server, kubernetes_version, istio_version, namespaces,
                 collected_at, paths},
      "collection": {"networking.istio.io/Gateway": {status, message, count, version}, ...},
      "objects": [ {apiVersion, kind, metadata, spec, ...}, ... ]
    }

JSON, gzipped when the file name ends in `.gz`. Objects keep their namespaces as collected.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson

from auditor.errors import InputError
from auditor.snapshot import COLLECTION_STATUSES, CollectionStatus, Snapshot, SourceInfo

SNAPSHOT_KIND = "MeshAuditSnapshot"
SNAPSHOT_API_VERSION = "mesh-audit.dev/v1"


def load_snapshot_document(snapshot: Snapshot, doc: dict[str, Any], *, origin: str) -> None:
    api_version = doc.get("apiVersion")
    if api_version != SNAPSHOT_API_VERSION:
        raise InputError(
            f"{origin}: unsupported snapshot apiVersion {api_version!r} "
            f"(this mesh-audit reads {SNAPSHOT_API_VERSION})"
        )
    objects = doc.get("objects")
    if not isinstance(objects, list):
        raise InputError(f"{origin}: snapshot has no 'objects' list")
    source = doc.get("source")
    if isinstance(source, dict) and snapshot.source.type == "files":
        snapshot.source.type = "snapshot"
        for key in ("context", "server", "kubernetes_version", "istio_version", "collected_at"):
            value = source.get(key)
            if isinstance(value, str):
                setattr(snapshot.source, key, value)
        namespaces = source.get("namespaces")
        if isinstance(namespaces, list):
            snapshot.source.namespaces = [str(n) for n in namespaces]
    collection = doc.get("collection")
    if isinstance(collection, dict):
        for key, entry in collection.items():
            if not isinstance(entry, dict) or entry.get("status") not in COLLECTION_STATUSES:
                raise InputError(f"{origin}: collection entry {key!r} has no valid status")
            snapshot.collection[str(key)] = CollectionStatus(
                status=str(entry["status"]),
                message=str(entry.get("message") or ""),
                count=int(entry.get("count") or 0),
                version=str(entry.get("version") or ""),
            )
    for i, obj in enumerate(objects):
        snapshot.add(obj, origin=origin, document=1, item=i, default_namespace="default")


def snapshot_document(
    snapshot_source: SourceInfo,
    collection: dict[str, CollectionStatus],
    objects: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "apiVersion": SNAPSHOT_API_VERSION,
        "kind": SNAPSHOT_KIND,
        "source": snapshot_source.to_json(),
        "collection": {k: v.to_json() for k, v in sorted(collection.items())},
        "objects": objects,
    }


def write_snapshot(path: Path, document: dict[str, Any]) -> None:
    data = orjson.dumps(document)
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6)
    path.write_bytes(data)


def document_for(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot file for what a Snapshot holds (Secrets already reduced to metadata)."""
    return snapshot_document(
        snapshot.source, snapshot.collection, [o.raw for o in snapshot.all_objects()]
    )
