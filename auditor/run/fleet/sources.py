"""`mesh-audit fleet SOURCE...`: find the newest report of each cluster in files, directories or
an `s3://` prefix of uploads (auditor/run/deliver/upload.py's layout).

Where a cluster's name comes from: the `<cluster>` key segment of an upload; for a directory of
reports, the folder holding the cluster's report (`out/<context>/report.json` as
`scan --context a --context b` writes it, or `<cluster>/latest/report.json`); for a lone file, the
report's context. When one cluster is found twice, its newest report (by generated_at) is kept.

In a bucket, `<cluster>/latest.json` names the newest complete run's folder (one object, so it
never names a half-written run); a `<cluster>/latest/report.json` of older uploads is read when
there is no pointer. A report that cannot be read (missing, too large, not JSON, not a report)
is listed as unreadable with its one-line reason and the others go on; every read is capped at
the input limit (docs/limits.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from auditor.base.errors import InputError
from auditor.base.limits import LIMITS
from auditor.input.reading import read_bounded
from auditor.run.deliver.summary import cluster_name
from auditor.run.deliver.upload import Target

REPORT = "report.json"
LATEST = "latest"
MAX_DEPTH = 3


POINTER = "latest.json"
MAX_POINTER = 1 << 20


@dataclass(frozen=True, slots=True)
class ClusterReport:
    cluster: str
    origin: str  # the file or object it was read from
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Unreadable:
    origin: str  # a file, a folder, an object or a whole source
    error: str  # one line


@dataclass(frozen=True, slots=True)
class Found:
    reports: list[ClusterReport]
    unreadable: list[Unreadable]


def _parse(raw: bytes, origin: str) -> Mapping[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{origin}: not a mesh-audit report.json: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise InputError(f"{origin}: not a mesh-audit report.json (no findings list)")
    if not isinstance(data.get("summary"), dict) or not isinstance(data.get("generated_at"), str):
        raise InputError(f"{origin}: not a mesh-audit report.json (no summary or generated_at)")
    return data


STAMP = re.compile(r"^\d{8}T\d{6}Z$")


def _name_for_file(path: Path, data: Mapping[str, Any]) -> str:
    """A lone file's cluster: its kubeconfig context when it has one (not `in-cluster`), else
    the folder it sits in (above `latest/` or a timestamp folder), else the file's stem."""
    source = data.get("source")
    context = str(source.get("context") or "") if isinstance(source, dict) else ""
    if context and context != "in-cluster":
        return cluster_name(data)
    folders = [p.name for p in path.resolve().parents if p.name]
    while folders and (folders[0] == LATEST or STAMP.match(folders[0])):
        folders.pop(0)
    raw = folders[0] if path.name == REPORT and folders else path.stem
    return cluster_name({}, raw)


