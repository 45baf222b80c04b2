"""The PDF report: WeasyPrint over the report HTML, with print CSS and the network refused.

The URL fetcher serves only `data:` URIs; anything else raises, so rendering a report never makes
a request (or reads a local file), whatever a tenant wrote into a name or an annotation.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import weasyprint
from weasyprint.urls import URLFetcher

from auditor.report.html import render_html
from auditor.report.model import Report


class FetchRefused(ValueError):
    """WeasyPrint asked for a URL that is not a data: URI."""


class OfflineFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint ships no type hints
    """WeasyPrint's fetcher restricted to data: URIs, without redirects."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=False)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        if not url.startswith("data:"):
            raise FetchRefused(f"mesh-audit reports fetch nothing: refused {url[:80]!r}")
        return super().fetch(url, headers)


def render_pdf(data: Mapping[str, Any], *, url_fetcher: URLFetcher | None = None) -> bytes:
    html = render_html(data, medium="pdf")
    document = weasyprint.HTML(
        string=html, base_url=None, url_fetcher=url_fetcher or OfflineFetcher()
    )
    pdf: bytes = document.write_pdf()
    return pdf


def write(report: Report, output_dir: Path) -> Path:
    path = output_dir / "report.pdf"
    path.write_bytes(render_pdf(report.data))
    return path
