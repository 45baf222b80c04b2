"""Parse saved YAML manifests in worker processes (`scan --from DIR --jobs N`).

Parsing is most of what reading `kubectl get -o yaml` output costs (benchmarks/README.md): on
one core the YAML path took more than twice the scan of the same objects from a snapshot. Here
each worker process reads one file at a time, runs the fast path (auditor/yamlfast.py) and sends
back each document's JSON text and the lines its documents and List items start on; the main
process reads those texts with orjson, in file order, and adds the objects as before, while the
workers parse the files ahead of it.

A worker only ever answers for text the fast path can judge. A file it declines or fails on
(anchors, tags, syntax errors, an unreadable or oversized file, a worker that died) comes back
as None and the main process reads it itself, the way it reads every file without workers: the
objects, their order, the warnings and the errors with their lines and columns are the same
either way (tests/test_yaml_pool.py holds both to that).

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
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from auditor.collect.files import YAML_SUFFIXES, read_bounded
from auditor.collect.lines import FileLines, file_lines
from auditor.yamlfast import fast_json

# YAML bytes (on disk) below which the automatic choice parses in this process. Measured on 2
# CPUs: workers cost about 10 ms (the demo mesh, 0.1 MB: 40 ms in this process, 48 ms with two);
# 18 MB of namespace files took 1.4 s with two, 1.8-2.1 s without. Below a few MB there is little
# to gain, and no reason to start processes.
POOL_MIN_BYTES = 4 << 20
# files handed to each worker ahead of the one the main process is adding: enough to keep
# every worker busy, few enough that parsed files do not pile up in memory
AHEAD_PER_WORKER = 3


@dataclass(frozen=True, slots=True)
class Parsed:
    """One file as a worker read it: each document's JSON text, and its lines (None: unknown)."""

    documents: list[bytearray]
    lines: FileLines | None


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
    yaml_files = [p for p in paths if p.name.endswith(YAML_SUFFIXES)]
    if len(yaml_files) < 2:
        return 0
    if jobs is None:
        size = 0
        for path in yaml_files:
            try:
                size += path.stat().st_size
            except OSError:
                continue
        if size < POOL_MIN_BYTES:
            return 0
        jobs = available_cpus()
        if jobs <= 1:
            return 0
    return min(jobs, len(yaml_files))


def parsed_files(paths: list[Path], workers: int) -> Iterator[tuple[Path, Parsed | None]]:
    """Each of `paths` in order, with what a worker parsed of it, or None for the files the
    caller reads itself (not YAML by name, declined by the fast path, or failed in a worker).
    With no workers, every file is None."""
    if workers < 1:
        for path in paths:
            yield path, None
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
    )
    queue: deque[tuple[Path, Future[Parsed | None] | None]] = deque()
    todo = deque(paths)
    ahead = workers * AHEAD_PER_WORKER
    in_flight = 0
    broken = False
    try:
        while queue or todo:
            while todo and (not queue or (not broken and in_flight < ahead)):
                path = todo.popleft()
                if not broken and path.name.endswith(YAML_SUFFIXES):
                    queue.append((path, pool.submit(_parse, str(path))))
                    in_flight += 1
                else:
                    queue.append((path, None))
            path, future = queue.popleft()
            parsed: Parsed | None = None
            if future is not None:
                in_flight -= 1
                if not broken:
                    try:
                        parsed = future.result()
                    except Exception:
                        # a worker died (out of memory, killed): the rest is read in this process
                        broken = True
            yield path, parsed
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _parse(name: str) -> Parsed | None:
    """In a worker: one file through the fast path, or None for the main process to read."""
    try:
        data = read_bounded(Path(name))
        documents = fast_json(data)
        if documents is None:
            return None
        lines = file_lines(data, [document.has_item_list for document in documents])
        return Parsed([document.json for document in documents], lines)
    except Exception:
        return None
