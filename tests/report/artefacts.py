"""The rendered reports the layout tests read: the demo mesh and the generated 15k-object mesh
(tests/report/conftest.py), each as report data, HTML and a PDF file, rendered once per session.
A test module takes the `art` fixture by importing it.

Also the reading tools the tests need from the machine (poppler's pdftotext, Debian's chromium
with Playwright): missing, the tests skip, unless MESH_AUDIT_REQUIRE_TOOLS is set (scripts/test.sh
sets it and installs them), when they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from auditor.report.html import render_html
from auditor.report.pdf import render_pdf

MESHES = ("demo", "15k")
CHROMIUM = "/usr/bin/chromium"
# what the report tests launch chromium with: no sandbox (containers), nothing fetched
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require(what: str, present: bool) -> None:
    """Skip without the tool, or fail when the run requires every tool (scripts/test.sh)."""
    if present:
        return
    if os.environ.get("MESH_AUDIT_REQUIRE_TOOLS"):
        pytest.fail(f"{what} is not installed; scripts/test.sh installs it")
    pytest.skip(f"{what} is not installed")


@dataclass(frozen=True)
class Artefact:
    name: str
    data: dict[str, Any]
    html: str
    pdf: Path


_RENDERED: dict[str, Artefact] = {}


def artefact(name: str, data: dict[str, Any], folder: Path) -> Artefact:
    """The report `data` of mesh `name` rendered once per session (HTML and a PDF file)."""
    if name not in _RENDERED:
        pdf = folder / f"{name}.pdf"
        pdf.write_bytes(render_pdf(data))
        _RENDERED[name] = Artefact(name=name, data=data, html=render_html(data), pdf=pdf)
    return _RENDERED[name]


@pytest.fixture(scope="session", params=MESHES)
def art(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Artefact:
    """Each mesh's artefacts (tests/report/conftest.py scans the demo and the 15k mesh)."""
    name = str(request.param)
    data = request.getfixturevalue("demo_data" if name == "demo" else "mesh15k_data")
    return artefact(name, data, tmp_path_factory.getbasetemp())


WORDS = Path("/usr/share/dict/words")


@cache
def dictionary() -> frozenset[str]:
    """Ordinary English words (Debian's wamerican), lower case: what must never break."""
    require("a word list (Debian package wamerican)", WORDS.exists())
    return frozenset(w.strip().lower() for w in WORDS.read_text(errors="replace").splitlines())


# ---- the PDF read back with poppler ------------------------------------------------------------

XHTML = "{http://www.w3.org/1999/xhtml}"


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    words: tuple[Word, ...]
    # the words of each line of each text block (a table cell's text is a block)
    blocks: tuple[tuple[tuple[str, ...], ...], ...] = ()


@cache
def pdf_pages(pdf: Path) -> tuple[Page, ...]:
    """Every word of every page with its box, as `pdftotext -bbox-layout` reads it."""
    tool = shutil.which("pdftotext")
    require("pdftotext (Debian package poppler-utils)", tool is not None)
    assert tool is not None
    out = subprocess.run(
        [tool, "-bbox-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    root = ET.fromstring(out[out.index("<html") :])
    pages = []
    for page in root.iter(f"{XHTML}page"):
        words = tuple(
            Word(
                e.text or "",
                float(e.get("xMin", 0)),
                float(e.get("yMin", 0)),
                float(e.get("xMax", 0)),
                float(e.get("yMax", 0)),
            )
            for e in page.iter(f"{XHTML}word")
        )
        blocks = tuple(
            tuple(
                tuple(w.text or "" for w in line.iter(f"{XHTML}word"))
                for line in block.iter(f"{XHTML}line")
            )
            for block in page.iter(f"{XHTML}block")
        )
        pages.append(Page(float(page.get("width", 0)), float(page.get("height", 0)), words, blocks))
    return tuple(pages)
