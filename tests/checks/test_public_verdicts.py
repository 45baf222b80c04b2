"""Every finding at medium or above on the fixtures modelled on public configurations is judged
(issue 29, "Done when"): tests/data/public-verdicts.yaml lists each with its verdict, `true` or
`accepted`, and why. A new finding there (a false positive until someone judges it), or a judged
one that disappears (a missed weakness), fails the build; so does a public-modelled fixture with no
entry. The failure message prints the rows to add or remove."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.case_helpers import CASES, report_for
from tests.helpers import finding_key

VERDICTS = Path(__file__).resolve().parent.parent / "data" / "public-verdicts.yaml"
JUDGED: dict[str, list[list[str]]] = yaml.safe_load(VERDICTS.read_text())
AT_LEAST_MEDIUM = ("medium", "high", "critical")
# A fixture's leading comment names the public source it is modelled on.
PUBLIC = re.compile(
    r"modell?ed on|written after|\bSources?:|End state of|istio/istio|istio\.io|"
    r"kubeflow/manifests|github\.com/|argoproj/|open-policy-agent/|kubernetes/(website|ingress-nginx)|"
    r"cloud\.google\.com|Google's|learn\.microsoft|knative-extensions",
    re.IGNORECASE,
)

Row = tuple[str, str, str, str, str]


def _header(path: Path) -> str:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            lines.append(line)
        elif line.strip():
            break
    return "\n".join(lines)


def public_fixtures() -> list[str]:
    return sorted(
        str(p.relative_to(CASES)) for p in CASES.rglob("*.yaml") if PUBLIC.search(_header(p))
    )


def test_every_public_fixture_is_judged() -> None:
    assert sorted(JUDGED) == public_fixtures()


def test_verdicts_are_true_or_accepted_with_a_reason() -> None:
    for case, rows in JUDGED.items():
        for row in rows:
            assert len(row) == 7, (case, row)
            assert row[4] in AT_LEAST_MEDIUM, (case, row)
            assert row[5] in ("true", "accepted"), (case, row)
            assert row[6].strip(), (case, row)


def _found(case: str) -> set[Row]:
    data: dict[str, Any] = report_for(case)
    return {finding_key(f) for f in data["findings"] if f["severity"] in AT_LEAST_MEDIUM}


@pytest.mark.parametrize("case", sorted(JUDGED))
def test_findings_match_their_verdicts(case: str) -> None:
    found = _found(case)
    judged = {(r[0], r[1], r[2], r[3], r[4]) for r in JUDGED[case]}
    new = sorted(found - judged)
    gone = sorted(judged - found)
    assert not new and not gone, (
        f"{case}: judge these in {VERDICTS.name}\n"
        + "".join(f"  new (add with a verdict): {list(r)}\n" for r in new)
        + "".join(f"  gone (remove, or fix the regression): {list(r)}\n" for r in gone)
    )
