"""report.html laid out by a real browser (Debian's chromium, headless, driven by Playwright) at
1280 px, on the demo and the generated 15k-object mesh: no table cell overflows, no ordinary
word is broken across lines in a table cell (only long names, at dots, slashes and hyphens),
badges stay inside their cells, map labels inside their boxes, and the first finding card and
the first exposure row are the worst (issue 27 item 5).

The page is opened from a file:// URL with JavaScript on (the report's own script) and every
collapsed block opened, so the rest of each inventory is laid out too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from auditor.report import risk
from auditor.report.score import is_waived
from tests.report.artefacts import CHROMIUM, CHROMIUM_ARGS, Artefact, art, dictionary, require

__all__ = ["art"]  # the artefacts fixture, one per mesh

WIDTH = 1280

# Letter runs of two letters or more inside table cells that are laid out on more than one line:
# a break inside a run is a break inside a word (breaks at dots, slashes, hyphens are between
# runs). Text nodes are measured with Range rects, so a cell's wrapping is what a reader sees.
BROKEN_RUNS = """() => {
  const out = [];
  const run = /[A-Za-z]{2,}/g;
  for (const cell of document.querySelectorAll("table td, table th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent;
      run.lastIndex = 0;
      for (let m = run.exec(text); m; m = run.exec(text)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set();
        for (const r of range.getClientRects()) {
          if (r.width > 0) tops.add(Math.round(r.top));
        }
        if (tops.size > 1) out.push(m[0]);
      }
    }
  }
  return out;
}"""

OVERFLOWING_CELLS = """() => [...document.querySelectorAll("table td, table th")]
  .filter(c => c.scrollWidth > c.clientWidth + 1)
  .map(c => c.closest("table").className + ": " + c.textContent.trim().slice(0, 80))"""

BADGES_OUTSIDE = """() => [...document.querySelectorAll("td .tls-badge, td .sev, td .new-badge")]
  .filter(b => {
    const r = b.getBoundingClientRect(), c = b.closest("td").getBoundingClientRect();
    return r.left < c.left - 0.5 || r.right > c.right + 0.5;
  })
  .map(b => b.textContent)"""

LABELS_OUTSIDE = """() => {
  const out = [];
  for (const g of document.querySelectorAll("svg.map g.node")) {
    const box = g.querySelector("rect").getBBox();
    for (const t of g.querySelectorAll("text")) {
      const b = t.getBBox();
      if (b.x < box.x || b.x + b.width > box.x + box.width + 0.5
          || b.y < box.y || b.y + b.height > box.y + box.height + 0.5) {
        out.push(t.textContent);
      }
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require("chromium (Debian package chromium)", os.access(CHROMIUM, os.X_OK))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        require("playwright (the test extra)", False)
        raise
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser: Any, art: Artefact, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = tmp_path_factory.mktemp(f"html-{art.name}") / "report.html"
    path.write_text(art.html, encoding="utf-8")
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    page.goto(path.as_uri())
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    yield page
    page.close()


def test_no_table_cell_overflows(page: Any) -> None:
    assert page.evaluate(OVERFLOWING_CELLS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_no_word_is_broken_inside_a_table_cell(page: Any) -> None:
    broken = page.evaluate(BROKEN_RUNS)
    assert [w for w in broken if w.lower() in dictionary()] == []


def test_badges_stay_inside_their_cells(page: Any) -> None:
    assert page.evaluate(BADGES_OUTSIDE) == []


def test_map_labels_are_whole_and_inside_their_boxes(page: Any) -> None:
    assert page.evaluate(LABELS_OUTSIDE) == []
    # every label is whole (wrapped, never cut: diagram.wrap), its full text in a <title>
    labels = page.evaluate(
        """() => [...document.querySelectorAll("svg.map g.node")].map(g => [
          g.querySelector("title").textContent,
          [...g.querySelectorAll("text")].map(t => t.textContent)])"""
    )
    assert labels
    assert [title for title, lines in labels if any(line.endswith("…") for line in lines)] == []


def test_first_finding_card_is_the_worst_finding(page: Any, art: Artefact) -> None:
    worst = next(f for f in risk.RiskOrder(art.data).findings() if not is_waived(f))
    first = page.evaluate("document.querySelector('#findings .finding').dataset.id")
    assert first == worst["id"]
    # and it is the first thing the findings chapter shows, on screen
    assert page.evaluate(
        "document.querySelector('#findings .finding').getBoundingClientRect().height"
    )


def test_first_exposure_row_is_the_worst_entry(page: Any, art: Artefact) -> None:
    worst = risk.RiskOrder(art.data).exposure()[0]
    host, port = page.evaluate(
        """() => { const r = document.querySelector('#exposure table.exposure-table tbody tr');
                   return [r.cells[0].innerText, r.cells[1].innerText]; }"""
    )
    assert re.sub(r"\s", "", host) == worst["host"]
    assert port.split()[0] == str(worst["port"])
