"""Fail closed: is this audit complete enough to be an answer?

An audit that read none of the Istio kinds the cluster serves, or less than `min_coverage` of
the kinds it needs, is not a pass whatever its findings: the CLI exits EXIT_INCOMPLETE (4), the
report says so on its first page, `--fail-on` cannot turn it green, and no baseline is compared
against it (its missing findings are not "resolved").

Kinds the cluster does not serve (`not-installed`) are not needed: a cluster without Gateway API
has no HTTPRoutes to miss. Everything else (`forbidden`, `error`) counts as not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.input.kinds import KINDS
from auditor.input.snapshot import STATUS_NOT_INSTALLED, STATUS_OK

DEFAULT_MIN_COVERAGE = 0.5
ISTIO_KEYS = frozenset(spec.key for spec in KINDS if spec.is_istio)


def assess(
    collection: Mapping[str, Mapping[str, Any]], min_coverage: float = DEFAULT_MIN_COVERAGE
) -> dict[str, Any]:
    """The report's `audit` field: `complete`, `reasons`, and the counts behind them."""
    needed = [k for k, c in collection.items() if c.get("status") != STATUS_NOT_INSTALLED]
    read = [k for k in needed if collection[k].get("status") == STATUS_OK]
    istio_needed = [k for k in needed if k in ISTIO_KEYS]
    istio_read = [k for k in read if k in ISTIO_KEYS]
    share = len(read) / len(needed) if needed else 0.0
    reasons: list[str] = []
    if not needed:
        reasons.append("no resource kind could be read")
    elif istio_needed and not istio_read:
        reasons.append(
            f"none of the {len(istio_needed)} Istio kinds the cluster serves could be read"
        )
    if needed and share < min_coverage:
        reasons.append(
            f"read {len(read)} of {len(needed)} needed kinds ({share:.0%}), "
            f"below the minimum coverage of {min_coverage:.0%}"
        )
    return {
        "complete": not reasons,
        "reasons": reasons,
        "kinds_needed": len(needed),
        "kinds_read": len(read),
        "istio_kinds_needed": len(istio_needed),
        "istio_kinds_read": len(istio_read),
        "coverage": round(share, 4),
        "min_coverage": min_coverage,
        "not_read": sorted(k for k in needed if k not in read),
    }


def is_incomplete(data: Mapping[str, Any]) -> bool:
    """True for a report (report.json mapping) of an audit that failed closed."""
    audit = data.get("audit")
    return isinstance(audit, Mapping) and audit.get("complete") is False


def statement(data: Mapping[str, Any]) -> str:
    """One line saying why the audit is incomplete ("" when it is complete)."""
    if not is_incomplete(data):
        return ""
    reasons = "; ".join(str(r) for r in data["audit"].get("reasons") or ())
    return f"audit incomplete (fail closed): {reasons}"
