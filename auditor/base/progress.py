"""Progress display for long live collections: one status line, redrawn per kind.

Only for a person at a terminal: it is off when stdout or stderr is not a TTY (pipes, files,
CronJob logs), when the `CI` environment variable is set, or with `--no-progress`. It writes to
stderr, so stdout stays the summary. The collector calls `progress.kind_done(...)` after each kind;
it never needs to know whether anything is shown.

    progress = progress_for(no_progress=False)
    progress.start(total=len(KINDS))
    for spec in KINDS:
        ...
        progress.kind_done(spec.key, count=n, status="ok")
    progress.finish()
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import Protocol, TextIO

from auditor.base.text import inert


class Progress(Protocol):
    def start(self, total: int) -> None: ...

    def kind_done(self, kind: str, *, count: int, status: str = "ok") -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    """Shows nothing; what the collector gets when progress is off (and in tests)."""

    def start(self, total: int) -> None:
        pass

    def kind_done(self, kind: str, *, count: int, status: str = "ok") -> None:
        pass

    def finish(self) -> None:
        pass


class LineProgress:
    """`[12/26] reading ... networking.istio.io/Gateway: 41 objects (3.2s)` on one redrawn line."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._total = 0
        self._done = 0
        self._objects = 0
        self._started = time.monotonic()
        self._width = 0

    def start(self, total: int) -> None:
        self._total = total
        self._done = 0
        self._objects = 0
        self._started = time.monotonic()
        self._draw("collecting ...")

    def kind_done(self, kind: str, *, count: int, status: str = "ok") -> None:
        self._done += 1
        self._objects += count
        what = f"{count} objects" if status == "ok" else status
        self._draw(f"{inert(kind, 60)}: {what}")

    def finish(self) -> None:
        elapsed = time.monotonic() - self._started
        self._draw(f"collected {self._objects} objects in {elapsed:.1f}s")
        self._stream.write("\n")
        self._stream.flush()

    def _draw(self, text: str) -> None:
        line = f"[{self._done}/{self._total}] {text}"
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self._stream.write("\r" + line + " " * pad)
        self._stream.flush()


def progress_enabled(
    *,
    no_progress: bool,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> bool:
    env = os.environ if environ is None else environ
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    if no_progress or env.get("CI"):
        return False
    return _isatty(out) and _isatty(err)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress_for(
    *,
    no_progress: bool,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> Progress:
    """A LineProgress on stderr when a person is watching, else NoProgress."""
    if progress_enabled(no_progress=no_progress, stdout=stdout, stderr=stderr, environ=environ):
        return LineProgress(sys.stderr if stderr is None else stderr)
    return NoProgress()
