"""`mesh-audit render`: a saved report.json renders exactly as at scan time; bad input exits 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.report.formats import RENDERERS
from tests.report_support import CASES, at_root


def run(args: list[str]) -> tuple[int, str, str]:
    with at_root():
        result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scan")
    code, _, err = run(
        ["scan", "--from", f"{CASES}/small-mesh.yaml", "--format", "json,html,pdf",
         "--output-dir", str(out), "-q"]
    )  # fmt: skip
    assert (code, err) == (0, "")
    return out


def test_render_from_saved_json_equals_render_at_scan_time(scanned: Path, tmp_path: Path) -> None:
    code, out, err = run(
        ["render", str(scanned / "report.json"), "--format", "html,pdf,json",
         "--output-dir", str(tmp_path)]
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"Wrote {tmp_path / n}" for n in ("report.html", "report.pdf", "report.json")
    ]
    assert (tmp_path / "report.html").read_bytes() == (scanned / "report.html").read_bytes()
    assert (tmp_path / "report.json").read_bytes() == (scanned / "report.json").read_bytes()
    before = pypdf.PdfReader(io.BytesIO((scanned / "report.pdf").read_bytes()))
    after = pypdf.PdfReader(io.BytesIO((tmp_path / "report.pdf").read_bytes()))
    assert [p.extract_text() for p in after.pages] == [p.extract_text() for p in before.pages]


def test_scan_records_its_command_line_redacted(scanned: Path) -> None:
    data = json.loads((scanned / "report.json").read_text())
    assert data["command"] == [
        "mesh-audit", "scan", "--from", f"{CASES}/small-mesh.yaml", "--format", "json,html,pdf",
        "--output-dir", str(scanned), "-q",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema_version": 1}', "not a mesh-audit report (schema): at (top level):"),
        ("[]", "not a mesh-audit report (schema)"),
    ],
)
def test_bad_report_json_is_an_input_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "report.json"
    path.write_text(content)
    code, out, err = run(["render", str(path), "--output-dir", str(tmp_path / "out")])
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"mesh-audit: error: {path}: {message}")
    assert not (tmp_path / "out").exists()


def test_schema_violation_names_the_place(scanned: Path, tmp_path: Path) -> None:
    data = json.loads((scanned / "report.json").read_text())
    data["findings"][0]["severity"] = "catastrophic"
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    code, _, err = run(["render", str(path), "--output-dir", str(tmp_path / "out")])
    assert code == 2
    assert "at findings/0/severity:" in err and len(err.splitlines()) == 1


def test_missing_report_and_unknown_format(tmp_path: Path, scanned: Path) -> None:
    code, _, err = run(["render", str(tmp_path / "nope.json")])
    assert code == 2 and "cannot read" in err
    code, _, err = run(["render", str(scanned / "report.json"), "--format", "docx"])
    assert code == 2 and "unknown format 'docx'" in err


def test_every_format_the_cli_offers_has_a_renderer(tmp_path: Path) -> None:
    for command in ("scan", "render"):
        code, out, _ = run([command, "--help"])
        assert code == 0
        offered = " ".join(out.split()).split("Comma list of report formats: ")[1]
        names = [n.strip(" .") for n in offered.split(".")[0].split(",")]
        assert names == list(RENDERERS), command
    for name in RENDERERS:
        out = tmp_path / name
        code, _, err = run(
            ["scan", "--from", f"{CASES}/small-mesh.yaml", "--format", name,
             "--output-dir", str(out), "-q"]
        )  # fmt: skip
        assert (code, err) == (0, "")
        expected = {"junit": "report.junit.xml"}.get(name, f"report.{name}")
        assert [p.name for p in out.iterdir()] == [expected]


DEMO_SECTIONS = [
    "Top weaknesses",
    "Contents",
    "What was not audited",
    "Findings",
    "Appendix: exposure (entry points)",
    "Entry points with a weakness",
    "Appendix: egress",
    "External hosts with a weakness",
    "Appendix: mutual TLS by workload",
    "Appendix: access (who may call what)",
    "Appendix: coverage, score, inventory and checks",
    "Coverage",
    "How the score is computed",
    "Inventory by kind",
    "Checks and what they look at",
    "Attestation",
]


def test_demo_mesh_scan_writes_json_html_and_pdf(tmp_path: Path) -> None:
    code, _, err = run(
        ["scan", "--from", "fixtures/demo-mesh", "--format", "json,html,pdf",
         "--output-dir", str(tmp_path), "-q"]
    )  # fmt: skip
    assert (code, err) == (0, "")
    data = json.loads((tmp_path / "report.json").read_text())
    reader = pypdf.PdfReader(io.BytesIO((tmp_path / "report.pdf").read_bytes()))
    texts = [p.extract_text() for p in reader.pages]
    pages = len(texts)
    assert f"Page 1 of {pages}" in texts[0]
    assert [n for n, t in enumerate(texts, 1) if f"Page {n} of {pages}" not in t] == []
    assert "\nMesh security audit\nfixtures/demo-mesh\n" in texts[0]
    lines = {line.strip() for t in texts for line in t.splitlines()}
    assert [s for s in DEMO_SECTIONS if s not in lines] == []
    by_sev = data["summary"]["by_severity"]
    assert list(by_sev) == ["critical", "high", "medium", "low", "info"]
    counts = " · ".join(f"{n} {sev}" for sev, n in by_sev.items())
    weaknesses = data["summary"]["groups"]["total"]
    cover = " ".join(texts[0].split())
    assert f"{data['summary']['total']} findings ({weaknesses} distinct weaknesses): {counts}" in (
        cover
    )
    # Each severity heading in the findings chapter carries its count from report.json.
    body = " ".join(" ".join(texts).split())
    for sev, n in by_sev.items():
        if n:
            assert f"{sev.upper()} {n} finding{'s' if n != 1 else ''}" in body, sev
    html = (tmp_path / "report.html").read_text()
    for f in data["findings"]:
        assert f'data-id="{f["id"]}"' in html