def _read_file(path: Path, cluster: str | None) -> ClusterReport:
    try:
        raw = read_bounded(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    data = _parse(raw, str(path))
    return ClusterReport(cluster or _name_for_file(path, data), str(path), data)


def _cluster_dirs(root: Path, depth: int = 0) -> Iterator[tuple[str, Path]]:
    """(cluster, report file) under a directory: `X/latest/report.json` beats `X/report.json`."""
    latest = root / LATEST / REPORT
    if latest.is_file():
        yield root.name, latest
        return
    if (root / REPORT).is_file():
        yield root.name, root / REPORT
        return
    if depth >= MAX_DEPTH:
        return
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return  # an unreadable folder holds no report we could name
    for child in children:
        yield from _cluster_dirs(child, depth + 1)


def _from_local(source: str) -> Found:
    path = Path(source)
    files: list[tuple[str | None, Path]]
    if path.is_file():
        files = [(None, path)]
    elif path.is_dir():
        files = [(name, file) for name, file in _cluster_dirs(path)]
        if not files:
            raise InputError(f"{source}: no report.json in it or its cluster folders")
    else:
        raise InputError(f"{source}: no such file or directory")
    found = Found([], [])
    for name, file in files:
        try:
            found.reports.append(_read_file(file, name))
        except InputError as exc:
            found.unreadable.append(Unreadable(str(file), str(exc)))
    return found


def _code(exc: Exception) -> str | None:
    error = (getattr(exc, "response", None) or {}).get("Error") or {}
    return str(error.get("Code")) if isinstance(error, dict) and error.get("Code") else None


def _get(client: Any, bucket: str, key: str, cap: int) -> bytes | None:
    """An object's bytes (None when there is no such key); larger than `cap` is an error."""
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
    except Exception as exc:
        if _code(exc) in ("NoSuchKey", "404"):
            return None
        raise
    data: bytes = body.read(cap + 1)
    if len(data) > cap:
        raise InputError(f"s3://{bucket}/{key}: larger than {cap} bytes (docs/limits.md)")
    return data


def _latest_key(client: Any, bucket: str, target: Target, cluster: str) -> str | None:
    """The key of a cluster's newest complete report: through latest.json, else latest/."""
    raw = _get(client, bucket, target.key(cluster, POINTER), MAX_POINTER)
    if raw is None:
        return target.key(cluster, LATEST, REPORT)  # uploads of older versions
    try:
        pointer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pointer = None
    run = pointer.get("run") if isinstance(pointer, dict) else None
    if not isinstance(run, str) or not STAMP.match(run):
        raise InputError(f"s3://{bucket}/{target.key(cluster, POINTER)}: not a latest pointer")
    return target.key(cluster, run, REPORT)


def _from_s3(source: str) -> Found:
    from auditor.run.deliver.upload import _reason, parse_target, require_client_library, s3_client

    target = parse_target(source)
    require_client_library()
    client = s3_client()
    base = target.key() + "/" if target.prefix else ""
    try:
        clusters: list[str] = []
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=target.bucket, Prefix=base, Delimiter="/"):
            for common in page.get("CommonPrefixes") or []:
                clusters.append(str(common["Prefix"])[len(base) :].strip("/"))
    except Exception as exc:
        raise InputError(f"{source}: cannot read: {_reason(exc)}") from None
    found = Found([], [])
    for cluster in sorted(clusters):
        where = f"s3://{target.bucket}/{target.key(cluster)}/"
        try:
            key = _latest_key(client, target.bucket, target, cluster)
            body = None if key is None else _get(client, target.bucket, key, LIMITS.max_file_bytes)
            if body is None:
                continue  # a folder that is not a cluster's uploads
            origin = f"s3://{target.bucket}/{key}"
            found.reports.append(ClusterReport(cluster, origin, _parse(body, origin)))
        except InputError as exc:
            found.unreadable.append(Unreadable(where, str(exc)))
        except Exception as exc:
            found.unreadable.append(Unreadable(where, f"{where}: cannot read: {_reason(exc)}"))
    if not found.reports and not found.unreadable:
        raise InputError(f"{source}: no <cluster>/latest.json or latest/report.json under it")
    return found


def load_sources(sources: Iterable[str]) -> Found:
    """The newest report per cluster over every source, sorted by cluster name, and what could
    not be read (a source that cannot be read at all is one unreadable entry)."""
    newest: dict[str, ClusterReport] = {}
    unreadable: list[Unreadable] = []
    for source in sources:
        try:
            found = _from_s3(source) if source.startswith("s3://") else _from_local(source)
        except InputError as exc:
            unreadable.append(Unreadable(source, str(exc)))
            continue
        unreadable.extend(found.unreadable)
        for item in found.reports:
            kept = newest.get(item.cluster)
            if kept is None or str(item.data["generated_at"]) > str(kept.data["generated_at"]):
                newest[item.cluster] = item
    if not newest and not unreadable:
        raise InputError("fleet: give at least one report file, directory or s3:// prefix")
    return Found([newest[name] for name in sorted(newest)], unreadable)
