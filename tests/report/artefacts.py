"""The rendered reports the layout tests read: the demo mesh and a generated 15k-object mesh
(`benchmarks/generate.py --objects 15000 --seed 1`, generated once per test session in a
temporary directory), each as report data, HTML and PDF, rendered once per session.

Also the reading tools the tests need from the machine (poppler's pdftotext, Debian's chromium
with Playwright): missing, the tests skip, unless MESH_AUDIT_REQUIRE_TOOLS is set (scripts/test.sh
sets it and installs them), when they fail.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from auditor.input.files import load_paths
from auditor.report.html import render_html
from auditor.report.pdf import render_pdf
from auditor.run.scan import scan
from tests.report_support import FIXED_CLOCK, ROOT, at_root

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


@cache
def _workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="mesh-audit-artefacts-"))
    atexit.register(shutil.rmtree, path, True)
    return path


@cache
def mesh_15k() -> Path:
    """The generated 15k-object mesh (a snapshot file), made once per session."""
    out = _workdir() / "mesh-15k.json.gz"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--objects", "15000",
         "--seed", "1", "-o", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


@dataclass(frozen=True)
class Artefact:
    name: str
    data: dict[str, Any]
    html: str
    pdf: Path


@cache
def artefact(name: str) -> Artefact:
    with at_root():
        source = "fixtures/demo-mesh" if name == "demo" else str(mesh_15k())
        data = dict(scan(load_paths([source], jobs=1), generated_at=FIXED_CLOCK).data)
    pdf = _workdir() / f"{name}.pdf"
    pdf.write_bytes(render_pdf(data))
    return Artefact(name=name, data=data, html=render_html(data), pdf=pdf)


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
        pages.append(Page(float(page.get("width", 0)), float(page.get("height", 0)), words))
    return tuple(pages)
