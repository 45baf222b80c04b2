"""The PDF as it prints, read back from the artefacts (the demo mesh and a generated 15k-object
mesh): the findings start early, nothing is drawn over the running header or footer or off the
page, no page is left (nearly) blank, one orientation per chapter, a contents page whose page
numbers are right, table headers repeated, no text under 6 pt, and the first exposure row is the
worst entry (issue 27 items 3 and 4).

Page geometry is report_templates/print.css's: A4, margins 20 mm top, 18 mm bottom, 15 mm sides;
the running header sits in the top margin and the footer ("mesh-audit", "Page n of m") in the
bottom one.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

import pypdf
import pytest

from auditor.base.text import display_time
from auditor.report import risk
from auditor.report.view import target_text
from tests.report.artefacts import Artefact, Page, art, dictionary, pdf_pages
from tests.report_support import squash

MM = 72 / 25.4
TOP, BOTTOM, SIDE = 20 * MM, 18 * MM, 15 * MM
TOL = 1.0  # pt: glyph boxes may touch a margin line
HEADER_PT = 7.5  # the running header's font size (print.css), to calibrate word heights


__all__ = ["art"]  # the artefacts fixture, one per mesh


@pytest.fixture(scope="module")
def reader(art: Artefact) -> pypdf.PdfReader:
    return pypdf.PdfReader(art.pdf)


def chapters(reader: pypdf.PdfReader) -> list[tuple[str, range]]:
    """(title, page indexes) per top-level bookmark; a chapter runs to the next one."""
    starts = [
        (item.title, reader.get_destination_page_number(item))
        for item in reader.outline
        if not isinstance(item, list)
    ]
    ends = [p for _, p in starts[1:]] + [len(reader.pages)]
    return [(t, range(p, max(p + 1, e))) for (t, p), e in zip(starts, ends, strict=True)]


def bookmarks(reader: pypdf.PdfReader) -> dict[str, int]:
    """Every bookmark's title -> page number (1-based), at any level."""
    out: dict[str, int] = {}

    def walk(items: list[object]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                out.setdefault(item.title, reader.get_destination_page_number(item) + 1)  # type: ignore[attr-defined]

    walk(reader.outline)
    return out


def in_band(word_y0: float, word_y1: float, page: Page) -> bool:
    return word_y1 <= TOP + TOL or word_y0 >= page.height - BOTTOM - TOL


def content_words(page: Page) -> list[str]:
    return [w.text for w in page.words if not in_band(w.y0, w.y1, page)]


def test_findings_chapter_starts_by_page_four(reader: pypdf.PdfReader) -> None:
    assert bookmarks(reader)["Findings"] <= 4


def test_nothing_over_the_header_or_footer_or_off_the_page(art: Artefact) -> None:
    """Every word is inside the page's content box, except the running header's and the
    footer's own words, each where it belongs (a map drawn over the footer puts its labels in
    the bottom margin; one wider than the page puts them outside it)."""
    pages = pdf_pages(art.pdf)
    header = (
        f"mesh-audit report {target_text(art.data['source'])} "
        f"scanned {display_time(art.data['generated_at'])}"
    ).split()
    problems = []
    for n, page in enumerate(pages, start=1):
        top = Counter(header if n > 1 else [])
        bottom = Counter(["mesh-audit", "Page", str(n), "of", str(len(pages))])
        for w in page.words:
            where = f"page {n}: {w.text!r} at ({w.x0:.0f}, {w.y0:.0f})"
            if w.x0 < -TOL or w.y0 < -TOL or w.x1 > page.width + TOL or w.y1 > page.height + TOL:
                problems.append(f"{where} leaves the page")
            elif w.y1 <= TOP + TOL and top[w.text] > 0:
                top[w.text] -= 1
            elif w.y0 >= page.height - BOTTOM - TOL and bottom[w.text] > 0:
                bottom[w.text] -= 1
            elif (
                w.y0 < TOP - TOL
                or w.y1 > page.height - BOTTOM + TOL
                or w.x0 < SIDE - TOL
                or w.x1 > page.width - SIDE + TOL
            ):
                problems.append(f"{where} is outside the content box")
    assert problems == []


def test_no_blank_or_nearly_blank_pages(art: Artefact, reader: pypdf.PdfReader) -> None:
    """Every page has at least 5 words of its own; a page less than a third full is only the
    last of its chapter (the next starts a page), never one left before a map or a table."""
    pages = pdf_pages(art.pdf)
    starts = {pages_.start for _, pages_ in chapters(reader)}
    for n, page in enumerate(pages):
        words = content_words(page)
        assert len(words) >= 5, f"page {n + 1}: {words}"
        bottom = max(w.y1 for w in page.words if not in_band(w.y0, w.y1, page))
        fill = (bottom - TOP) / (page.height - TOP - BOTTOM)
        if fill < 1 / 3:
            assert n + 1 == len(pages) or n + 1 in starts, f"page {n + 1} is {fill:.0%} full"


def test_one_orientation_per_chapter(reader: pypdf.PdfReader) -> None:
    for title, pages in chapters(reader):
        sizes = {
            (
                round(float(reader.pages[i].mediabox.width)),
                round(float(reader.pages[i].mediabox.height)),
            )
            for i in pages
        }
        wide = title in ("Appendix: exposure (entry points)", "Appendix: egress")
        assert sizes == {(842, 595) if wide else (595, 842)}, title


def test_printed_contents_give_the_right_page_numbers(
    art: Artefact, reader: pypdf.PdfReader
) -> None:
    """The contents page lists each part with a dotted leader and its page number, and every
    number is the page its bookmark points to."""
    marks = bookmarks(reader)
    text = "\n".join(p.extract_text() for p in reader.pages[:3])
    entries = re.findall(r"^(\S.*?)\s*\.{4,}\s*(\d+)$", text, flags=re.M)
    titles = [t for t, _ in entries]
    assert titles[:3] == ["Executive summary", "What was not audited", "Findings"]
    assert titles[-1] == "Attestation"
    assert [(t, int(n)) for t, n in entries] == [(t, marks[t]) for t in titles]


def test_table_headers_repeat_on_every_page_a_table_continues(
    art: Artefact, reader: pypdf.PdfReader
) -> None:
    """A table that runs over pages repeats its header row at the top of each."""
    heads = {
        "Appendix: mutual TLS by workload": "Workload Membership mTLS mode",
        "Appendix: access (who may call what)": "Workload Reach Default Who may call",
        "Appendix: exposure (entry points)": "Host Port TLS and reach Gateway",
    }
    pages = pdf_pages(art.pdf)
    continued = 0
    for title, chapter in chapters(reader):
        head = heads.get(title)
        if head is None:
            continue
        table_pages = [
            i for i in chapter if squash(head) in squash(" ".join(content_words(pages[i])))
        ]
        if not table_pages:
            continue
        # from the table's first page to the chapter's end, every page starts with the header
        for i in range(table_pages[0], chapter.stop):
            words = squash(" ".join(content_words(pages[i])))
            if re.match(r"(…and)?[\d,]+more", words):
                continue  # the table ended on the page before: only what follows it is here
            assert squash(head) in words, f"{title}: page {i + 1}"
        continued += chapter.stop - table_pages[0] - 1
    if art.name == "15k":
        assert continued > 10  # the 15k tables do run over many pages


def test_no_word_is_broken_across_lines(art: Artefact) -> None:
    """A line that ends in letters and a next line of the same block (a cell, a paragraph) that
    starts in lower case letters must not be one dictionary word cut in two ("restricte" / "d",
    "sidecar.istio.io/sta" / "tus"); long names break only at dots, slashes and hyphens."""
    words = dictionary()
    broken = []
    for n, page in enumerate(pdf_pages(art.pdf), start=1):
        for block in page.blocks:
            for line, following in pairwise(block):
                if not line or not following:
                    continue
                head = re.search(r"[A-Za-z]+$", line[-1])
                tail = re.match(r"[a-z]+", following[0])
                if head is None or tail is None:
                    continue
                whole = (head.group() + tail.group()).lower()
                if len(whole) > 3 and whole in words and tail.group() not in words:
                    broken.append(f"page {n}: {head.group()}|{tail.group()}")
    assert broken == []


def test_no_text_smaller_than_six_points(art: Artefact) -> None:
    """Map labels included: a map is drawn at a size where its smallest text is 6 pt or more
    (word heights calibrated on the 7.5 pt running header)."""
    pages = pdf_pages(art.pdf)
    header = [w for w in pages[1].words if w.text == "mesh-audit" and w.y1 <= TOP]
    per_pt = (header[0].y1 - header[0].y0) / HEADER_PT
    smallest = min(
        ((w.y1 - w.y0) / per_pt, n, w.text)
        for n, page in enumerate(pages, start=1)
        for w in page.words
    )
    assert smallest[0] >= 5.95, smallest


def test_first_exposure_row_is_the_worst_entry(art: Artefact, reader: pypdf.PdfReader) -> None:
    worst = risk.RiskOrder(art.data).exposure()[0]
    (pages,) = [p for t, p in chapters(reader) if t == "Appendix: exposure (entry points)"]
    text = squash("".join(reader.pages[i].extract_text() for i in pages))
    head = squash("Host Port TLS and reach Gateway Addresses Routes Backends (by route match)")
    first_row = text[text.index(head) + len(head) :]
    assert first_row.startswith(squash(f"{worst['host']}{worst['port']}")), first_row[:80]
