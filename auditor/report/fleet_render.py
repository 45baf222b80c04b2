"""The fleet report as JSON, HTML and PDF (the same HTML through WeasyPrint, network refused)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from markupsafe import Markup

from auditor.base.errors import InputError
from auditor.base.text import display_time
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
                path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
            elif name == "html":
                path.write_text(render_fleet_html(data), encoding="utf-8")
            else:
                path.write_bytes(render_fleet_pdf(data))
            written.append(path)
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename or output_dir}: {exc.strerror}") from exc
    return written


def terminal_lines(data: Mapping[str, Any]) -> list[str]:
    """One line per cluster, lowest score first, then what needs attention."""
    from auditor.report.terminal import printable

    lines = [f"mesh-audit fleet: {data['summary']['clusters']} clusters"]
    for row in data["clusters"]:
        flags = [f for f in ("stale", "partial") if row[f]]
        lines.append(
            f"  {printable(row['cluster'], 60)}: score {row['score']} ({row['grade']}), "
            f"{row['findings']} findings, kinds {row['kinds_read']}/{row['kinds_total']}, "
            f"{_age(row['age_hours'])}" + (f" [{', '.join(flags)}]" if flags else "")
        )
    for err in data.get("errors") or []:
        lines.append(f"  {printable(err['cluster'], 60)}: NO REPORT: {printable(err['error'])}")
    for rec in data["recurring"][:10]:
        lines.append(
            f"  recurring {rec['check']} ({rec['severity']}) in {rec['cluster_count']} clusters: "
            f"{printable(rec['title'], 80)}"
        )
    return lines
