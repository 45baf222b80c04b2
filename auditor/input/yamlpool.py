"""Parse saved YAML manifests in worker processes (`scan --from DIR --jobs N`).

Parsing is most of what reading `kubectl get -o yaml` output costs (benchmarks/README.md): on
one core the YAML path took more than twice the scan of the same objects from a snapshot. Here
each worker process reads one file at a time, runs the fast path (auditor/input/yamlfast.py) and
sends
back each document's JSON text and the lines its documents and List items start on; the main
process reads those texts with orjson, in file order, and adds the objects as before, while the
workers parse the files ahead of it.

A file of SPLIT_MIN_BYTES or more is cut into pieces first (collect/yamlsplit.py: between
documents, or between the items of one `kind: List`); the pieces are parsed like files, by the
workers or, without workers, one after the other in this process, and their objects are added
as each piece is read (`_Cut`), so a large file never exists at full size as objects.

A worker only ever answers for text the fast path can judge. A file it declines or fails on
(anchors, tags, syntax errors, an unreadable or oversized file, a worker that died) comes back
as None and the main process reads it itself, the way it reads every file without workers: the
objects, their order, the warnings and the errors with their lines and columns are the same
either way (tests/input/test_yaml_pool.py holds both to that).

Workers are started only when they can pay for themselves: at least two CPUs this process may
use (affinity and the cgroup CPU quota, so a CronJob limited to one CPU never starts any), two
or more YAML files, and `POOL_MIN_BYTES` of them. They are forked before the first file is read,
so they start in milliseconds with this process's modules and `LIMITS` (spawning would re-run
the caller's main script, and cost an import each); a process that runs other threads
(forking it could deadlock a child on a lock one of them held) parses in itself. Workers
ignore Ctrl-C: the main process stops them.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from auditor.base.errors import InputError
from auditor.input.lines import FileLines, file_lines, item_starts
from auditor.input.reading import YAML_SUFFIXES, item_list, read_bounded
from auditor.input.yamlfast import DuplicateKey, fast_documents, fast_json, load
from auditor.input.yamlsplit import Split, split

# YAML bytes (on disk) below which the automatic choice parses in this process. Measured on 2
# CPUs: workers cost about 10 ms (the demo mesh, 0.1 MB: 40 ms in this process, 48 ms with two);
# 18 MB of namespace files took 1.4 s with two, 1.8-2.1 s without. Below a few MB there is little
# to gain, and no reason to start processes.
POOL_MIN_BYTES = 4 << 20
# files handed to each worker ahead of the one the main process is adding: enough to keep
# every worker busy, few enough that parsed files do not pile up in memory
AHEAD_PER_WORKER = 3
# A YAML file at least this large is cut into pieces (collect/yamlsplit.py), parsed by the
# workers or, without workers, one after the other in this process: about PIECES_PER_WORKER
# pieces each, of PIECE_MIN_BYTES to PIECE_MAX_BYTES. Small pieces keep memory low: parsing a
# piece holds it several times over (rapidyaml's tree, the JSON, the objects at full size).
SPLIT_MIN_BYTES = 8 << 20
PIECES_PER_WORKER = 4
PIECE_MIN_BYTES = 1 << 20
PIECE_MAX_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a worker sends back: each document's JSON text, the number of keys rapidyaml wrote
    in it (yamlfast.load refuses a document that repeated one), and its lines (None: unknown)."""

    documents: list[bytearray]
    keys: list[int]
    lines: FileLines | None

    def loaded(self) -> list[Any]:
        """The documents as objects; DuplicateKey or a JSON error when the reference must read
        the file (it then refuses a repeated key with its line)."""
        return [load(text, keys) for text, keys in zip(self.documents, self.keys, strict=True)]


class Loaded:
    """A file the workers parsed, read in the main process: `objects()` yields, in file order,
    (document number, List item number or None, object); after it, `lines` holds where the
    documents and List items start (None: unknown)."""

    def __init__(self, documents: list[Any], lines: FileLines | None) -> None:
        self._documents = documents
        self.lines = lines

    def objects(self) -> Iterator[tuple[int, int | None, Any]]:
        for number, document in enumerate(self._documents, start=1):
            yield number, None, document


