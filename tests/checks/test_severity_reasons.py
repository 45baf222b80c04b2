"""A finding whose severity is not its check's default says why (issue #27 item 7), and every
finding lies in the severity range its check declares (`mesh-audit checks` shows it).

Swept over every fixture case and the demo mesh, so a check that starts raising or lowering a
severity without a reason, or beyond its declared range, fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.base.errors import InputError
from auditor.base.model import Severity
from auditor.checks import all_checks
from auditor.checks.docs import render_checks
from tests.helpers import CASES, DEMO, scan_paths

# input cases that exist to be refused (exit 2), not to be scanned
REFUSED = (
    "input/syntax-error/broken.yaml",
    "input/duplicate-keys/concatenated.yaml",
    "input/duplicate-keys/list.yaml",
)
CASE_FILES = sorted(
    p for p in CASES.rglob("*.yaml") if p.is_file() and str(p.relative_to(CASES)) not in REFUSED
)
RANGES = {c.meta.id: c.meta.severities for c in all_checks()}
DEFAULTS = {c.meta.id: c.meta.severity for c in all_checks()}


def _findings(path: Path) -> list[dict[str, Any]]:
    return list(scan_paths(path).data["findings"])


@pytest.mark.parametrize("name", REFUSED)
def test_the_cases_left_out_are_refused_as_input(name: str) -> None:
    with pytest.raises(InputError):
        scan_paths(CASES / name)


@pytest.mark.parametrize(
    "path", [DEMO, *CASE_FILES], ids=lambda p: str(p.relative_to(CASES.parent))
)
def test_raised_or_lowered_severity_says_why(path: Path) -> None:
    unexplained = []
    outside = []
    for f in _findings(path):
        sev = Severity.parse(f["severity"])
        low, high = RANGES[f["check"]]
        if not low <= sev <= high:
            outside.append((f["check"], f["severity"], f["resource"]["name"]))
        if sev != DEFAULTS[f["check"]] and not f.get("severity_reason"):
            unexplained.append((f["check"], f["severity"], f["resource"]["name"]))
        if sev == DEFAULTS[f["check"]]:
            assert "severity_reason" not in f  # said only where it differs
    assert outside == []
    assert unexplained == []


def test_demo_authz006_says_it_is_high_because_exposed() -> None:
    data = scan_paths(DEMO).data
    found = {
        (f["check"], f["resource"]["name"]): (f["severity"], f.get("severity_reason"))
        for f in data["findings"]
        if f["check"] in ("AUTHZ006", "GW006")
    }
    assert found[("AUTHZ006", "payments")] == (
        "high",
        "a workload it leaves open is reachable from outside the cluster",
    )
    # NodePort around the gateway: medium, not GW006's default high, and why
    assert found[("GW006", "legacy-billing-nodeport")] == (
        "medium",
        "reachable from every node's address (NodePort, host port or host network), in plaintext",
    )


def test_checks_command_shows_the_range() -> None:
    table = render_checks("text").splitlines()
    row = next(line for line in table if line.startswith("AUTHZ006 "))
    assert " medium (medium-high) " in row
    fixed = next(line for line in table if line.startswith("GW001 "))
    assert " low " in fixed and "(" not in fixed.split("low")[1][:3]
    docs = {d["id"]: d for d in json.loads(render_checks("json"))}
    assert docs["TLS001"]["severity_range"] == ["low", "high"]
    assert docs["GW001"]["severity_range"] == ["low", "low"]
