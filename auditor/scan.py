"""One scan: snapshot -> index -> checks -> Report. The library entry point the CLI calls."""

from __future__ import annotations

from collections.abc import Sequence

from auditor.checks.registry import CheckContext, all_checks
from auditor.checks.runner import run_checks
from auditor.egress import build_egress
from auditor.exposure import build_exposure
from auditor.index import MeshIndex, resolve_mesh_config
from auditor.report.model import Report, build_report
from auditor.snapshot import Snapshot


def scan(snapshot: Snapshot, *, generated_at: str, command: Sequence[str] | None = None) -> Report:
    mesh, notes = resolve_mesh_config(snapshot)
    index = MeshIndex(snapshot, mesh)
    ctx = CheckContext(snapshot=snapshot, index=index, as_of=generated_at)
    checks = all_checks()
    findings, runs = run_checks(ctx, checks)
    return build_report(
        snapshot=snapshot,
        mesh=mesh,
        checks=checks,
        findings=findings,
        runs=runs,
        exposure=build_exposure(index),
        egress=[e.to_json() for e in build_egress(index)],
        generated_at=generated_at,
        notes=notes,
        command=command,
    )
