"""`mesh-audit fleet SOURCE...`: find the newest report of each cluster in files, directories or
an `s3://` prefix of uploads (auditor/run/deliver/upload.py's layout).

Where a cluster's name comes from: the `<cluster>` key segment of an upload; for a directory of
reports, the folder holding the cluster's report (`out/<context>/report.json` as
`scan --context a --context b` writes it, or `<cluster>/latest/report.json`); for a lone file, the
report's context. When one cluster is found twice, its newest report (by generated_at) is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from auditor.base.errors import InputError
from auditor.run.deliver.summary import cluster_name

REPORT = "report.json"
LATEST = "latest"
MAX_DEPTH = 3


@dataclass(frozen=True, slots=True)
class ClusterReport:
    cluster: str
    origin: str  # the file or object it was read from
    data: Mapping[str, Any]


def _parse(raw: bytes, origin: str) -> Mapping[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{origin}: not a mesh-audit report.json: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise InputError(f"{origin}: not a mesh-audit report.json (no findings list)")
    if not isinstance(data.get("summary"), dict) or "generated_at" not in data:
        raise InputError(f"{origin}: not a mesh-audit report.json (no summary or generated_at)")
    return data


STAMP = re.compile(r"^\d{8}T\d{6}Z$")


def _name_for_file(path: Path, data: Mapping[str, Any]) -> str:
    """A lone file's cluster: its kubeconfig context when it has one (not `in-cluster`), else
    the folder it sits in (above `latest/` or a timestamp folder), else the file's stem."""
    context = str((data.get("source") or {}).get("context") or "")
    if context and context != "in-cluster":
        return cluster_name(data)
    folders = [p.name for p in path.resolve().parents if p.name]
    while folders and (folders[0] == LATEST or STAMP.match(folders[0])):
        folders.pop(0)
    raw = folders[0] if path.name == REPORT and folders else path.stem
    return cluster_name({}, raw)


def _read_file(path: Path, cluster: str | None) -> ClusterReport:
    try:
        raw = path.read_bytes()
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
    for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        yield from _cluster_dirs(child, depth + 1)


def _from_local(source: str) -> list[ClusterReport]:
    path = Path(source)
    if path.is_file():
        return [_read_file(path, None)]
    if path.is_dir():
        found = [_read_file(file, name) for name, file in _cluster_dirs(path)]
        if not found:
            raise InputError(f"{source}: no report.json in it or its cluster folders")
        return found
    raise InputError(f"{source}: no such file or directory")


def _from_s3(source: str) -> list[ClusterReport]:
    from auditor.run.deliver.upload import parse_target, require_client_library, s3_client

    target = parse_target(source.replace("s3://", "s3://", 1))
    require_client_library()
    client = s3_client()
    base = target.key() + "/" if target.prefix else ""
    try:
        clusters: list[str] = []
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=target.bucket, Prefix=base, Delimiter="/"):
            for common in page.get("CommonPrefixes") or []:
                clusters.append(str(common["Prefix"])[len(base) :].strip("/"))
        found: list[ClusterReport] = []
        for cluster in sorted(clusters):
            key = target.key(cluster, LATEST, REPORT)
            try:
                body = client.get_object(Bucket=target.bucket, Key=key)["Body"].read()
            except Exception as exc:
                code = ((getattr(exc, "response", None) or {}).get("Error") or {}).get("Code")
                if code in ("NoSuchKey", "404"):
                    continue  # a folder that is not a cluster's uploads
                raise
            found.append(ClusterReport(cluster, f"s3://{target.bucket}/{key}", _parse(body, key)))
    except InputError:
        raise
    except Exception as exc:
        from auditor.run.deliver.upload import _reason

        raise InputError(f"{source}: cannot read: {_reason(exc)}") from None
    if not found:
        raise InputError(f"{source}: no <cluster>/latest/report.json under it")
    return found


def load_sources(sources: Iterable[str]) -> list[ClusterReport]:
    """The newest report per cluster over every source, sorted by cluster name."""
    newest: dict[str, ClusterReport] = {}
    for source in sources:
        found = _from_s3(source) if source.startswith("s3://") else _from_local(source)
        for item in found:
            kept = newest.get(item.cluster)
            if kept is None or str(item.data["generated_at"]) > str(kept.data["generated_at"]):
                newest[item.cluster] = item
    if not newest:
        raise InputError("fleet: give at least one report file, directory or s3:// prefix")
    return [newest[name] for name in sorted(newest)]
