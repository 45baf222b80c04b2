"""The PDF report read back with pypdf: pages, numbering, bookmarks, metadata, escaping, network."""

from __future__ import annotations

import copy
import io
import re
from typing import Any

import pypdf
import pytest

from auditor.report import risk
from auditor.report.html import render_html
from auditor.report.pdf import FetchRefused, OfflineFetcher, render_pdf
from tests.report_support import COMMAND, EGRESS_SAMPLE, scan_case, squash, with_changes


def outline_titles(reader: pypdf.PdfReader) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((depth, item.title))

    walk(reader.outline, 1)
    return out


class RecordingFetcher(OfflineFetcher):
    """Records every URL WeasyPrint asks for, data: URIs included."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> Any:
        self.urls.append(url)
        return super().fetch(url, headers)


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    return with_changes(scan_case("small-mesh", COMMAND), egress=EGRESS_SAMPLE)


@pytest.fixture(scope="module")
def small_pdf(small: dict[str, Any]) -> pypdf.PdfReader:
    fetcher = RecordingFetcher()
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(small, url_fetcher=fetcher)))
    assert fetcher.urls == []
    return reader


def test_every_page_is_numbered_page_n_of_m(small_pdf: pypdf.PdfReader) -> None:
    total = len(small_pdf.pages)
    assert total >= 6
    for n, page in enumerate(small_pdf.pages, start=1):
        assert f"Page {n} of {total}" in page.extract_text()


def chapters(reader: pypdf.PdfReader) -> list[tuple[str, range]]:
    """(title, page indexes) of each top-level bookmark: a chapter runs to the next one."""
    starts = [
        (item.title, reader.get_destination_page_number(item))
        for item in reader.outline
        if not isinstance(item, list)
    ]
    ends = [p for _, p in starts[1:]] + [len(reader.pages)]
    return [(t, range(p, max(p + 1, e))) for (t, p), e in zip(starts, ends, strict=True)]


def test_a4_portrait_with_landscape_map_pages(small_pdf: pypdf.PdfReader) -> None:
    """One orientation per chapter: the exposure and egress appendices (maps and wide tables)
    landscape, every other chapter portrait."""
    sizes = [
        (round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in small_pdf.pages
    ]
    for title, pages in chapters(small_pdf):
        wide = title in ("Appendix: exposure (entry points)", "Appendix: egress")
        assert {sizes[i] for i in pages} == {(842, 595) if wide else (595, 842)}, title


def test_bookmarks_per_section(small_pdf: pypdf.PdfReader) -> None:
    assert outline_titles(small_pdf) == [
        (1, "Executive summary"),
        (2, "Top weaknesses"),
        (1, "Contents"),
        (2, "What was not audited"),
        (1, "Findings"),
        (2, "High (2)"),
        (2, "Medium (2)"),
        (2, "Low (4)"),
        (1, "Appendix: exposure (entry points)"),
        (2, "Entry points with a weakness"),
        (1, "Appendix: egress"),
        (2, "External hosts with a weakness"),
        (1, "Appendix: mutual TLS by workload"),
        (1, "Appendix: access (who may call what)"),
        (1, "Appendix: coverage, score, inventory and checks"),
        (2, "Coverage"),
        (2, "How the score is computed"),
        (2, "Inventory by kind"),
        (2, "Checks and what they look at"),
        (1, "Attestation"),
    ]


def test_document_metadata(small_pdf: pypdf.PdfReader) -> None:
    meta = small_pdf.metadata
    assert meta is not None
    assert meta.title == "Istio mesh audit: fixtures/cases/report/small-mesh.yaml"
    assert meta["/Creator"] == "mesh-audit 0.1.0"
    assert meta["/Author"] == "mesh-audit 0.1.0"
    assert meta["/CreationDate"] == "D:20250314092653Z"


def test_cover_header_and_counts_per_severity(small_pdf: pypdf.PdfReader) -> None:
    cover = " ".join(small_pdf.pages[0].extract_text().split())
    assert "Mesh security audit" in cover
    assert "D68 / 100" in cover
    assert (
        "8 findings (8 distinct weaknesses): 0 critical · 2 high · 2 medium · 4 low · 0 info"
        in cover
    )
    assert "Top weaknesses" in cover
    text = " ".join(" ".join(p.extract_text() for p in small_pdf.pages).split())
    assert "Command mesh-audit scan --from fixtures/cases/report/small-mesh.yaml" in text
    assert squash("--token=***") in squash(text)
    # The running header: page 1 excluded, every later page names the input and the scan date.
    for page in small_pdf.pages[1:]:
        page_text = page.extract_text()
        assert "fixtures/cases/report/small-mesh.yaml" in page_text
        assert "scanned 2025-03-14 09:26:53 UTC" in page_text
    assert "mesh-audit report" not in cover


def test_section_titles_in_text(small_pdf: pypdf.PdfReader) -> None:
    text = "\n".join(p.extract_text() for p in small_pdf.pages)
    for title in (
        "Top weaknesses",
        "Contents",
        "What was not audited",
        "How the score is computed",
        "Coverage",
        "Appendix: exposure (entry points)",
        "Entry points with a weakness",
        "Appendix: access (who may call what)",
        "Appendix: egress",
        "External hosts with a weakness",
        "Appendix: mutual TLS by workload",
        "Findings",
        "Inventory by kind",
        "Checks and what they look at",
    ):
        assert title in text, title
    assert re.search(r"HIGH\s+2 findings", text)


def test_hostile_strings_render_as_text_with_network_refused() -> None:
    data = with_changes(scan_case("hostile"))
    data["source"]["context"] = "ctx</title><script>alert(10)</script>"
    fetcher = RecordingFetcher()
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(data, url_fetcher=fetcher)))
    assert fetcher.urls == []
    text = squash("".join(p.extract_text() for p in reader.pages))
    for s in (
        "gw</table><script>alert(1)</script>",
        "vs</td></tr></table><iframe src=http://attacker.invalid/>",
        "'quoted'<i>.example.com",
        "<a href='javascript:alert(7)'>lb</a>.example.com",
    ):
        assert squash(s) in text, s
    header = squash("mesh-audit report ctx</title><script>alert(10)</script>")
    assert all(header in squash(p.extract_text()) for p in reader.pages[1:])


def test_pdf_lists_the_first_n_per_check_and_counts_the_rest(small: dict[str, Any]) -> None:
    data = copy.deepcopy(small)
    gw001 = next(f for f in data["findings"] if f["check"] == "GW001")
    data["findings"] += [
        {**gw001, "id": f"GW001-{i:016x}", "resource": {**gw001["resource"], "name": f"gw-{i}"}}
        for i in range(4311 + 24)
    ]
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(data)))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "and 4,316 more in report.json/HTML." in text
    # the first 20 of the risk order are listed, the rest cut from the bottom
    ordered = [f for f in risk.RiskOrder(data).findings() if f["check"] == "GW001"]
    names = [f"Gateway shop/{f['resource']['name']} " for f in ordered]
    assert all(n in text for n in names[:20]) and not any(n in text for n in names[20:])


def test_offline_fetcher_serves_only_data_uris() -> None:
    fetcher = OfflineFetcher()
    assert fetcher("data:text/plain;base64,aGk=").read() == b"hi"
    for url in (
        "http://example.com/x.png",
        "https://example.com/",
        "file:///etc/passwd",
        "ftp://x",
    ):
        with pytest.raises(FetchRefused):
            fetcher(url)


def test_a_document_asking_for_urls_gets_nothing() -> None:
    """Markup we never emit, to prove the fetcher is in force: WeasyPrint asks, it refuses."""
    import weasyprint

    fetcher = RecordingFetcher()
    empty_svg = "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="
    html = (
        '<link rel="stylesheet" href="https://attacker.invalid/x.css">'
        '<img src="http://attacker.invalid/x.png"><img src="file:///etc/hostname">'
        f'<img src="data:image/svg+xml;base64,{empty_svg}">'
    )
    weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
    assert sorted(u[:24] for u in fetcher.urls) == [
        "data:image/svg+xml;base6",
        "file:///etc/hostname",
        "http://attacker.invalid/",
        "https://attacker.invalid",
    ]


def test_egress_table_shows_paths_and_what_stops_direct_reach(small_pdf: pypdf.PdfReader) -> None:
    """The PDF egress table carries the per-port model for the hosts with a weakness: the path
    out and each other way out with what NetworkPolicy says (EGRESS_SAMPLE: db.partner.example
    sent straight out by the reports exporter's sidecar); the host that leaves only through the
    egress gateway (api.stripe.com) is counted, not listed."""
    # table cells wrap at <wbr> break points, so compare without whitespace
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in small_pdf.pages))
    for expected in (
        "5432 TCP: direct, TLS origination sidecar",
        "5432 proxy sends it direct: reports/exporter (no egress NetworkPolicy)",
        "1 more host without a weakness: 1 only through an egress gateway. Every host is listed "
        "in report.json (egress[]) and report.html.",
    ):
        assert re.sub(r"\s+", "", expected) in text, expected


def test_access_table_lists_reachable_workloads_first_with_their_callers() -> None:
    from pathlib import Path

    from auditor.input.files import load_paths
    from auditor.run.scan import scan

    case = Path(__file__).parents[2] / "fixtures" / "cases" / "authz" / "kubeflow-oauth2-proxy.yaml"
    data = dict(scan(load_paths([str(case)]), generated_at="2026-01-01T00:00:00Z").data)
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(data)))
    text = squash("\n".join(p.extract_text() for p in reader.pages))
    start = text.rindex(squash("Appendix: access (who may call what)"))  # not the contents line
    section = text[start : text.index(squash("Appendix: coverage"), start)]
    # the gateway carries a weakness (an empty rule: any caller): listed, with its policies
    assert squash("Deployment istio-system/istio-ingressgateway") in section
    assert squash("internet, via guarded gateway") in section
    assert squash("CUSTOM istio-system/istio-ingressgateway-oauth2-proxy") in section
    assert squash("spec.rules[0]: empty rule: any caller, any request") in section
    # the dashboard behind it does not: counted in the PDF, listed (collapsed) in the HTML
    assert squash("Deployment kubeflow/centraldashboard") not in section
    assert (
        squash(
            "1 more workload without a weakness: 1 reachable from the internet, guarded, "
            "default restricted. Every workload is listed in report.json (authorization[])"
        )
        in section
    )
    html = render_html(data).replace("<wbr>", "")
    rest = html[html.index('<details class="rest">', html.index('id="access"')) :]
    rest = rest[: rest.index("</details>")]
    assert "Deployment kubeflow/centraldashboard" in rest
    assert (
        "principals cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account" in rest
    )
