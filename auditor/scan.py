"""One scan: snapshot -> index -> checks -> Report. The library entry point the CLI calls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from auditor.authorization import build_authorization
from auditor.baseline import apply_baseline
from auditor.checks.registry import CheckContext, all_checks
from auditor.checks.runner import run_checks
from auditor.egress import build_egress
from auditor.exposure import build_exposure
from auditor.gates import Gates
from auditor.index import MeshIndex, resolve_mesh_config
from auditor.mtls import build_mtls
from auditor.report.model import Report, build_report, resummarize
from auditor.scope import apply_scope
from auditor.snapshot import Snapshot
from auditor.suppress import FlagSuppression, suppression_waivers
from auditor.waivers import Waiver, apply_waivers


def scan(
    snapshot: Snapshot,
    *,
    generated_at: str,
    command: Sequence[str] | None = None,
    waivers: Sequence[Waiver] | None = None,
    baseline: Mapping[str, Any] | None = None,
    baseline_source: str = "",
    gates: Gates | None = None,
    suppress: Sequence[FlagSuppression] = (),
    scope: Sequence[str] | None = None,
) -> Report:
    """Audit a snapshot. With `waivers` and/or a `baseline` (a previous report.json mapping) the
    findings are marked as waived and new/unchanged; expiry uses the date of `generated_at`."""
    mesh, notes = resolve_mesh_config(snapshot)
    index = MeshIndex(snapshot, mesh)
    ctx = CheckContext(snapshot=snapshot, index=index, as_of=generated_at)
    checks = all_checks()
    findings, runs = run_checks(ctx, checks)
    report = build_report(
        snapshot=snapshot,
        mesh=mesh,
        checks=checks,
        findings=findings,
        runs=runs,
        exposure=build_exposure(index),
        egress=[e.to_json() for e in build_egress(index)],
        mtls=[e.to_json() for e in build_mtls(index)],
        authorization=[a.to_json() for a in build_authorization(index)],
        generated_at=generated_at,
        notes=notes,
        value_warnings=index.value_warnings,
        command=command,
    )
    # -n: report on the scope only; what names unread namespaces is not judged (auditor/scope.py)
    if scope is None and snapshot.source.namespaces is not None:
        scope = snapshot.source.namespaces
    scoped = apply_scope(report.data, scope)
    if "scope" in scoped:
        report = Report(resummarize(scoped))
    # istioctl-style suppressions (resource annotations, --suppress) count as waiver entries
    suppressed = suppression_waivers(
        report.data["findings"], snapshot, suppress, first_index=len(waivers or ())
    )
    if suppressed:
        waivers = [*(waivers or ()), *suppressed]
    return post_process(
        report, waivers=waivers, baseline=baseline, baseline_source=baseline_source, gates=gates
    )


def post_process(
    report: Report,
    *,
    waivers: Sequence[Waiver] | None = None,
    baseline: Mapping[str, Any] | None = None,
    baseline_source: str = "",
    gates: Gates | None = None,
) -> Report:
    """Apply waivers, then a baseline, to a built report (also usable on a loaded report.json),
    and record the CI gates the scan runs with (`gates`, read by the JUnit renderer)."""
    if gates is not None and gates.any():
        report = Report({**report.data, "gates": gates.to_json()})
    if waivers is None and baseline is None:
        return report
    data: Mapping[str, Any] = report.data
    if waivers is not None:
        scan_date = dt.date.fromisoformat(str(data["generated_at"])[:10])
        data = apply_waivers(data, waivers, scan_date)
    if baseline is not None:
        data = apply_baseline(data, baseline, baseline_source)
    return Report(resummarize(data))
