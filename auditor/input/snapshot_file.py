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

Layout: `write_snapshot` puts everything but the objects on the first line and then one object
per line (`{"apiVersion":...,"objects":[` / `{...},` ... / `]}`): still one JSON document for jq
and any JSON reader, but `read_streamed` can parse it an object at a time. Parsing the whole
document at once holds the decompressed text, the parser's own tree (orjson builds one as large
again) and the Python objects together; for a 100k-object mesh that was 1.7 GB at the peak, for
1.1 GB of objects the audit keeps.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

from auditor.base.atomic import write_atomic
from auditor.base.errors import InputError
from auditor.base.limits import LIMITS
from auditor.input.compaction import compact_early
from auditor.input.snapshot import (
    COLLECTION_STATUSES,
    CollectionStatus,
    Snapshot,
    SourceInfo,
)

SNAPSHOT_KIND = "MeshAuditSnapshot"
SNAPSHOT_API_VERSION = "mesh-audit.dev/v1"


def load_snapshot_document(
    snapshot: Snapshot,
    doc: dict[str, Any],
    *,
    origin: str,
    compacted: list[bool] | None = None,
) -> None:
    """`compacted[i]`: object i went through `compact_early` and it answered compacted."""
    objects = read_header(snapshot, doc, origin=origin)
    for i, obj in enumerate(objects):
        snapshot.add(
            obj,
            origin=origin,
            document=1,
            item=i,
            default_namespace="default",
            compact=compacted[i] if compacted is not None else False,
        )


def read_header(snapshot: Snapshot, doc: dict[str, Any], *, origin: str) -> list[Any]:
    """Check the document, take its source and collection status; returns its objects list."""
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
    if source is not None and not isinstance(source, dict):
        raise InputError(f"{origin}: source: expected a mapping")
    if isinstance(source, dict) and snapshot.source.type == "files":
        snapshot.source.type = "snapshot"
        for key in ("context", "server", "kubernetes_version", "istio_version", "collected_at"):
            value = source.get(key)
            if isinstance(value, str):
                setattr(snapshot.source, key, value)
        namespaces = source.get("namespaces")
        if isinstance(namespaces, list):
            if not all(isinstance(n, str) for n in namespaces):
                raise InputError(f"{origin}: source.namespaces: expected a list of strings")
            snapshot.source.namespaces = list(namespaces)
    collection = doc.get("collection")
    if collection is not None and not isinstance(collection, dict):
        raise InputError(f"{origin}: collection: expected a mapping")
    for key, entry in (collection or {}).items():
        where = f"{origin}: collection[{key!r}]"
        if not isinstance(entry, dict) or entry.get("status") not in COLLECTION_STATUSES:
            raise InputError(f"{where}: has no valid status ({', '.join(COLLECTION_STATUSES)})")
        count = entry.get("count") or 0
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InputError(f"{where}.count: expected a non-negative integer")
        texts = {k: entry.get(k) or "" for k in ("message", "version")}
        for name, value in texts.items():
            if not isinstance(value, str):
                raise InputError(f"{where}.{name}: expected a string")
        snapshot.collection[str(key)] = CollectionStatus(
            status=str(entry["status"]),
            message=texts["message"],
            count=count,
            version=texts["version"],
        )
    return objects


# The first line of a snapshot in the streamed layout, up to the objects.
_HEAD_PREFIX = f'{{"apiVersion":"{SNAPSHOT_API_VERSION}","kind":"{SNAPSHOT_KIND}"'.encode()
_HEAD_SUFFIX = b',"objects":['
_END = b"]}"
_MAX_HEAD = 1 << 24


