"""Shared by the per-check case tests: scan one fixture case, name its findings exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.input.files import load_paths
from auditor.run.scan import scan
from tests.helpers import finding_key

CASES = Path(__file__).parent.parent / "fixtures" / "cases"
GENERATED_AT = "2026-01-01T00:00:00Z"

Finding = tuple[str, str, str, str, str]  # (check, kind, namespace, name, severity)


def report_for(relpath: str) -> dict[str, Any]:
    snapshot = load_paths([str(CASES / relpath)])
    return dict(scan(snapshot, generated_at=GENERATED_AT).data)


def findings(relpath: str, prefixes: tuple[str, ...]) -> set[Finding]:
    """Findings of the checks whose IDs start with one of `prefixes`."""
    data = report_for(relpath)
    assert data["warnings"] == [], data["warnings"]
    return {finding_key(f) for f in data["findings"] if f["check"].startswith(prefixes)}
