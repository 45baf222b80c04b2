"""The fleet report as JSON, HTML and PDF (the same HTML through WeasyPrint, network refused),
and its terminal lines.

Every string in a fleet comes from report files, that is from tenants and from whoever can
write to the bucket: the HTML gets it through `capped_tree` (control and bidi characters shown
escaped, capped like every rendered report) under autoescape, the terminal through `printable`
(`inert`). Files are written atomically: a failed write leaves the previous file whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from markupsafe import Markup

from auditor.base.atomic import write_atomic
from auditor.base.errors import InputError
from auditor.base.limits import LIMITS
from auditor.base.text import capped_tree, display_time
from auditor.report.html import _asset, environment

FLEET_FORMATS = ("json", "html", "pdf")
TEMPLATE = "fleet.html.j2"


def parse_fleet_formats(text: str) -> list[str]:
    names = list(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    bad = [n for n in names if n not in FLEET_FORMATS]
    if not names or bad:
        raise InputError(f"--format: fleet reports are {', '.join(FLEET_FORMATS)}")
    return names


def _age(hours: float | None) -> str:
    if hours is None:
        return "age unknown"
    if hours < 1:
        return "under an hour ago"
    if hours < 48:
        return f"{hours:.0f} hours ago"
    return f"{hours / 24:.0f} days ago"


def render_fleet_html(data: Mapping[str, Any], *, medium: str = "html") -> str:
    data = capped_tree(data, LIMITS.max_rendered_chars)
    clusters = [
        {
            **row,
            "generated_display": display_time(row.get("generated_at")),
            "age_display": _age(row.get("age_hours")),
        }
        for row in data["clusters"]
    ]
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            **{k: v for k, v in data.items() if k != "clusters"},
            clusters=clusters,
            generated_display=display_time(str(data["generated_at"])),
            medium=medium,
            css=Markup(_asset("fleet.css")),
        )
    )


def render_fleet_pdf(data: Mapping[str, Any]) -> bytes:
    import weasyprint

    from auditor.report.pdf import OfflineFetcher

    html = render_fleet_html(data, medium="pdf")
    pdf: bytes = weasyprint.HTML(
        string=html, base_url=None, url_fetcher=OfflineFetcher()
    ).write_pdf()
    return pdf


def write_fleet(data: Mapping[str, Any], names: Sequence[str], output_dir: Path) -> list[Path]:
    written: list[Path] = []
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            path = output_dir / f"fleet.{name}"
            if name == "json":
                body = orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
            elif name == "html":
                body = render_fleet_html(data).encode("utf-8")
            else:
                body = render_fleet_pdf(data)
            write_atomic(path, body)
            written.append(path)
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename or output_dir}: {exc.strerror}") from exc
    return written


def terminal_lines(data: Mapping[str, Any]) -> list[str]:
    """One line per cluster, incomplete audits and lowest scores first, then what needs
    attention. Every field is printed through `printable` (inert, capped)."""
    from auditor.report.terminal_text import printable as p

    lines = [f"mesh-audit fleet: {p(data['summary']['clusters'])} clusters"]
    for row in data["clusters"]:
        flags = [f for f in ("stale", "partial") if row[f]]
        where = f"{p(row['cluster'], 60)}: "
        if not row.get("complete", True):
            state = f"INCOMPLETE (fail closed, no score): {p(row.get('incomplete'), 200)}"
        elif row["score"] is None:
            state = "no score recorded"
        else:
            state = f"score {p(row['score'])} ({p(row['grade'])})"
        lines.append(
            f"  {where}{state}, {p(row['findings'])} findings, "
            f"kinds {p(row['kinds_read'])}/{p(row['kinds_total'])}, "
            f"{_age(row['age_hours'])}" + (f" [{', '.join(flags)}]" if flags else "")
        )
    for err in data.get("errors") or []:
        lines.append(f"  {p(err['cluster'], 60)}: NO REPORT: {p(err['error'])}")
    for bad in data.get("unreadable") or []:
        lines.append(f"  UNREADABLE {p(bad['origin'], 200)}: {p(bad['error'])}")
    for rec in data["recurring"][:10]:
        lines.append(
            f"  recurring {p(rec['check'], 40)} ({p(rec['severity'])}) in "
            f"{p(rec['cluster_count'])} clusters: {p(rec['title'], 80)}"
        )
    return lines