def available_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by a cgroup CPU quota (a container's
    `resources.limits.cpu`), rounded down, at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, math.floor(quota))
    return max(1, cpus)


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (cgroup v2 `cpu.max`, or v1
    `cpu.cfs_quota_us` / `cpu.cfs_period_us`), or None when there is none or it cannot be read."""
    try:
        fields = (root / "cpu.max").read_text().split()
        if len(fields) == 2 and fields[0] != "max":
            return int(fields[0]) / int(fields[1])
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def worker_count(paths: list[Path], jobs: int | None) -> int:
    """How many workers to start for `paths` (0: parse in this process). `jobs` None is
    automatic (the available CPUs, when the YAML is large enough to pay for them)."""
    if jobs is not None and jobs <= 1:
        return 0
    if threading.active_count() > 1:
        return 0
    sizes = [_size(p) for p in paths if p.name.endswith(YAML_SUFFIXES)]
    # a file large enough to be cut (collect/yamlsplit.py) keeps any number of workers busy
    large = any(size >= SPLIT_MIN_BYTES for size in sizes)
    if len(sizes) < 2 and not large:
        return 0
    if jobs is None:
        if sum(sizes) < POOL_MIN_BYTES:
            return 0
        jobs = available_cpus()
        if jobs <= 1:
            return 0
    return jobs if large else min(jobs, len(sizes))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def parsed_files(paths: list[Path], workers: int) -> Iterator[tuple[Path, Loaded | None]]:
    """Each of `paths` in order, with its documents as workers parsed them, or None for the
    files the caller reads itself (not YAML by name, declined by the fast path, failed in a
    worker, or JSON that does not read). With no workers, a file large enough to be cut is
    parsed here piece by piece (so its objects never all exist at full size at once); every
    other file is None."""
    if workers < 1:
        for path in paths:
            yield path, _cut_file(path, 1, _Inline)
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
    )
    queue: deque[tuple[Path, _Job | None, int]] = deque()
    todo = deque(paths)
    ahead = workers * AHEAD_PER_WORKER
    in_flight = 0
    broken = False
    try:
        while queue or todo:
            while todo and (not queue or (not broken and in_flight < ahead)):
                path = todo.popleft()
                job = None
                if not broken:
                    try:
                        job = _submit(pool, path, workers)
                    except Exception:  # the pool broke: a worker died
                        broken = True
                submitted = 0 if job is None else job.submitted
                queue.append((path, job, submitted))
                in_flight += submitted
            path, job, submitted = queue.popleft()
            in_flight -= submitted
            loaded: Loaded | None = None
            if job is not None and not broken:
                try:
                    loaded = job.loaded()
                except Exception:
                    # a worker died (out of memory, killed): the rest is read in this process
                    broken = True
            yield path, loaded
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass(slots=True)
class _Job:
    """The work submitted for one file: the whole file, or the pieces of a cut one."""

    whole: _Pending | None
    cut: _Cut | None = None

    @property
    def submitted(self) -> int:
        return self.cut.submitted if self.cut is not None else 1

    def loaded(self) -> Loaded | None:
        if self.cut is not None:
            return self.cut
        assert self.whole is not None
        whole = self.whole.result()
        if whole is None:
            return None
        try:
            return Loaded(whole.loaded(), whole.lines)
        except (orjson.JSONDecodeError, DuplicateKey):
            return None


def _submit(pool: ProcessPoolExecutor, path: Path, workers: int) -> _Job | None:
    if not path.name.endswith(YAML_SUFFIXES):
        return None
    cut = _cut_file(path, workers, lambda kind, text: pool.submit(_parse_piece, kind, text))
    if cut is not None:
        return _Job(None, cut)
    return _Job(pool.submit(_parse, str(path)))


class _Pending(Protocol):
    def result(self) -> Parsed | None: ...


class _Inline:
    """A piece parsed in this process when its result is asked for (no workers)."""

    def __init__(self, kind: str, text: bytes) -> None:
        self._kind = kind
        self._text = text

    def result(self) -> Parsed | None:
        text, self._text = self._text, b""
        return _parse_piece(self._kind, text)


def _cut_file(path: Path, workers: int, submit: Callable[[str, bytes], _Pending]) -> _Cut | None:
    """A YAML file of SPLIT_MIN_BYTES or more, cut into pieces (collect/yamlsplit.py) with the
    first ones submitted; None for a file that is not cut."""
    if not path.name.endswith(YAML_SUFFIXES) or _size(path) < SPLIT_MIN_BYTES:
        return None
    try:
        data = read_bounded(path)
    except InputError:
        return None  # the caller reads it again, and reports why it cannot
    share = len(data) // (workers * PIECES_PER_WORKER)
    cut = split(data, max(PIECE_MIN_BYTES, min(PIECE_MAX_BYTES, share)))
    if cut is None or (cut.kind == "items" and not _list_skeleton(cut.skeleton)):
        return None
    return _Cut(path, cut, submit, workers * AHEAD_PER_WORKER)


def _list_skeleton(skeleton: bytes | None) -> bool:
    """Whether a List's skeleton (`items: []` for its items) reads as a `kind: *List` document
    whose items are a list: then its items are what the snapshot adds, one by one."""
    documents = None if skeleton is None else fast_documents(skeleton)
    if documents is None or len(documents) != 1 or not isinstance(documents[0], dict):
        return False
    kind = documents[0].get("kind")
    return isinstance(kind, str) and kind.endswith("List") and documents[0].get("items") == []


class _Cut(Loaded):
    """A file cut into pieces (collect/yamlsplit.py), read piece by piece as the workers finish
    them, so only a few pieces' objects exist at full size at once.

    A piece the fast path refused (or a worker that died) means the cut may have fallen inside
    something that spans lines: the main process then parses the whole file as it would without
    workers (raising its errors with their lines) and yields what was not yielded yet. Every
    piece before the refused one parsed on its own, so nothing open crossed its end (a quoted
    scalar or flow collection left open leaves the piece unparseable): what they yielded is what
    the whole file holds."""

    def __init__(
        self, path: Path, cut: Split, submit: Callable[[str, bytes], _Pending], ahead: int
    ) -> None:
        super().__init__([], None)
        self._path = path
        self._kind = cut.kind
        self._skeleton = cut.skeleton
        self._submit = submit
        self._ahead = ahead
        self._todo = deque(cut.pieces)
        # (where a piece starts, its result to come), the first `ahead` submitted now: later
        # ones as these are read, so parsed pieces never pile up
        self._queue: deque[tuple[int, _Pending]] = deque()
        self._top_up()
        self.submitted = len(self._queue)

    def _top_up(self) -> None:
        while self._todo and len(self._queue) < self._ahead:
            try:
                pending = self._submit(self._kind, bytes(self._todo[0].text))
            except Exception:  # the pool broke: what is left comes from the whole file
                return
            self._queue.append((self._todo.popleft().first_line, pending))

    def objects(self) -> Iterator[tuple[int, int | None, Any]]:
        items = self._kind == "items"
        yielded = 0
        starts: list[int] = []
        found: list[list[int] | None] = []
        known = True
        while self._queue or self._todo:
            if not self._queue:
                loaded = None  # a piece could not be submitted
            else:
                first_line, pending = self._queue.popleft()
                loaded = self._read(pending, items)
                del pending  # a future keeps its result
                self._top_up()
            if loaded is None:
                self._todo.clear()
                self._queue.clear()
                yield from self._whole(yielded)
                return
            documents, lines = loaded
            shift = first_line - 1
            if items:
                [chunk] = documents
                for item in chunk:
                    yield 1, yielded, item
                    yielded += 1
                item_lines = None if lines is None else lines[1][0]
                if item_lines is None or len(item_lines) != len(chunk):
                    known = False
                else:
                    starts.extend(line + shift for line in item_lines)
            else:
                for document in documents:
                    yielded += 1
                    yield yielded, None, document
                if lines is None:
                    known = False
                else:
                    starts.extend(line + shift for line in lines[0])
                    found.extend(
                        None if at is None else [line + shift for line in at] for at in lines[1]
                    )
        if not known:
            self.lines = None
        elif items:
            skeleton_lines = file_lines(self._skeleton or b"", [False])
            self.lines = None if skeleton_lines is None else (skeleton_lines[0], [starts])
        else:
            self.lines = (starts, found)

    @staticmethod
    def _read(pending: _Pending, items: bool) -> tuple[list[Any], FileLines | None] | None:
        """A piece's documents (for List items: one list), or None to read the whole file."""
        try:
            parsed = pending.result()
            if parsed is None:
                return None
            documents = parsed.loaded()
        except Exception:  # JSON that does not read, or a worker that died
            return None
        if items and (len(documents) != 1 or not isinstance(documents[0], list)):
            return None
        return documents, parsed.lines

    def _whole(self, yielded: int) -> Iterator[tuple[int, int | None, Any]]:
        """What the whole file holds past the first `yielded` documents (or List items)."""
        from auditor.input.yamlsafe import yaml_documents

        data = read_bounded(self._path)
        documents = list(yaml_documents(str(self._path), data))
        lists = [item_list(document) is not None for document in documents]
        self.lines = file_lines(data, lists)
        if self._kind == "documents" or yielded == 0:
            for number, document in enumerate(documents[yielded:], start=yielded + 1):
                yield number, None, document
            return
        items = item_list(documents[0]) if len(documents) == 1 else None
        if items is None:
            raise InputError(
                f"{self._path}: read in pieces, then as a whole, it is not one List document "
                "(report this)"
            )
        for number, item in enumerate(items[yielded:], start=yielded):
            yield 1, number, item


def _start_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _parse(name: str) -> Parsed | None:
    """In a worker: one file through the fast path, or None for the main process to read."""
    try:
        return _parse_piece("documents", read_bounded(Path(name)))
    except Exception:
        return None


def _parse_piece(kind: str, data: bytes) -> Parsed | None:
    """In a worker: YAML text through the fast path: documents (a file, or a piece of one cut
    between documents), or a piece of a List's items (one sequence, with its items' lines)."""
    try:
        documents = fast_json(data)
        if documents is None:
            return None
        if kind == "items":
            if len(documents) != 1:
                return None
            text = "items:\n" + data.decode("ascii")
            found = [line - 1 for line in item_starts(text, 1, None, plain=True)]
            return Parsed([documents[0].json], [documents[0].keys], ([1], [found]))
        lines = file_lines(data, [document.has_item_list for document in documents])
        return Parsed([document.json for document in documents], [d.keys for d in documents], lines)
    except Exception:
        return None
