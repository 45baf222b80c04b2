"""report.sarif: SARIF 2.1.0 for code-scanning dashboards.

One run; the rules are the report's check list (the registry); one result per finding, with the
resource as a logical location and, when the object was read from a file, that file (and the
document in it) as the physical location. Waived findings carry an accepted external suppression
with the waiver's reason; with a baseline, results carry `baselineState`. A finding's stable id
is its partial fingerprint, so dashboards track it across runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from auditor.base.limits import LIMITS
from auditor.base.text import inert_tree
from auditor.report.model import Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFO_URI = "https://github.com/mesh-audit/mesh-audit"
# The checks page (docs/checks.md): each rule's helpUri points at it (the check's row and
# entry name its ID).
CHECKS_URI = f"{INFO_URI}/blob/main/docs/checks.md"

# SARIF has three result levels; the severity itself travels in properties, and the
# `security-severity` score (0-10) is what GitHub code scanning ranks security results by.
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}

# KObject.origin: `path`, `path#document` or `path#document.items[i]`.
_ORIGIN = re.compile(r"^(?P<file>.+?)(?:#(?P<doc>\d+)(?:\.items\[(?P<item>\d+)\])?)?$")


def _rule(check: Mapping[str, Any]) -> dict[str, Any]:
    urls = [r for r in check["references"] if r.startswith(("https://", "http://"))]
    rule: dict[str, Any] = {
        "id": check["id"],
        "name": "".join(w.capitalize() for w in re.findall(r"[A-Za-z0-9]+", check["title"])),
        "shortDescription": {"text": check["title"]},
        "fullDescription": {"text": check["rationale"] or check["title"]},
        "help": {"text": check["remediation"] or check["title"]},
        "defaultConfiguration": {"level": LEVELS[check["severity"]]},
        "properties": {
            "category": check["category"],
            "severity": check["severity"],
            "security-severity": SECURITY_SEVERITY[check["severity"]],
            "tags": ["security", "istio", check["category"]],
            "references": list(check["references"]),
        },
    }
    rule["helpUri"] = CHECKS_URI
    if urls:
        rule["properties"]["documentation"] = urls[0]
    return rule


def _logical(resource: Mapping[str, Any]) -> dict[str, Any]:
    ns = resource.get("namespace")
    qualified = (
        f"{ns}/{resource['kind']}/{resource['name']}"
        if ns
        else (f"{resource['kind']}/{resource['name']}")
    )
    return {"name": resource["name"], "fullyQualifiedName": qualified, "kind": "resource"}


def _physical(origin: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    m = _ORIGIN.match(origin)
    if m is None:
        return None
    file = Path(m["file"])
    uri = file.as_uri() if file.is_absolute() else quote(file.as_posix(), safe="/._-~")
    props: dict[str, Any] = {}
    if m["doc"]:
        props["document"] = int(m["doc"])
    if m["item"]:
        props["item"] = int(m["item"])
    return {"artifactLocation": {"uri": uri}}, props


def _result(
    finding: Mapping[str, Any], rule_index: int | None, file_source: bool
) -> dict[str, Any]:
    location: dict[str, Any] = {"logicalLocations": [_logical(finding["resource"])]}
    origin = finding.get("origin")
    if file_source and isinstance(origin, str):
        physical = _physical(origin)
        if physical is not None:
            location["physicalLocation"], props = physical
            # GitHub code scanning places an alert on a line: the object's first line when the
            # loader knows it, else the file's first line
            line = finding.get("origin_line")
            location["physicalLocation"]["region"] = {
                "startLine": line if isinstance(line, int) and line > 0 else 1
            }
            if props:
                location["properties"] = props
    result: dict[str, Any] = {
        "ruleId": finding["check"],
        "level": LEVELS[finding["severity"]],
        "message": {"text": finding["message"]},
        "locations": [location],
        "partialFingerprints": {"meshAuditFindingId/v1": finding["id"]},
        "properties": {
            "findingId": finding["id"],
            "severity": finding["severity"],
            "category": finding["category"],
            "path": finding["path"],
            "evidence": finding["evidence"],
            "remediation": finding["remediation"],
        },
    }
    if finding.get("severity_reason"):
        # the rule's level is the check's default; this says why the result's differs
        result["properties"]["severityReason"] = finding["severity_reason"]
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    waiver = finding.get("waiver")
    if waiver:
        suppression: dict[str, Any] = {
            "kind": "external",
            "status": "accepted",
            "justification": waiver["reason"],
        }
        suppression["properties"] = {
            k: waiver[k] for k in ("owner", "expires", "ticket") if waiver.get(k)
        }
        result["suppressions"] = [suppression]
    status = finding.get("baseline_status")
    if status in ("new", "unchanged"):
        result["baselineState"] = status
    return result


def _category(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "files"


def to_sarif(data: Mapping[str, Any]) -> dict[str, Any]:
    rules = [_rule(c) for c in data["checks"]]
    index = {r["id"]: i for i, r in enumerate(rules)}
    file_source = data["source"]["type"] in ("files", "snapshot")
    notifications = [
        {
            "level": "error" if run["status"] == "error" else "warning",
            "message": {"text": f"{run['check']} {run['status']}: {run['message']}"},
            "descriptor": {"id": run["check"]},
        }
        for run in data["check_runs"]
        if run["status"] != "ran"
    ]
    source = data["source"]
    target = source.get("context") or source["type"]
    run: dict[str, Any] = {
        # one category per cluster/context, so GitHub keeps each cluster's alerts apart
        "automationDetails": {"id": f"mesh-audit/{_category(target)}/"},
        "tool": {
            "driver": {
                "name": data["tool"]["name"],
                "version": data["tool"]["version"],
                "informationUri": INFO_URI,
                "rules": rules,
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "endTimeUtc": data["generated_at"],
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": [_result(f, index.get(f["check"]), file_source) for f in data["findings"]],
        "columnKind": "unicodeCodePoints",
    }
    # Every text field (messages, names, URIs from file origins) made inert: SARIF viewers and
    # CI logs show them as they are.
    run = inert_tree(run, keep="\n", limit=LIMITS.max_rendered_chars)
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def write(report: Report, output_dir: Path) -> Path:
    path = output_dir / "report.sarif"
    path.write_bytes(orjson.dumps(to_sarif(report.data), option=orjson.OPT_INDENT_2) + b"\n")
    return path
