"""`mesh-audit fleet` with bad and hostile inputs (#28): a malformed or oversized report is
listed as unreadable and the fleet report of the others is still written (exit 2); tenant text
in names, grades, kinds and check ids reaches the terminal and HTML inert; extreme
`--stale-after` values are usage errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from auditor import cli
from auditor.base.limits import LIMITS
from auditor.cli import options as cli_options
from tests.helpers import DEMO
from tests.run.test_fleet import validate_fleet

NOW = "2026-11-26T12:00:00Z"


def invoke(args: list[str], monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setattr(cli_options, "_now", lambda: NOW)
    return CliRunner().invoke(cli.main, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def good_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("good")
    result = CliRunner().invoke(
        cli.main, ["scan", "--from", str(DEMO), "--format", "json", "--output-dir", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out / "report.json"


def test_a_malformed_report_is_listed_and_the_fleet_still_written(
    good_report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "reports"
    for name in ("good", "broken", "huge"):
        (root / name).mkdir(parents=True)
    shutil.copy(good_report, root / "good" / "report.json")
    (root / "broken" / "report.json").write_text("{not json")
    (root / "huge" / "report.json").write_bytes(good_report.read_bytes() + b" " * 64)
    monkeypatch.setattr(LIMITS, "max_file_bytes", good_report.stat().st_size + 32)
    out = tmp_path / "fleet"
    result = invoke(["fleet", str(root), "--output-dir", str(out)], monkeypatch)
    assert result.exit_code == 2
    fleet = json.loads((out / "fleet.json").read_text())
    validate_fleet(fleet)
    assert [r["cluster"] for r in fleet["clusters"]] == ["good"]
    broken, huge = root / "broken" / "report.json", root / "huge" / "report.json"
    assert fleet["unreadable"] == [
        {
            "origin": str(broken),
            "error": f"{broken}: not a mesh-audit report.json: unexpected character, expected a "
            "string key: line 1 column 2 (char 1)",
        },
        {
            "origin": str(huge),
            "error": f"{huge}: file is larger than {LIMITS.max_file_bytes} bytes, the input "
            "limit (docs/limits.md)",
        },
    ]
    assert fleet["summary"]["unreadable"] == 2
    assert result.stderr.splitlines() == [
        f"mesh-audit: error: unreadable: {u['error']}" for u in fleet["unreadable"]
    ]
    assert f"  UNREADABLE {broken}: " in result.stdout
    html = (out / "fleet.html").read_text()
    assert "Reports that could not be read" in html
    assert not list(out.glob(".fleet.*"))  # atomic writes leave no temporary files


def test_tenant_text_reaches_terminal_and_html_inert(
    good_report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.loads(good_report.read_text())
    data["summary"]["grade"] = "\x1b[31mA"  # not a grade: no score is shown at all
    data["summary"]["coverage"] = {"kinds_read": "\x1b[2J", "kinds_total": 30}
    data["findings"] = [
        {**f, "check": "\x1b]0;pwned\x07GW001\u202e", "title": "t\x9b1m", "waiver": None}
        for f in data["findings"][:1]
    ]
    root = tmp_path / "reports"
    for name in ("east\x1b[5m", "west\u202eevil"):
        (root / name).mkdir(parents=True)
        (root / name / "report.json").write_text(json.dumps(data))
    out = tmp_path / "fleet"
    result = invoke(["fleet", str(root), "--output-dir", str(out)], monkeypatch)
    assert result.exit_code == 0, result.output
    for text in (result.stdout, (out / "fleet.html").read_text()):
        assert not [ch for ch in text if ch in "\x1b\x07\x9b\u202e"]
    total = data["summary"]["total"]
    assert f"east\\x1b[5m: no score recorded, {total} findings, kinds None/30" in result.stdout
    assert "recurring \\x1b]0;pwned\\x07GW001\\u202e (" in result.stdout
    assert "west\\u202eevil" in (out / "fleet.html").read_text()


@pytest.mark.parametrize("value", ["inf", "nan", "1e308", "-1", "87601"])
def test_extreme_stale_after_is_a_usage_error(
    value: str, good_report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke(
        ["fleet", str(good_report), "--stale-after", value, "--output-dir", str(tmp_path)],
        monkeypatch,
    )
    assert result.exit_code == 2
    assert "--stale-after" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "fleet.json").exists()
