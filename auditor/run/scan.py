"""One scan: snapshot -> index -> checks -> Report. The library entry point the CLI calls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from auditor.base.collector import collector_paused
from auditor.base.model import ExposureEntry
from auditor.checks import all_checks
from auditor.checks.registry import CheckContext
from auditor.checks.runner import run_checks
from auditor.input.completeness import DEFAULT_MIN_COVERAGE, is_incomplete
from auditor.input.snapshot import Snapshot
from auditor.mesh.egress import build_egress
from auditor.mesh.entrypoints import build_entry_points
from auditor.mesh.exposure import build_exposure
from auditor.mesh.identity_mtls import access_json
from auditor.mesh.index import MeshIndex
from auditor.mesh.mesh_config_source import resolve_mesh_config
from auditor.mesh.mtls import build_mtls
from auditor.report.gates import Gates
from auditor.report.model import Report, build_report, resummarize
from auditor.run.baseline import apply_baseline
from auditor.run.compliance import Framework, apply_frameworks, input_digest
from auditor.run.scope import apply_scope
from auditor.run.suppress import FlagSuppression, suppression_waivers
from auditor.run.waivers import Waiver, apply_waivers

if TYPE_CHECKING:
    from auditor.run.telemetry_options import ObserveRequest


def scan(
    snapshot: Snapshot,
    *,
    generated_at: str,
    command: Sequence[str] | None = None,
    waivers: Sequence[Waiver] | None = None,
    baseline: Mapping[str, Any] | None = None,
    baseline_source: str = "",
    frameworks: Sequence[Framework] = (),
    gates: Gates | None = None,
    suppress: Sequence[FlagSuppression] = (),
    scope: Sequence[str] | None = None,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    observe: ObserveRequest | None = None,
) -> Report:
    """Audit a snapshot. With `waivers` and/or a `baseline` (a previous report.json mapping) the
    findings are marked as waived and new/unchanged; expiry uses the date of `generated_at`."""
    # everything built from here on stays alive until the report is made: collecting cycles in
    # between only walks it again (auditor/base/collector.py)
    with collector_paused():
        mesh, notes = resolve_mesh_config(snapshot)
        index = MeshIndex(snapshot, mesh)
        try:
            return _scan(
                snapshot,
                index,
                notes,
                generated_at=generated_at,
                command=command,
                waivers=waivers,
                baseline=baseline,
                baseline_source=baseline_source,
                frameworks=frameworks,
                gates=gates,
                suppress=suppress,
                scope=scope,
                min_coverage=min_coverage,
                observe=observe,
            )
        finally:
            # the models refer back to the index: freed now, by reference counting, rather than
            # by the next full collection walking them all (auditor/mesh/index.py `release`)
            index.release()


def _scan(
    snapshot: Snapshot,
    index: MeshIndex,
    notes: list[str],
    *,
    generated_at: str,
    command: Sequence[str] | None,
    waivers: Sequence[Waiver] | None,
    baseline: Mapping[str, Any] | None,
    baseline_source: str,
    frameworks: Sequence[Framework],
    gates: Gates | None,
    suppress: Sequence[FlagSuppression],
    scope: Sequence[str] | None,
    min_coverage: float,
    observe: ObserveRequest | None,
) -> Report:
    mesh = index.mesh
    observed = None
    if observe is not None:
        # --prometheus: what Istio's metrics saw, over the window ending at generated_at
        from auditor.run.observe import observe as ask

        end = dt.datetime.fromisoformat(generated_at.replace("Z", "+00:00")).timestamp()
        observed = ask(index, observe, end=end)
    ctx = CheckContext(snapshot=snapshot, index=index, as_of=generated_at, observed=observed)
    checks = all_checks()
    findings, runs = run_checks(ctx, checks)
    egress = [e.to_json() for e in build_egress(index)]
    if observed is not None:
        from auditor.mesh.observed import annotate

        findings = annotate(findings, observed)
        notes = [*notes, *(f"observed egress: {n}" for n in observed.to_json()["coverage"])]
        if observed.available:
            egress = [
                {**e, "observed": observed.hosts[e["host"]].to_json()}
                if e["host"] in observed.hosts
                else e
                for e in egress
            ]
    report = build_report(
        snapshot=snapshot,
        mesh=mesh,
        checks=checks,
        findings=findings,
        runs=runs,
        exposure=sorted(
            build_exposure(index) + build_entry_points(index), key=ExposureEntry.sort_key
        ),
        egress=egress,
        mtls=[e.to_json() for e in build_mtls(index)],
        authorization=access_json(index),
        generated_at=generated_at,
        notes=notes,
        value_warnings=index.value_warnings,
        command=command,
        min_coverage=min_coverage,
    )
    report = Report({**report.data, "evidence": input_digest(snapshot)})
    if observed is not None:
        report = Report({**report.data, "observed": observed.to_json()})
    # -n: report on the scope only; what names unread namespaces is not judged
    # (auditor/run/scope.py)
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
        report,
        waivers=waivers,
        baseline=baseline,
        baseline_source=baseline_source,
        gates=gates,
        frameworks=frameworks,
    )


def post_process(
    report: Report,
    *,
    waivers: Sequence[Waiver] | None = None,
    baseline: Mapping[str, Any] | None = None,
    baseline_source: str = "",
    gates: Gates | None = None,
    frameworks: Sequence[Framework] = (),
) -> Report:
    """Apply waivers, then a baseline, then control frameworks, to a built report (also usable
    on a loaded report.json), and record the CI gates the scan runs with (`gates`, read by the
    JUnit renderer)."""
    if gates is not None and gates.any():
        report = Report({**report.data, "gates": gates.to_json()})
    if waivers is None and baseline is None:
        if frameworks:
            return Report(apply_frameworks(report.data, frameworks))
        return report
    data: Mapping[str, Any] = report.data
    if waivers is not None:
        scan_date = dt.date.fromisoformat(str(data["generated_at"])[:10])
        data = apply_waivers(data, waivers, scan_date)
    if baseline is not None and is_incomplete(data):
        # An audit that failed closed did not see what it misses: nothing it lacks is
        # "resolved", so it is not compared with the baseline at all.
        note = f"baseline {baseline_source or 'report'} not compared: this audit is incomplete"
        data = {**data, "warnings": [*data["warnings"], _note(note)]}
    elif baseline is not None:
        data = apply_baseline(data, baseline, baseline_source)
    data = resummarize(data)
    if frameworks:
        data = apply_frameworks(data, frameworks)
    return Report(data)


def _note(problem: str) -> dict[str, Any]:
    return {
        "source": "mesh-audit",
        "document": None,
        "item": None,
        "kind": None,
        "name": None,
        "problem": problem,
    }