def read_streamed(snapshot: Snapshot, path: Path, *, origin: str) -> bool:
    """Read a snapshot in the streamed layout object by object; False (nothing read) otherwise.

    Anything unexpected (another layout, a broken or cut-short line, an unreadable file) returns
    False before anything is added, and the caller parses the file as one document, which gives
    the same objects, or the error a user expects, with its line and column.
    """
    try:
        if path.stat().st_size > LIMITS.max_streamed_bytes:
            return False  # the whole-document reader refuses it with the limit named
        with _open(path) as fh:
            if fh.read(len(_HEAD_PREFIX)) != _HEAD_PREFIX:
                return False
            head_line = fh.readline(_MAX_HEAD)
            head = _HEAD_PREFIX + head_line.rstrip(b"\r\n")
            if not head.endswith(_HEAD_SUFFIX):
                return False
            read = _object_lines(fh, origin, already=len(_HEAD_PREFIX) + len(head_line))
    except (OSError, EOFError, zlib.error):  # BadGzipFile is an OSError
        return False
    if read is None:
        return False
    objects, compacted = read
    try:
        doc = orjson.loads(head + _END)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(doc, dict):
        return False
    doc["objects"] = objects
    load_snapshot_document(snapshot, doc, origin=origin, compacted=compacted)
    return True


def _object_lines(
    fh: BinaryIO, origin: str, *, already: int = 0
) -> tuple[list[Any], list[bool]] | None:
    """One object per line, a comma after each but the last, then `]}`; None if not so.

    Each object is compacted as it is read where that gives what `Snapshot.add` would store
    (`compact_early`), so a large snapshot never exists at full size all at once.

    A line (one object) over `max_object_line_bytes`, or more than `max_streamed_bytes` in all
    (a gzip bomb; `already`: the bytes of the head line before them), is an InputError: nothing
    past the limit is read.
    """
    objects: list[Any] = []
    compacted: list[bool] = []
    comma = True  # whether another object may follow
    line_cap, total_cap = LIMITS.max_object_line_bytes, LIMITS.max_streamed_bytes
    total = already
    while True:
        raw = fh.readline(line_cap + 1)
        if not raw:
            break
        total += len(raw)
        if len(raw) > line_cap:
            raise InputError(
                f"{origin}: an object line is longer than {line_cap} bytes, the limit for one "
                "object (docs/limits.md)"
            )
        if total > total_cap:
            raise InputError(
                f"{origin}: decompressed content is larger than {total_cap} bytes, the input "
                "limit (docs/limits.md)"
            )
        line = raw.rstrip(b"\r\n")
        if line == _END:
            if objects and comma:
                return None  # a trailing comma
            return None if fh.read(1 << 16).strip() else (objects, compacted)
        if not comma:
            return None
        comma = line.endswith(b",")
        try:
            obj, done = compact_early(orjson.loads(line[:-1] if comma else line))
        except orjson.JSONDecodeError:
            return None
        objects.append(obj)
        compacted.append(done)
    return None  # cut short


def _open(path: Path) -> BinaryIO:
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        # read through a large buffer: GzipFile.readline itself costs a Python call per line
        # and a decompression call per 8 KiB (a third of gunzipping a large snapshot)
        return cast(BinaryIO, io.BufferedReader(gzip.open(path, "rb"), buffer_size=1 << 20))
    return path.open("rb")


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
    """Write in the streamed layout (see the module docstring); gzipped for `*.gz`."""
    write_atomic(path, encode_snapshot(document, gzipped=path.name.endswith(".gz")))


def encode_snapshot(document: dict[str, Any], *, gzipped: bool = False) -> bytes:
    head = {k: v for k, v in document.items() if k != "objects"}
    lines = [orjson.dumps(head)[:-1] + _HEAD_SUFFIX]
    objects = document.get("objects") or []
    lines.extend(orjson.dumps(obj) + b"," for obj in objects)
    if objects:
        lines[-1] = lines[-1][:-1]
    lines.append(_END)
    data = b"\n".join(lines) + b"\n"
    if gzipped:
        data = gzip.compress(data, compresslevel=6, mtime=0)  # same bytes for the same snapshot
    return data


def document_for(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot file for what a Snapshot holds (Secrets already reduced to metadata)."""
    return snapshot_document(
        snapshot.source, snapshot.collection, [o.raw for o in snapshot.all_objects()]
    )
