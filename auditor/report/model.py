"""The Report: one model that every renderer reads, as the JSON-ready mapping of report.json.

Renderers take the mapping (`Report.data`), so rendering a saved report.json again gives exactly
what rendering at scan time gave.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor import __version__
from auditor.base.model import Category, ExposureEntry, Finding, Severity
from auditor.checks.registry import Check
from auditor.checks.runner import CheckRun
from auditor.input.completeness import DEFAULT_MIN_COVERAGE, assess
from auditor.input.kinds import KINDS, kind_key
from auditor.input.snapshot import STATUS_OK, CollectionStatus, Snapshot
from auditor.istio.annotations import ValueWarning
from auditor.istio.meshconfig import MeshConfig
from auditor.report import groups as G
from auditor.report.command import redact_argv
from auditor.report.risk import RiskOrder
from auditor.report.score import score as risk_score

SCHEMA_VERSION = 2  # 2: audit (fail closed), authorization[], mtls[], egress[] per port
TOOL_NAME = "mesh-audit"


@dataclass(frozen=True, slots=True)
class Report:
    data: Mapping[str, Any]

    @property
    def findings(self) -> list[Mapping[str, Any]]:
        return list(self.data["findings"])


def summarize(
    findings: Sequence[Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
    collection: Mapping[str, Mapping[str, Any]],
    *,
    waivers_applied: bool = False,
    exposure: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    # A waived finding (see auditor/run/waivers.py) is counted apart and never in the severities.
    active = [f for f in findings if not f.get("waiver")]
    by_sev = Counter(f["severity"] for f in active)
    by_cat = Counter(f["category"] for f in active)
    statuses = Counter(r["status"] for r in runs)
    grouped = G.active_groups(findings)
    group_sev = Counter(g[0]["severity"] for g in grouped)
    read = sum(1 for c in collection.values() if c["status"] == STATUS_OK)
    coverage = {"kinds_read": read, "kinds_total": len(collection)}
    # the same risk model the HTML/PDF scorecard shows (exposure and coverage included)
    risk = risk_score(findings, exposure, coverage)
    summary: dict[str, Any] = {
        "total": len(active),
        "score": risk.value,
        "grade": risk.grade,
        "by_severity": {s.label: by_sev.get(s.label, 0) for s in sorted(Severity, reverse=True)},
        "by_category": {str(c): by_cat.get(str(c), 0) for c in Category},
        "checks": {
            "total": len(runs),
            "ran": statuses.get("ran", 0),
            "skipped": statuses.get("skipped", 0),
            "error": statuses.get("error", 0),
        },
        "coverage": coverage,
        # one weakness, one entry (auditor/report/groups.py): findings that are not waived,
        # grouped by root cause; a group's severity is its primary's
        "groups": {
            "total": len(grouped),
            "by_severity": {
                s.label: group_sev.get(s.label, 0) for s in sorted(Severity, reverse=True)
            },
        },
    }
    if waivers_applied:
        summary["waived"] = len(findings) - len(active)
    return summary


def resummarize(data: Mapping[str, Any]) -> dict[str, Any]:
    """Report data with its summary recounted, after waivers or a baseline marked findings."""
    out = dict(data)
    out["summary"] = summarize(
        data["findings"],
        data["check_runs"],
        data["collection"],
        waivers_applied="waiver_audit" in data,
        exposure=data.get("exposure") or (),
    )
    return out


def _with_origin(finding: Finding, snapshot: Snapshot) -> dict[str, Any]:
    """The finding as JSON, plus where its resource was read from (file#document) when known."""
    out = finding.to_json()
    ref = finding.resource
    obj = snapshot.get(kind_key(ref.group, ref.kind), ref.namespace, ref.name)
    if obj is not None and obj.origin:
        out["origin"] = obj.origin
        line = snapshot.lines.get(obj.origin)
        if line is not None:
            out["origin_line"] = line
    return out


def build_report(
    *,
    snapshot: Snapshot,
    mesh: MeshConfig,
    checks: Iterable[Check],
    findings: Sequence[Finding],
    runs: Sequence[CheckRun],
    exposure: Sequence[ExposureEntry],
    egress: Sequence[Mapping[str, Any]],
    generated_at: str,
    mtls: Sequence[Mapping[str, Any]] = (),
    authorization: Sequence[Mapping[str, Any]] = (),
    notes: Iterable[str] = (),
    value_warnings: Iterable[ValueWarning] = (),
    command: Sequence[str] | None = None,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> Report:
    collection: dict[str, dict[str, Any]] = {}
    for spec in KINDS:
        status = snapshot.collection.get(spec.key) or CollectionStatus(status=STATUS_OK)
        entry = status.to_json()
        entry["count"] = snapshot.count(spec.key) if status.status == STATUS_OK else 0
        collection[spec.key] = entry
    warnings = [w.to_json() for w in snapshot.warnings]
    warnings.extend(
        {
            "source": "mesh-audit",
            "document": None,
            "item": None,
            "kind": None,
            "name": None,
            "problem": note,
        }
        for note in notes
    )
    warnings.extend(
        {
            "source": "mesh-audit",
            "document": None,
            "item": None,
            "kind": w.kind,
            "name": f"{w.namespace}/{w.name}" if w.namespace else w.name,
            "problem": f"{w.field}: {w.problem}",
        }
        for w in value_warnings
    )
    findings_json = G.with_groups([_with_origin(f, snapshot) for f in findings])
    exposure_json = [e.to_json() for e in sorted(exposure, key=ExposureEntry.sort_key)]
    # every list in the one risk order (auditor/report/risk.py), worst first
    order = RiskOrder({"findings": findings_json, "exposure": exposure_json, "egress": egress})
    runs_json = [r.to_json() for r in sorted(runs, key=lambda r: r.check)]
    check_docs = [c.meta.to_json() for c in checks]
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "generated_at": generated_at,
        "source": snapshot.source.to_json(),
        "mesh_config": {
            "source": mesh.source,
            "root_namespace": mesh.root_namespace,
            "outbound_traffic_policy": mesh.outbound_mode,
            "outbound_traffic_policy_set": mesh.outbound_mode_set,
            "configmaps": list(mesh.configmaps),
        },
        "audit": assess(collection, min_coverage),
        "summary": summarize(
            findings_json,
            runs_json,
            collection,
            exposure=exposure_json,
        ),
        "inventory": dict(sorted(snapshot.inventory.items())),
        "collection": collection,
        "checks": check_docs,
        "check_runs": runs_json,
        "findings": order.findings(),
        "exposure": order.exposure(),
        "egress": order.egress(),
        "mtls": list(mtls),
        "authorization": list(authorization),
        "warnings": warnings,
    }
    if command is not None:
        data["command"] = redact_argv(command)
    return Report(data)
