"""Shared test helpers: run the library on fixtures and name findings exactly."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditor.input.files import load_paths
from auditor.report.model import Report
from auditor.run.scan import scan

ROOT = Path(__file__).resolve().parent.parent


def find_tool(name: str) -> str | None:
    """A command-line tool the tests run: the test environment's own (kubectl comes with the
    `test` extra, in the interpreter's bin directory) before the PATH's."""
    here = str(Path(sys.executable).parent)
    return shutil.which(name, path=os.pathsep.join([here, os.environ.get("PATH", "")]))


FIXTURES = ROOT / "fixtures"
DEMO = FIXTURES / "demo-mesh"
CASES = FIXTURES / "cases"
FIXED_CLOCK = "2026-11-25T12:00:00Z"

Key = tuple[str, str, str, str, str]


def scan_paths(*paths: Path | str) -> Report:
    return scan(load_paths([str(p) for p in paths]), generated_at=FIXED_CLOCK)


def finding_key(f: dict[str, Any]) -> Key:
    """(check, kind, namespace, name, severity): how the tests name one finding of report.json."""
    ref = f["resource"]
    return (f["check"], ref["kind"], ref["namespace"] or "", ref["name"], f["severity"])


def finding_keys(report: Report | dict[str, Any], checks: Iterable[str] | None = None) -> set[Key]:
    """(check, kind, namespace, name, severity) of each finding, optionally for some checks."""
    data = report.data if isinstance(report, Report) else report
    wanted = set(checks) if checks is not None else None
    return {finding_key(f) for f in data["findings"] if wanted is None or f["check"] in wanted}
