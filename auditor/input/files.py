"""Read saved manifests and snapshot files into a Snapshot.

Accepts what `kubectl get -o yaml|json` prints (single objects, `kind: List` and `*List`),
multi-document YAML, JSON objects and arrays, and mesh-audit's own snapshot file (JSON, optionally
gzipped). Syntax errors stop the run with the file, line and column; everything else that is wrong
with a document becomes a warning and the rest is audited.
"""

from __future__ import annotations

import gzip
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from auditor.base.errors import InputError
from auditor.base.limits import LIMITS
from auditor.input.istiod_image import istio_version
from auditor.input.lines import FileLines, file_lines
from auditor.input.reading import (
    JSON_SUFFIXES,
    YAML_SUFFIXES,
    UnreadableInput,
    is_list,
    item_list,
    read_bounded,
)
from auditor.input.sharing import bulk_load
from auditor.input.snapshot import InputWarning, Snapshot, SourceInfo
from auditor.input.snapshot_file import SNAPSHOT_KIND, load_snapshot_document, read_streamed
from auditor.input.yamlsafe import USING_LIBYAML, yaml_documents

if TYPE_CHECKING:
    from auditor.input.yamlpool import Loaded

__all__ = ["USING_LIBYAML", "load_paths", "yaml_documents"]


@dataclass(slots=True)
class Discovered:
    """The files to read, and what under the input directories could not be (as warnings)."""

    files: list[Path] = field(default_factory=list)
    skipped: list[InputWarning] = field(default_factory=list)
    named: set[Path] = field(default_factory=set)  # files given by name (not found in a dir)


def discover(paths: Iterable[str]) -> list[Path]:
    """Expand directories (recursively, sorted) into the files to read."""
    return discover_inputs(paths).files


def discover_inputs(paths: Iterable[str]) -> Discovered:
    """Expand directories into regular files; skip, with a warning, what cannot be read.

    Only regular files are read from directories: a FIFO would block forever, a device (or a
    link to /dev/zero) never ends. Unreadable subdirectories and broken links are warnings too.
    A path named on the command line must itself be a readable regular file or directory.
    """
    found = Discovered()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files: list[Path] = []

            def unreadable(exc: OSError, top: str = raw) -> None:
                found.skipped.append(_skip(exc.filename or top, _reason(exc)))

            for root, dirs, names in os.walk(path, onerror=unreadable):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in names:
                    if name.endswith(YAML_SUFFIXES + JSON_SUFFIXES) and not name.startswith("."):
                        candidate = Path(root) / name
                        problem = _not_regular(candidate)
                        if problem is None:
                            files.append(candidate)
                        else:
                            found.skipped.append(_skip(str(candidate), problem))
                if len(files) > LIMITS.max_files:
                    raise InputError(
                        f"{raw}: more than {LIMITS.max_files} files to read (docs/limits.md)"
                    )
            found.files.extend(sorted(files))
        elif path.is_file():
            found.files.append(path)
            found.named.add(path)
        elif path.exists():
            raise InputError(f"{raw}: not a regular file or directory")
        else:
            raise InputError(f"{raw}: no such file or directory")
    return found


def _skip(where: str, problem: str) -> InputWarning:
    return InputWarning(source=str(where), document=None, problem=f"{problem}; not read")


def _reason(exc: OSError) -> str:
    return f"cannot read: {exc.strerror or exc}"


def _not_regular(path: Path) -> str | None:
    """Why `path` (found in a directory) is not read, or None for a regular file."""
    try:
        mode = path.stat().st_mode  # follows links: a link is judged by what it points to
    except OSError as exc:
        if path.is_symlink():
            return f"broken symbolic link ({exc.strerror or exc})"
        return _reason(exc)
    if stat.S_ISREG(mode):
        return None
    what = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a directory"
        if stat.S_ISDIR(mode)
        else "not a regular file"
    )
    via = " (through a symbolic link)" if path.is_symlink() else ""
    return f"{what}{via}, not a regular file"


_read_bytes = read_bounded


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


def read_single_yaml(path: Path) -> Any:
    """One YAML document from a file (waivers, mesh config), with the loader's checks and
    bounds; an unreadable file or a second document is one InputError line."""
    docs = list(yaml_documents(str(path), read_bounded(path)))
    if len(docs) > 1:
        raise InputError(f"{path}: expected one YAML document, found {len(docs)}")
    return docs[0] if docs else None


