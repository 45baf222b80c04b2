"""Run every check over a snapshot; a failing check is reported, never fatal."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from auditor.base.model import Finding, Result, finding_id
from auditor.checks import all_checks
from auditor.checks.registry import Check, CheckContext
from auditor.input.kinds import BY_KEY
from auditor.input.snapshot import STATUS_NOT_INSTALLED, Snapshot

RAN = "ran"
SKIPPED = "skipped"
ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckRun:
    """What happened to one check in this scan."""

    check: str
    status: str  # ran, skipped (its kinds could not be read), error (it raised)
    message: str = ""
    missing_kinds: tuple[str, ...] = ()
    findings: int = 0
    traceback: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "missing_kinds": list(self.missing_kinds),
            "findings": self.findings,
        }


def to_finding(chk: Check, result: Result) -> Finding:
    meta = chk.meta
    references = list(meta.references)
    codes = [result.ist_code] if result.ist_code else list(meta.ist_codes)
    references.extend(c for c in codes if c not in references)
    severity = result.severity if result.severity is not None else meta.severity
    return Finding(
        id=finding_id(meta.id, result.resource, result.detail or result.path),
        check=meta.id,
        category=meta.category,
        severity=severity,
        title=meta.title,
        message=result.message,
        resource=result.resource,
        path=result.path,
        evidence=dict(result.evidence),
        remediation=result.remediation or meta.remediation,
        references=tuple(references),
        severity_reason=result.severity_reason if severity != meta.severity else "",
    )


def unread_text(key: str, status: str) -> str:
    """`Secrets not readable (forbidden)`: core kinds by plural name, others by group/Kind."""
    spec = BY_KEY.get(key)
    label = f"{spec.kind}s" if spec is not None and not spec.group else key
    if status == STATUS_NOT_INSTALLED:
        return f"{label} not installed"
    return f"{label} not readable ({status})"


def run_checks(
    ctx: CheckContext, checks: list[Check] | None = None
) -> tuple[list[Finding], list[CheckRun]]:
    """Findings sorted by severity then check and resource; one CheckRun per check."""
    unavailable = ctx.snapshot.unavailable_kinds()
    findings: dict[str, Finding] = {}
    runs: list[CheckRun] = []
    for chk in checks if checks is not None else all_checks():
        missing = tuple(k for k in chk.needs if k in unavailable)
        if missing:
            runs.append(
                CheckRun(
                    check=chk.meta.id,
                    status=SKIPPED,
                    message="not audited: "
                    + "; ".join(unread_text(k, ctx.snapshot.collection[k].status) for k in missing),
                    missing_kinds=missing,
                )
            )
            continue
        why = chk.unjudged(ctx) if chk.unjudged is not None else ""
        if why:
            # the input cannot answer this check's question (as telemetry checks without
            # --prometheus): it ran over what it was given, judged nothing, and says why
            runs.append(CheckRun(check=chk.meta.id, status=RAN, message=f"not judged: {why}"))
            continue
        if chk.telemetry and (ctx.observed is None or not ctx.observed.available):
            # nothing observed to judge: without --prometheus the check has no input (it ran,
            # and says so); with it, Prometheus gave nothing (it could not run)
            asked = ctx.observed is not None
            runs.append(
                CheckRun(
                    check=chk.meta.id,
                    status=SKIPPED if asked else RAN,
                    message="not audited: no observed traffic (see observed.coverage)"
                    if asked
                    else "no telemetry: scan --prometheus not given",
                )
            )
            continue
        try:
            produced = [to_finding(chk, r) for r in chk.fn(ctx)]
        except Exception as exc:  # a check's bug must not cost the user the whole audit
            runs.append(
                CheckRun(
                    check=chk.meta.id,
                    status=ERROR,
                    message=f"check failed: {type(exc).__name__}: {exc}",
                    traceback=traceback.format_exc(),
                )
            )
            continue
        count = 0
        for finding in produced:
            if finding.id not in findings:
                findings[finding.id] = finding
                count += 1
        runs.append(CheckRun(check=chk.meta.id, status=RAN, findings=count))
    return sorted(findings.values(), key=Finding.sort_key), runs


def audit(snapshot: Snapshot) -> tuple[list[Finding], list[CheckRun]]:
    """Convenience for library users: index the snapshot and run every check."""
    from auditor.mesh.index import MeshIndex

    ctx = CheckContext(snapshot=snapshot, index=MeshIndex(snapshot))
    return run_checks(ctx)
