"""Pausing CPython's cyclic garbage collector while a scan builds what it keeps."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block without the cyclic garbage collector (restored afterwards).

    A scan builds the index, its models, the findings and the report: hundreds of thousands of
    objects that all stay alive until the report is made, so every full collection in between
    walks them again and frees nothing (benchmarks/README.md, "#33 stage by stage": a quarter of
    a 100k-object scan after loading). Reference counting still frees what dies; the cycles the
    index and its models form are collected once the scan returns and they are dropped.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