def _yaml_documents(path: Path, data: bytes) -> Iterator[Any]:
    return yaml_documents(str(path), data)


def add_document(
    snapshot: Snapshot, doc: Any, *, origin: str, index: int, default_namespace: str
) -> None:
    """Add one document, expanding `kind: List` / `*List` into its items."""
    if isinstance(doc, dict) and is_list(doc):
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


def load_paths(
    paths: Iterable[str], *, default_namespace: str = "default", jobs: int | None = None
) -> Snapshot:
    """Read files and directories into one Snapshot. Raises InputError on unreadable input.

    Inside a directory, what cannot be read (permissions, FIFOs, devices, broken links) is a
    warning and the rest is audited; when nothing at all could be read that is an error.
    The path `-` reads YAML or JSON (or a snapshot) from standard input, as kubectl does.
    `jobs`: worker processes that parse YAML files (collect/yamlpool.py); None decides from the
    CPUs and the input's size, 1 parses everything in this process.
    """
    path_list = list(paths)
    found = discover_inputs([p for p in path_list if p != STDIN])
    snapshot = Snapshot(SourceInfo(type="files", paths=path_list))
    snapshot.warnings.extend(found.skipped)
    read = 0
    from auditor.input.yamlpool import parsed_files, worker_count

    workers = worker_count(found.files, jobs)
    with bulk_load():
        for path, loaded in parsed_files(found.files, workers):
            try:
                if loaded is None:
                    load_file(snapshot, path, default_namespace=default_namespace)
                else:
                    add_loaded(snapshot, path, loaded, default_namespace)
            except UnreadableInput as exc:
                if path in found.named:
                    raise
                snapshot.warnings.append(_skip(str(path), str(exc).removeprefix(f"{path}: ")))
                continue
            read += 1
        if STDIN in path_list:
            data = sys.stdin.buffer.read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            load_data(snapshot, Path(STDIN_ORIGIN), data, default_namespace=default_namespace)
            read += 1
    if read == 0 and (found.skipped or found.files):
        first = snapshot.warnings[0]
        raise InputError(
            f"nothing could be read from {', '.join(path_list)}: {first.source}: {first.problem}"
        )
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


def add_loaded(snapshot: Snapshot, path: Path, loaded: Loaded, default_namespace: str) -> None:
    """Add the objects of a file the workers parsed (collect/yamlpool.py), in file order: whole
    documents, or (from a List cut into pieces) its items one by one."""
    origin = str(path)
    counts: list[int | None] = []  # per document: how many List items, or None
    for number, item, obj in loaded.objects():
        if item is None:
            add_document(
                snapshot, obj, origin=origin, index=number, default_namespace=default_namespace
            )
            items = item_list(obj)
            counts.append(None if items is None else len(items))
            continue
        snapshot.add(
            obj, origin=origin, document=number, item=item, default_namespace=default_namespace
        )
        if item == 0:
            counts.append(0)
        counts[-1] = (counts[-1] or 0) + 1
    put_lines(snapshot, origin, counts, loaded.lines)


def record_lines(snapshot: Snapshot, origin: str, data: bytes, docs: list[Any]) -> None:
    """Note the line each document and List item starts on (for SARIF), when it is certain."""
    counts = [None if (items := item_list(doc)) is None else len(items) for doc in docs]
    put_lines(snapshot, origin, counts, file_lines(data, [n is not None for n in counts]))


def put_lines(
    snapshot: Snapshot, origin: str, item_counts: list[int | None], lines: FileLines | None
) -> None:
    """Record `lines` (collect/lines.file_lines) for a file whose documents hold `item_counts`
    List items each (None: not a List): a List's item lines only when they were found for it
    and are as many as its items."""
    if lines is None or len(lines[0]) != len(item_counts):
        return
    starts, items = lines
    for index, (count, line, found) in enumerate(
        zip(item_counts, starts, items, strict=True), start=1
    ):
        snapshot.lines[f"{origin}#{index}"] = line
        if found is not None and count is not None and len(found) == count:
            for i, item_line in enumerate(found):
                snapshot.lines[f"{origin}#{index}.items[{i}]"] = item_line
