"""Read a saved report.json back, so it can be rendered again (collect once, export many times)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from auditor.base.errors import InputError
from auditor.base.limits import LIMITS
from auditor.base.text import inert
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
        with path.open("rb") as fh:
            text = fh.read(LIMITS.max_file_bytes + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(text) > LIMITS.max_file_bytes:
        raise InputError(f"{path}: larger than {LIMITS.max_file_bytes} bytes (docs/limits.md)")
    try:
        # orjson refuses what no writer could have produced: unpaired surrogates, NaN
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from exc
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise InputError(
            f"{path}: not a mesh-audit report (schema): at {inert(where, 200)}: "
            f"{inert(error.message, 200)}"
        )
    return Report(data)
