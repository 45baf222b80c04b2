"""CI gates: which findings make a scan exit 1, and one line per failing gate saying why.

The gates a scan was run with are recorded in report.json (`gates`), so every renderer (JUnit
above all) marks as failing exactly the findings that made the exit code 1, also when a saved
report is rendered again. Without `--fail-on`, JUnit marks findings at or above `high` as
failures (JUNIT_DEFAULT_FAIL_ON) while the exit code stays 0: a dashboard that reads JUnit still
shows the serious findings red, and a scheduled audit that gates on nothing keeps passing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.base.model import NEW, Severity
from auditor.report.score import is_waived

JUNIT_DEFAULT_FAIL_ON = Severity.HIGH


@dataclass(frozen=True, slots=True, kw_only=True)
class Gates:
    fail_on: Severity | None = None
    fail_on_new: Severity | None = None
    fail_under: int | None = None

    def any(self) -> bool:
        return (
            self.fail_on is not None or self.fail_on_new is not None or self.fail_under is not None
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "fail_on": self.fail_on.label if self.fail_on is not None else None,
            "fail_on_new": self.fail_on_new.label if self.fail_on_new is not None else None,
            "fail_under": self.fail_under,
        }

    @classmethod
    def from_report(cls, data: Mapping[str, Any]) -> Gates:
        raw = data.get("gates")
        if not isinstance(raw, Mapping):
            return cls()
        fail_on, fail_on_new = raw.get("fail_on"), raw.get("fail_on_new")
        under = raw.get("fail_under")
        return cls(
            fail_on=Severity.parse(fail_on) if isinstance(fail_on, str) else None,
            fail_on_new=Severity.parse(fail_on_new) if isinstance(fail_on_new, str) else None,
            fail_under=under if isinstance(under, int) else None,
        )


def _at_or_above(finding: Mapping[str, Any], threshold: Severity) -> bool:
    return not is_waived(finding) and Severity.parse(finding["severity"]) >= threshold


def tripping(
    findings: Sequence[Mapping[str, Any]], gates: Gates
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(findings that trip --fail-on, new findings that trip --fail-on-new). Waived never trip."""
    on = [f for f in findings if gates.fail_on is not None and _at_or_above(f, gates.fail_on)]
    on_new = [
        f
        for f in findings
        if gates.fail_on_new is not None
        and f.get("baseline_status") == NEW
        and _at_or_above(f, gates.fail_on_new)
    ]
    return on, on_new


def junit_failing_ids(data: Mapping[str, Any]) -> set[str]:
    """Finding ids JUnit shows as failures: those that trip the report's gates, or, when the scan
    had no --fail-on and no --fail-on-new, the unwaived ones at or above JUNIT_DEFAULT_FAIL_ON."""
    gates = Gates.from_report(data)
    if gates.fail_on is None and gates.fail_on_new is None:
        gates = Gates(fail_on=JUNIT_DEFAULT_FAIL_ON)
    on, on_new = tripping(data["findings"], gates)
    return {f["id"] for f in (*on, *on_new)}


def _by_check(findings: Sequence[Mapping[str, Any]]) -> str:
    counts = Counter(f["check"] for f in findings)
    return ", ".join(f"{c} x{n}" if n > 1 else c for c, n in sorted(counts.items()))


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def failures(data: Mapping[str, Any], gates: Gates) -> list[str]:
    """One line per failing gate, e.g. `3 unwaived findings at or above high (TLS001 x2,
    MTLS002)`; empty when every gate passes."""
    lines: list[str] = []
    on, on_new = tripping(data["findings"], gates)
    if on and gates.fail_on is not None:
        lines.append(
            f"{_n(len(on), 'unwaived finding')} at or above {gates.fail_on.label} ({_by_check(on)})"
        )
    if on_new and gates.fail_on_new is not None:
        lines.append(
            f"{_n(len(on_new), 'new unwaived finding')} at or above {gates.fail_on_new.label} "
            f"since the baseline ({_by_check(on_new)})"
        )
    summary = data["summary"]
    if gates.fail_under is not None and summary["score"] < gates.fail_under:
        lines.append(
            f"score {summary['score']} (grade {summary['grade']}) is below "
            f"--fail-under {gates.fail_under}"
        )
    return lines
