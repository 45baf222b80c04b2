"""The runner: a check that raises is reported and the scan goes on."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.base.model import Category, CheckMeta, Result, Severity
from auditor.checks.registry import REGISTRY, Check, CheckContext
from auditor.checks.runner import run_checks
from auditor.input.files import load_paths
from auditor.mesh.index import MeshIndex
from tests.helpers import CASES


def _broken(ctx: CheckContext) -> Iterator[Result]:
    """Always fails."""
    yield from ()
    raise KeyError("spec")


def test_a_check_that_raises_is_reported_and_others_still_run() -> None:
    snapshot = load_paths([str(CASES / "input" / "kubectl-list")])
    ctx = CheckContext(snapshot=snapshot, index=MeshIndex(snapshot))
    broken = Check(
        meta=CheckMeta(
            id="TEST001",
            title="broken",
            category=Category.CONFIG,
            severity=Severity.LOW,
            looks_at=(),
            rationale="",
            remediation="",
        ),
        needs=(),
        fn=_broken,
        doc="Always fails.",
    )
    findings, runs = run_checks(ctx, [broken, REGISTRY["GW001"]])
    by_check = {r.check: r for r in runs}
    assert by_check["TEST001"].status == "error"
    assert by_check["TEST001"].message == "check failed: KeyError: 'spec'"
    assert "Traceback" in by_check["TEST001"].traceback
    assert by_check["GW001"].status == "ran"
    assert [(f.check, f.resource.name) for f in findings] == [("GW001", "orphan-gateway")]
