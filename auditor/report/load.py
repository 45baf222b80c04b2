"""Read a saved report.json back, so it can be rendered again (collect once, export many times)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.report.model import Report


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(
        resources.files("auditor.schema").joinpath("report.schema.json").read_text("utf-8")
    )
    return jsonschema.Draft202012Validator(schema)


def load_report(path: Path) -> Report:
    """A report.json that is unreadable, not JSON or not schema-valid is an input error."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from exc
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise InputError(
            f"{path}: not a mesh-audit report (schema): at {where}: {error.message[:200]}"
        )
    return Report(data)
