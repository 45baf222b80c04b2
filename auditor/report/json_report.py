"""report.json: the contract other tools read (see auditor/schema/report.schema.json)."""

from __future__ import annotations

from pathlib import Path

import orjson

from auditor.report.model import Report


def dumps(report: Report) -> bytes:
    return orjson.dumps(report.data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def write(report: Report, output_dir: Path) -> Path:
    path = output_dir / "report.json"
    path.write_bytes(dumps(report))
    return path
