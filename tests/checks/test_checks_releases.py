"""Release and security policy (REL001 end of life, REL002 skew): exact findings, dated data."""

from __future__ import annotations

import datetime as dt

import pytest

from auditor.istio import releases as R
from tests.case_helpers import Finding, findings, report_for

CASES: dict[str, set[Finding]] = {
    "releases/end-of-life.yaml": {
        ("REL001", "Deployment", "istio-system", "istiod", "high"),
        ("REL002", "Deployment", "bookinfo", "details", "medium"),
        ("REL002", "Deployment", "bookinfo", "productpage", "medium"),
    },
    "releases/supported.yaml": set(),
    "releases/newer-than-table.yaml": set(),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_release_findings(case: str) -> None:
    assert findings(case, ("REL",)) == CASES[case]


def test_end_of_life_message_dates_the_table_and_says_it_is_old() -> None:
    (found,) = [
        f for f in report_for("releases/end-of-life.yaml")["findings"] if f["check"] == "REL001"
    ]
    assert found["message"] == (
        "istiod istio-system/istiod runs Istio 1.24.2: Istio 1.24 reached end of life on "
        "2025-06-24, so it gets no security patches (supported-releases table of 2025-05-08, "
        "older than six months at this audit)"
    )


def test_a_version_newer_than_the_table_is_not_judged_and_says_why() -> None:
    runs = {r["check"]: r for r in report_for("releases/newer-than-table.yaml")["check_runs"]}
    assert runs["REL001"]["message"] == (
        "not judged: Istio 1.27 is not in the supported-releases table (supported-releases "
        "table of 2025-05-08, older than six months at this audit)"
    )


@pytest.mark.parametrize(
    ("minor", "when", "supported"),
    [
        ((1, 24), dt.date(2025, 6, 23), True),
        ((1, 24), dt.date(2025, 6, 24), False),
        ((1, 22), dt.date(2025, 4, 15), None),  # not listed; 1.23 still supported then
        ((1, 22), dt.date(2025, 4, 16), False),  # ended no later than 1.23
        ((1, 26), dt.date(2025, 5, 1), None),  # not released yet
        ((1, 27), dt.date(2026, 1, 1), None),  # newer than the table
        ((1, 25), dt.date(2025, 12, 31), True),  # end of life expected ~Dec 2025
        ((1, 25), dt.date(2026, 1, 1), None),  # that month passed: the table cannot say
    ],
)
def test_support_at_the_audit_time(
    minor: tuple[int, int], when: dt.date, supported: bool | None
) -> None:
    assert R.support(minor, when, R.release_table()).supported is supported
