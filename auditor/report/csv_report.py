"""report.csv: one row per finding, for spreadsheets and ticket imports.

Tenant-written text could start a cell with `=`, `+`, `-` or `@`, which spreadsheet programs run
as a formula ("CSV injection"); such cells are prefixed with `'` so they are read as text.
Control characters (terminal escapes, bidi overrides) are escaped by `inert`; line breaks stay
(the csv module quotes them).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.base.limits import LIMITS
from auditor.base.text import inert
from auditor.report.model import Report
from auditor.report.risk import RiskOrder

COLUMNS = (
    "id",
    "check",
    "severity",
    "severity_reason",
    "category",
    "title",
    "kind",
    "namespace",
    "name",
    "api_version",
    "path",
    "message",
    "remediation",
    "origin",
    "waived",
    "waiver_reason",
    "waiver_owner",
    "waiver_expires",
    "waiver_ticket",
    "baseline_status",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else inert(value, LIMITS.max_rendered_chars, keep="\n")
    return "'" + text if text.startswith(_FORMULA_START) else text


def _row(finding: Mapping[str, Any]) -> list[str]:
    ref = finding["resource"]
    waiver = finding.get("waiver") or {}
    values: dict[str, Any] = {
        "id": finding["id"],
        "check": finding["check"],
        "severity": finding["severity"],
        # why the severity differs from the check's default; empty when it does not
        "severity_reason": finding.get("severity_reason") or "",
        "category": finding["category"],
        "title": finding["title"],
        "kind": ref["kind"],
        "namespace": ref.get("namespace") or "",
        "name": ref["name"],
        "api_version": ref.get("apiVersion") or "",
        "path": finding["path"],
        "message": finding["message"],
        "remediation": finding["remediation"],
        "origin": finding.get("origin") or "",
        "waived": "yes" if waiver else "no",
        "waiver_reason": waiver.get("reason"),
        "waiver_owner": waiver.get("owner"),
        "waiver_expires": waiver.get("expires"),
        "waiver_ticket": waiver.get("ticket"),
        "baseline_status": finding.get("baseline_status") or "",
    }
    return [safe_cell(values[c]) for c in COLUMNS]


def to_csv(data: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for finding in RiskOrder(data).findings():  # worst first, as every list (report/risk.py)
        writer.writerow(_row(finding))
    return out.getvalue()


def write(report: Report, output_dir: Path) -> Path:
    path = output_dir / "report.csv"
    path.write_text(to_csv(report.data), encoding="utf-8", newline="")
    return path
