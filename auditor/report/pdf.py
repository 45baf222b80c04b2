"""The PDF report: WeasyPrint over the report HTML, with print CSS and the network refused.

The URL fetcher serves only `data:` URIs; anything else raises, so rendering a report never makes
a request, whatever a tenant wrote into a name or an annotation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from auditor.report.html import render_html
from auditor.report.model import Report

UrlFetcher = Callable[[str], dict[str, Any]]


class FetchRefused(ValueError):
    """WeasyPrint asked for a URL that is not a data: URI."""


def offline_fetcher(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher

        result: dict[str, Any] = default_url_fetcher(url)
        return result
    raise FetchRefused(f"mesh-audit reports fetch nothing: refused {url[:80]!r}")


def render_pdf(data: Mapping[str, Any], *, url_fetcher: UrlFetcher = offline_fetcher) -> bytes:
    import weasyprint

    html = render_html(data, medium="pdf")
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=url_fetcher)
    pdf: bytes = document.write_pdf()
    return pdf


def write(report: Report, output_dir: Path) -> Path:
    path = output_dir / "report.pdf"
    path.write_bytes(render_pdf(report.data))
    return path
