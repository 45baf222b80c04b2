"""CPU seconds per stage of loading one snapshot, in one process: where `load_paths` goes.

    python benchmarks/load_stages.py SNAPSHOT

- read + gunzip: the snapshot's lines, streamed as the loader streams them;
- decode: plus `orjson.loads` of each object line (objects kept, cyclic GC off);
- load (run first, so the peak RSS printed is the load's): the real `load_paths`, with the
  per-object functions wrapped in `process_time` timers: shape checks (each kind's compiled
  predicate), sharing (`share_strings`), the whole one-call compaction (`compact_early`: shape,
  cut, share) and `Snapshot.add`. The cut and the per-object dispatch are what `compact_early`
  costs beyond its shape checks and sharing. The timers cost about 0.1 s per 100k objects.

benchmarks/README.md "#33 load in one pass" has the table. The stages of a whole scan (load as
one stage, then index, models, checks, renderers) are `stages.py`.
"""

from __future__ import annotations

import gc
import gzip
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

clock = time.process_time


def read_seconds(path: str) -> float:
    gc.disable()
    start = clock()
    with gzip.open(path) as fh:
        for _line in fh:
            pass
    gc.enable()
    return clock() - start


def decode_seconds(path: str) -> float:
    gc.disable()
    start = clock()
    objects = []
    with gzip.open(path) as fh:
        fh.readline()
        for raw in fh:
            line = raw.rstrip(b"\r\n")
            if line == b"]}":
                break
            objects.append(orjson.loads(line[:-1] if line.endswith(b",") else line))
    seconds = clock() - start
    del objects
    gc.enable()
    return seconds


def load_seconds(path: str) -> dict[str, float]:
    from auditor.input import compaction, files, shapes, snapshot, snapshot_file

    spent: dict[str, float] = {}

    def timed(label: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return func(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + clock() - start

        return run

    snapshot_file.compact_early = timed("compact_early (all)", snapshot_file.compact_early)
    compaction.share_strings = timed("  sharing", compaction.share_strings)
    for key, predicate in list(shapes._FAST.items()):
        shapes._FAST[key] = timed("  shape", predicate)
    snapshot.Snapshot.add = timed("Snapshot.add", snapshot.Snapshot.add)  # type: ignore[method-assign]
    start = clock()
    loaded = files.load_paths([path])
    spent["load_paths (total)"] = clock() - start
    spent["objects"] = sum(1 for _ in loaded.all_objects())
    return spent


def main() -> None:
    path = sys.argv[1]
    loaded = load_seconds(path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    read = read_seconds(path)
    decode = decode_seconds(path) - read
    print(f"read + gunzip          {read:7.2f}")
    print(f"decode                 {decode:7.2f}")
    for label, value in loaded.items():
        print(f"{label:22} {value:7.2f}" if label != "objects" else f"objects {int(value)}")
    print(f"peak RSS MB (loaded)   {peak:7d}")


if __name__ == "__main__":
    main()
