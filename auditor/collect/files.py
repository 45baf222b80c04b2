"""Read saved manifests and snapshot files into a Snapshot.

Accepts what `kubectl get -o yaml|json` prints (single objects, `kind: List` and `*List`),
multi-document YAML, JSON objects and arrays, and mesh-audit's own snapshot file (JSON, optionally
gzipped). Syntax errors stop the run with the file, line and column; everything else that is wrong
with a document becomes a warning and the rest is audited.
"""

from __future__ import annotations

import gzip
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import yaml

from auditor.collect.lines import document_starts, item_starts
from auditor.collect.snapshot_file import SNAPSHOT_KIND, load_snapshot_document, read_streamed
from auditor.errors import InputError, yaml_error_text
from auditor.istio.version import istio_version
from auditor.snapshot import Snapshot, SourceInfo, bulk_load

try:  # the libyaml C loader is many times faster; PyYAML without it still works
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json", ".json.gz")


class _Loader(_BaseLoader):
    """Safe loader that keeps timestamps as strings, as the Kubernetes API does.

    Strings are interned: a mesh repeats the same keys and values (`name`, `containerPort`,
    `IfNotPresent`, label values) across thousands of objects, and YAML builds a new string for
    each occurrence, where orjson reuses its keys. The parsed objects compare and read the same.
    """

    def construct_interned_str(self, node: yaml.ScalarNode) -> str:
        return sys.intern(self.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:str", _Loader.construct_interned_str)

_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}

USING_LIBYAML = _BaseLoader.__name__.startswith("C")


def discover(paths: Iterable[str]) -> list[Path]:
    """Expand directories (recursively, sorted) into the files to read."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in names:
                    if name.endswith(YAML_SUFFIXES + JSON_SUFFIXES) and not name.startswith("."):
                        found.append(Path(root) / name)
            files.extend(sorted(found))
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise InputError(f"{raw}: not a regular file or directory")
        else:
            raise InputError(f"{raw}: no such file or directory")
    return files


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"{path}: cannot read: {reason}") from exc
    return data


def _looks_like_json(path: Path, data: bytes) -> bool:
    if path.name.endswith(JSON_SUFFIXES):
        return True
    if path.name.endswith(YAML_SUFFIXES):
        return False
    return data.lstrip()[:1] in (b"{", b"[")


def _parse_json(path: Path, data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc


def _yaml_documents(path: Path, data: bytes) -> Iterator[Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    try:
        yield from yaml.load_all(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise InputError(yaml_error_text(str(path), exc)) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}") from exc


def _is_list(doc: Any) -> bool:
    kind = doc.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and "items" in doc


def add_document(
    snapshot: Snapshot, doc: Any, *, origin: str, index: int, default_namespace: str
) -> None:
    """Add one document, expanding `kind: List` / `*List` into its items."""
    if isinstance(doc, dict) and _is_list(doc):
        items = doc.get("items")
        if items is None:
            return
        if not isinstance(items, list):
            snapshot.add(items, origin=origin, document=index, default_namespace=default_namespace)
            return
        for i, item in enumerate(items):
            snapshot.add(
                item, origin=origin, document=index, item=i, default_namespace=default_namespace
            )
        return
    snapshot.add(doc, origin=origin, document=index, default_namespace=default_namespace)


STDIN = "-"
STDIN_ORIGIN = "<stdin>"


def load_paths(paths: Iterable[str], *, default_namespace: str = "default") -> Snapshot:
    """Read files and directories into one Snapshot. Raises InputError on unreadable input.

    The path `-` reads YAML or JSON (or a snapshot) from standard input, as kubectl does.
    """
    path_list = list(paths)
    files = discover(p for p in path_list if p != STDIN)
    snapshot = Snapshot(SourceInfo(type="files", paths=path_list))
    with bulk_load():
        for path in files:
            load_file(snapshot, path, default_namespace=default_namespace)
        if STDIN in path_list:
            data = sys.stdin.buffer.read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            load_data(snapshot, Path(STDIN_ORIGIN), data, default_namespace=default_namespace)
    if snapshot.source.istio_version is None:
        snapshot.source.istio_version = istio_version(
            o.raw for o in snapshot.objects("apps/Deployment")
        )
    return snapshot


def load_file(snapshot: Snapshot, path: Path, *, default_namespace: str = "default") -> None:
    origin = str(path)
    if not path.name.endswith(YAML_SUFFIXES) and read_streamed(snapshot, path, origin=origin):
        return
    load_data(snapshot, path, _read_bytes(path), default_namespace=default_namespace)


def load_data(
    snapshot: Snapshot, path: Path, data: bytes, *, default_namespace: str = "default"
) -> None:
    """Add the objects of one file's bytes (`path` names it in origins and errors)."""
    origin = str(path)
    if _looks_like_json(path, data):
        doc = _parse_json(path, data)
        if isinstance(doc, dict) and doc.get("kind") == SNAPSHOT_KIND:
            load_snapshot_document(snapshot, doc, origin=origin)
            return
        if isinstance(doc, list):  # a JSON array of objects, e.g. `jq .items`
            for i, item in enumerate(doc):
                snapshot.add(
                    item, origin=origin, document=1, item=i, default_namespace=default_namespace
                )
            return
        add_document(snapshot, doc, origin=origin, index=1, default_namespace=default_namespace)
        return
    docs = list(_yaml_documents(path, data))
    for index, doc in enumerate(docs, start=1):
        add_document(snapshot, doc, origin=origin, index=index, default_namespace=default_namespace)
    record_lines(snapshot, origin, data, docs)


def record_lines(snapshot: Snapshot, origin: str, data: bytes, docs: list[Any]) -> None:
    """Note the line each document and List item starts on (for SARIF), when it is certain."""
    text = data.decode("utf-8-sig", errors="replace")
    starts = document_starts(text)
    if len(starts) != len(docs):
        return
    for index, (doc, line) in enumerate(zip(docs, starts, strict=True), start=1):
        snapshot.lines[f"{origin}#{index}"] = line
        if isinstance(doc, dict) and _is_list(doc) and isinstance(doc.get("items"), list):
            last = starts[index] - 1 if index < len(starts) else None
            items = item_starts(text, line, last)
            if len(items) == len(doc["items"]):
                for i, item_line in enumerate(items):
                    snapshot.lines[f"{origin}#{index}.items[{i}]"] = item_line
