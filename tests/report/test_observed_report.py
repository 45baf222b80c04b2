"""The "Observed egress" chapter in HTML and PDF, from a scan against a real Prometheus
(fixtures/cases/observed/mesh.yaml with tests/observed_series.py; PDF read back with pdftotext)."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.input.files import load_paths
from auditor.input.prometheus.client import PrometheusSettings
from auditor.report.html import render_html
from auditor.report.pdf import render_pdf
from auditor.report.terminal import render as render_terminal
from auditor.run.scan import scan
from auditor.run.telemetry_options import ObserveRequest
from tests.case_helpers import CASES
from tests.observed_series import observed, openmetrics
from tests.prometheus_support import prometheus_with

HOSTILE = "evil\x1b]0;pwn\x07<script>alert(1)</script>\u202e"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with prometheus_with(openmetrics(time.time()), tmp_path_factory.mktemp("prom")) as url:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        request = ObserveRequest(
            settings=PrometheusSettings(url=url), since="7d", window_seconds=7 * 86400
        )
        snapshot = load_paths([str(CASES / "observed" / "mesh.yaml")])
        yield dict(scan(snapshot, generated_at=now, observe=request).data)


def chapter(html: str) -> str:
    start = html.index('<section id="observed"')
    return html[start : html.index("</section>", start)]


def test_html_section_has_a_chart_per_host_and_the_top_sources(report: dict[str, Any]) -> None:
    html = render_html(report)
    assert '<a href="#observed">Observed egress</a>' in html
    part = chapter(html)
    labels = re.findall(r'<svg class="observed-chart"[^>]*aria-label="([^"]*)"', part)
    assert labels == [
        f"edition.cnn.com: 0 direct, {observed(120)} through the egress gateway",
        f"httpbin.org: {observed(80)} direct, {observed(40)} through the egress gateway",
        f"api.github.com: {observed(40)} direct, 0 through the egress gateway",
        "pypi.org: 0 direct, 0 through the egress gateway",
    ]
    # bars scale to the busiest host: edition.cnn.com's gateway bar is the full width
    bars = re.findall(r'<rect class="bar-(direct|gateway)" x="70" y="\d+" width="(\d+)"', part)
    assert bars[:2] == [("direct", "0"), ("gateway", "120")]
    assert "did bypass" in part and "observed through the gateway" in part
    assert f"apps/<wbr>reporter: {observed(80)} requests" in part
    assert f"locked/<wbr>batch: {observed(40)} requests, {observed(4)} connections" in part
    assert "Host names: example.org" in part
    assert "istio_tcp_sent_bytes_total" in part.replace("<wbr>", "")  # the queries are listed


def test_pdf_section_renders_with_its_chart(report: dict[str, Any], tmp_path: Path) -> None:
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        reason = "pdftotext not installed (Debian package poppler-utils)"
        if os.environ.get("MESH_AUDIT_REQUIRE_TOOLS"):
            pytest.fail(reason + "; scripts/test.sh installs it")
        pytest.skip(reason)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(report))
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")
    first = next(i for i, p in enumerate(pages) if "External hosts: direct vs" in p)
    # the chapter, from its chart's page to the next chapter
    chapter = [pages[first]]
    for following in pages[first + 1 :]:
        if "Appendix: coverage" in following:
            break
        chapter.append(following)
    flat = " ".join(" ".join(chapter).split())
    assert "Appendix: observed egress" in flat
    assert "version 2.42.0+ds, retention 30d" in flat
    # the chart's own text: its bar labels and values
    assert flat.count("via gateway") >= 4
    assert f"{observed(120)}" in flat
    assert "did bypass" in flat
    assert "Unregistered destinations (PassthroughCluster)" in flat
    assert "Blocked attempts (BlackHoleCluster)" in flat
    assert "Registered, no traffic in the window pypi.org" in flat


def test_tenant_strings_from_metrics_are_inert(report: dict[str, Any]) -> None:
    """Label values are written by whoever names workloads: escaped in HTML and the SVG, and
    shown as visible escapes on the terminal."""
    data = copy.deepcopy(report)
    host = data["observed"]["hosts"][0]
    host["host"] = HOSTILE
    host["direct"]["sources"] = [
        {"namespace": "apps", "workload": HOSTILE, "requests": 1, "connections": 0, "bytes": 0}
    ]
    data["observed"]["coverage"] = [f"note {HOSTILE}"]
    data["warnings"] = [
        {"source": "mesh-audit", "document": None, "item": None, "kind": None, "name": None,
         "problem": f"observed egress: {HOSTILE}"}
    ]  # fmt: skip
    html = chapter(render_html(data))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    terminal = render_terminal(data, [], width=120, color=False)
    assert "\x1b" not in terminal and "\u202e" not in terminal


def test_render_of_a_saved_report_keeps_the_chapter(report: dict[str, Any], tmp_path: Path) -> None:
    """report.json is the contract: `mesh-audit render` gives the same chapter."""
    import json

    from click.testing import CliRunner

    from auditor.cli import main

    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(report))
    result = CliRunner().invoke(
        main, ["render", str(saved), "--format", "html", "--output-dir", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "report.html").read_text()
    assert chapter(html) == chapter(render_html(report))
