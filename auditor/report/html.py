"""The HTML report: one self-contained file (inline CSS, SVG and script), rendered with Jinja2.

Templates come from the report_templates package through importlib.resources, so an installed
wheel renders the same as a checkout. Autoescaping is on and undefined names fail loudly; the only
markup passed in is our own (CSS, script, the SVG maps built with every string escaped).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from auditor.base.limits import LIMITS
from auditor.base.text import capped_tree
from auditor.report import view
from auditor.report.model import Report

TEMPLATE_PACKAGE = "report_templates"
MAIN_TEMPLATE = "report.html.j2"


def _asset(name: str) -> str:
    return resources.files(TEMPLATE_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def _load(name: str) -> str | None:
    try:
        return _asset(name)
    except (FileNotFoundError, IsADirectoryError):
        return None


_BREAK_HINT = re.compile(r"([./_=,@]+)(?=[^\s<])")


def breakable(text: object) -> Markup:
    """Escape, then allow line breaks after dots, slashes, underscores, `=`, `,` and `@`
    (hostnames, namespace/name, label selectors): a long name breaks there, never inside a
    word. Hyphens and spaces are break points already."""
    return Markup(_BREAK_HINT.sub(r"\1<wbr>", str(escape(text))))


# In the PDF a <wbr> is a box of its own: the 4,000 of a 100k mesh's report took 87 MB of
# WeasyPrint's layout (benchmarks/README.md). Text that fits a narrow cell gets none there. Prose
# cells in print break only at spaces and hints (print.css), so a name of 16 characters or more
# (`sidecar.istio.io/status`) gets its hints; the PDF lists only the inventory rows that carry a
# weakness, so the 15k mesh's PDF takes 412 MB at most (399 with hints from 32 characters).
PDF_WBR_MIN_CHARS = 16


def breakable_pdf(text: object) -> Markup:
    """`breakable` for the PDF: break hints only in text too long for a narrow cell."""
    if len(str(text)) < PDF_WBR_MIN_CHARS:
        return Markup(escape(text))
    return breakable(text)


def ticks(text: object) -> Markup:
    """Escape, then show `backticked` spans as code (check docs and remediations use them)."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: show the text as written
        return Markup(escape(text))
    return Markup(
        "".join(
            f"<code>{breakable(p)}</code>" if i % 2 else str(breakable(p))
            for i, p in enumerate(parts)
        )
    )


@cache
def environment(medium: str = "html") -> Environment:
    """The Jinja environment of one medium ("html" or "pdf")."""
    env = Environment(
        loader=FunctionLoader(_load),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["breakable"] = breakable_pdf if medium == "pdf" else breakable
    env.filters["ticks"] = ticks
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    env.filters["plural"] = lambda n, word, many=None: (
        f"{int(n):,} {word}" if n == 1 else f"{int(n):,} {many or word + 's'}"
    )
    return env


def _page(data: Mapping[str, Any], medium: str) -> tuple[Template, dict[str, Any]]:
    """The main template and what it is rendered with."""
    ctx = view.build(capped_tree(data, LIMITS.max_rendered_chars), medium=medium)
    script = _asset("report.js") if medium == "html" else ""
    script_hash = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return environment(medium).get_template(MAIN_TEMPLATE), {
        **ctx,
        "css": Markup(_asset("report.css")),
        # only reports with a baseline or waivers carry their styles (others stay as they were)
        "changes_css": Markup(_asset("changes.css"))
        if ctx["baseline"] or ctx["has_waivers"]
        else "",
        "print_css": Markup(_asset("print.css")),
        "script": Markup(script),
        "script_hash": script_hash,
    }


def render_html(data: Mapping[str, Any], *, medium: str = "html") -> str:
    """The report as HTML text; `medium="pdf"` caps findings per check and leaves out the script.

    Strings are capped at `LIMITS.max_rendered_chars` (docs/limits.md); report.json keeps them
    whole.
    """
    template, args = _page(data, medium)
    return template.render(**args)


def write(report: Report, output_dir: Path) -> Path:
    """report.html, written as the template yields it: the page (28 MB at 250k objects) is never
    one string in memory, nor the list of its pieces that joining them needs."""
    path = output_dir / "report.html"
    template, args = _page(report.data, "html")
    with path.open("w", encoding="utf-8") as out:
        out.writelines(template.generate(**args))
    return path
