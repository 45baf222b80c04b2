"""Output formats: a name the CLI offers maps to exactly one renderer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from auditor.errors import InputError
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
    """Write each format; an unwritable directory is a one-line input error, not a traceback."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        return [RENDERERS[name](report, output_dir) for name in names]
    except OSError as exc:
        where = exc.filename or output_dir
        raise InputError(f"cannot write {where}: {exc.strerror or exc}") from exc
