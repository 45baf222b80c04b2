"""Output formats: a name the CLI offers maps to exactly one renderer."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from auditor.base.errors import InputError
from auditor.base.text import inert
from auditor.report import csv_report, html, json_report, junit, sarif
from auditor.report.model import Report

Renderer = Callable[[Report, Path], Path]


def _pdf(report: Report, output_dir: Path) -> Path:
    # importing WeasyPrint takes half a second; every scan paid it, though few write a PDF
    from auditor.report import pdf

    return pdf.write(report, output_dir)


RENDERERS: dict[str, Renderer] = {
    "json": json_report.write,
    "html": html.write,
    "pdf": _pdf,
    "sarif": sarif.write,
    "junit": junit.write,
    "csv": csv_report.write,
}


def render_bytes(report: Report, name: str) -> bytes:
    """One machine-readable format as bytes, for `scan -o FORMAT` (stdout)."""
    import orjson

    if name == "json":
        return json_report.dumps(report)
    if name == "sarif":
        return orjson.dumps(sarif.to_sarif(report.data), option=orjson.OPT_INDENT_2) + b"\n"
    if name == "junit":
        return junit.to_xml(report.data)
    if name == "csv":
        return csv_report.to_csv(report.data).encode("utf-8")
    raise InputError(f"-o: unknown format {name!r} (choose from json, sarif, csv, junit)")


def parse_formats(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise InputError("--format: give at least one of " + ", ".join(RENDERERS))
    unknown = [n for n in names if n not in RENDERERS]
    if unknown:
        raise InputError(
            f"--format: unknown format {unknown[0]!r} (choose from {', '.join(RENDERERS)})"
        )
    return list(dict.fromkeys(names))


def render_all(report: Report, names: list[str], output_dir: Path) -> list[Path]:
    """Write each format atomically; a failing renderer does not stop the others.

    Each renderer writes into a private temporary directory inside `output_dir`, and its file
    is renamed into place only when complete: a renderer that fails (or a killed process) never
    leaves a truncated report.html over the previous one. An unwritable directory is a one-line
    input error; renderers that fail are named in one line (InputError, exit 2) after the
    others have been written.
    """
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".mesh-audit-", dir=output_dir))
    except OSError as exc:
        where = exc.filename or output_dir
        raise InputError(f"cannot write {where}: {exc.strerror or exc}") from exc
    written: list[Path] = []
    failed: list[str] = []
    try:
        for name in names:
            try:
                staged = RENDERERS[name](report, staging)
                final = output_dir / staged.name
                os.replace(staged, final)
                written.append(final)
            except OSError as exc:
                where = exc.filename or output_dir
                failed.append(f"{name}: cannot write {where}: {exc.strerror or exc}")
            except Exception as exc:  # a renderer bug must not cost the other formats
                failed.append(f"{name}: renderer failed: {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if failed:
        done = f" (written: {', '.join(p.name for p in written)})" if written else ""
        raise InputError(inert("; ".join(failed), 400) + done)
    return written
