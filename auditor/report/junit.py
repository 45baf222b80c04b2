"""report.junit.xml: checks as tests, for CI dashboards that read JUnit XML.

A `<testsuite>` per check (named `GW001: title`) so a dashboard groups by check; inside it:
- the check ran and found nothing: one passing `<testcase>` named by the check ID;
- the check ran and found something: one `<testcase>` per finding. A finding that trips the
  scan's gates (`--fail-on`, `--fail-on-new`; without either, findings at or above high: see
  auditor/report/gates.py) has one `<failure>` (most JUnit readers take only the first failure of a
  test case, so findings are not stacked); a finding below the gate is a passing test case with
  the finding in `<system-out>`, so JUnit and the exit code agree; a waived finding is
  `<skipped>` with the waiver's reason;
- the check was not run (its kinds could not be read): one `<skipped>` test case;
- the check raised: one `<error>` test case.
XML escaping is done by ElementTree; control characters (which XML 1.0 cannot carry, or which act
on a terminal showing the log) are escaped by `inert`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.base.limits import LIMITS
from auditor.base.text import inert
from auditor.report.gates import junit_failing_ids
from auditor.report.model import Report


def _clean(text: object) -> str:
    return inert(text, LIMITS.max_rendered_chars, keep="\n")


def _resource(ref: Mapping[str, Any]) -> str:
    ns = ref.get("namespace")
    return f"{ref['kind']} {ns}/{ref['name']}" if ns else f"{ref['kind']} {ref['name']}"


def _finding_case(suite: ET.Element, finding: Mapping[str, Any], failing: bool) -> tuple[int, int]:
    case = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": _clean(f"mesh-audit.{finding['check']}"),
            "name": _clean(
                f"{finding['check']} {_resource(finding['resource'])} {finding['path']}"
            ),
            "time": "0",
        },
    )
    waiver = finding.get("waiver")
    if waiver:
        ET.SubElement(case, "skipped", {"message": _clean(f"waived: {waiver['reason']}")})
        return 0, 1
    lines = [
        f"id: {finding['id']}",
        f"severity: {finding['severity']}",
        f"resource: {_resource(finding['resource'])}",
        f"path: {finding['path']}",
    ]
    if finding.get("origin"):
        lines.append(f"origin: {finding['origin']}")
    if finding.get("baseline_status"):
        lines.append(f"baseline: {finding['baseline_status']}")
    lines.append(f"remediation: {finding['remediation']}")
    if not failing:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n".join([f"message: {finding['message']}", *lines]))
        return 0, 0
    failure = ET.SubElement(
        case,
        "failure",
        {"message": _clean(finding["message"]), "type": finding["severity"]},
    )
    failure.text = _clean("\n".join(lines))
    return 1, 0


def to_xml(data: Mapping[str, Any]) -> bytes:
    by_check: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for finding in data["findings"]:
        by_check[finding["check"]].append(finding)
    titles = {c["id"]: c["title"] for c in data["checks"]}
    failing = junit_failing_ids(data)
    root = ET.Element("testsuites", {"name": "mesh-audit"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for run in data["check_runs"]:
        check = run["check"]
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": _clean(f"{check}: {titles.get(check, check)}"),
                "timestamp": data["generated_at"].rstrip("Z"),
                "time": "0",
            },
        )
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        findings = by_check.get(check, [])
        if run["status"] == "ran" and findings:
            for finding in findings:
                failed, skipped = _finding_case(suite, finding, finding["id"] in failing)
                counts["failures"] += failed
                counts["skipped"] += skipped
            counts["tests"] = len(findings)
        else:
            case = ET.SubElement(
                suite, "testcase", {"classname": f"mesh-audit.{check}", "name": check, "time": "0"}
            )
            counts["tests"] = 1
            if run["status"] == "skipped":
                ET.SubElement(case, "skipped", {"message": _clean(run["message"])})
                counts["skipped"] = 1
            elif run["status"] == "error":
                ET.SubElement(case, "error", {"message": _clean(run["message"])})
                counts["errors"] = 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def write(report: Report, output_dir: Path) -> Path:
    path = output_dir / "report.junit.xml"
    path.write_bytes(to_xml(report.data))
    return path
