"""The examples and claims of the README and the docs pages (docs/, where the README's
sections moved), and the --help texts, say what the code does."""

from __future__ import annotations

import datetime as dt
import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from auditor import cli
from auditor.report import score
from auditor.run.config import load_config
from auditor.run.waivers import parse_waivers
from tests.helpers import ROOT
from tests.pipeline_helpers import AFTER, COMMON, run_cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


def page(name: str) -> str:
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


def section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n#", start + len(title))
    return text[start : end if end != -1 else None]


def yaml_block(text: str) -> str:
    match = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert match is not None
    return match.group(1)


def help_text(*args: str) -> str:
    result = CliRunner().invoke(cli.main, [*args, "--help"], terminal_width=200)
    assert result.exit_code == 0
    return " ".join(result.output.split())


def test_every_scan_option_the_readme_names_exists() -> None:
    common = section(page("usage/commands.md"), "Common `scan` options")
    spans = re.findall(r"`([^`]*)`", common)
    named = {t for span in spans for t in re.findall(r"(?<![\w-])(-{1,2}[A-Za-z][A-Za-z-]*)", span)}
    assert {"--fail-under", "--suppress", "--config", "-A", "--output"} <= named
    text = help_text("scan")
    for option in sorted(named):
        assert re.search(rf"(^|[ ,]){re.escape(option)}[ ,=]", text), option


def test_waiver_example_parses_and_is_not_expired() -> None:
    # the README's waivers example must still work on the day the tests run
    waivers = parse_waivers(
        yaml.safe_load(yaml_block(section(page("usage/pipelines.md"), "## Waivers"))), "README"
    )
    today = dt.date.today()
    assert waivers
    assert not [w.index for w in waivers if w.expired(today)]


def test_config_example_is_valid(tmp_path: Path) -> None:
    path = tmp_path / ".mesh-audit.yaml"
    path.write_text(yaml_block(section(page("usage/pipelines.md"), "## Config file")))
    cfg = load_config(path)
    assert (cfg.format, cfg.fail_on, cfg.fail_under) == ("json,sarif,junit", "high", 70)


def test_score_formula_in_readme_is_the_code() -> None:
    text = " ".join(section(page("usage/reports.md"), "  - *Score*").split())
    assert f"Score = 100 · e^(\u2212R/{score.SCALE}) · coverage" in text
    weights = ", ".join(f"{sev} {w:g}" for sev, w in score.WEIGHTS.items())
    assert f"({weights} —" in text
    assert f"each next group times {score.DECAY:g}" in text
    assert f"each next times {score.EXPOSURE_DECAY:g}" in text
    grades = ", ".join(f"{g} from {low}" for low, g in score.GRADES[:-1])
    assert f"Grade {grades}, otherwise F" in text


def test_exit_codes_in_readme_and_help_agree() -> None:
    table = section(page("report.md"), "## Exit codes")
    codes = re.findall(r"^\| (\d) \|", table, re.M)
    text = help_text()
    for code in codes:
        assert re.search(rf"(Exit codes: |; ){code} ", text), code


def test_help_of_format_says_what_a_plain_scan_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = help_text("scan")
    assert (
        "Without --format and --output-dir no file is written (terminal summary only); "
        "--output-dir alone writes json." in text
    )
    monkeypatch.chdir(tmp_path)
    assert (
        run_cli(["scan", "--from", str(COMMON), "--from", str(AFTER)], monkeypatch).exit_code == 0
    )
    assert list(tmp_path.iterdir()) == []
    run_cli(["scan", "--from", str(COMMON), "--output-dir", "out"], monkeypatch)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.json"]
    run_cli(["scan", "--from", str(COMMON), "--format", "csv"], monkeypatch)
    assert sorted(p.name for p in (tmp_path / "mesh-audit-report").iterdir()) == ["report.csv"]


def test_time_option_defaults_in_help_and_readme() -> None:
    text = help_text("scan")
    assert "[default: 30s]" in text and "[default: 10m]" in text
    live = " ".join(section(page("usage/live.md"), "## How a live read works").split())
    assert "(`--request-timeout`, default `30s`)" in live
    assert "`--deadline` (default `10m`)" in live


def test_gate_line_example_in_readme_is_real(monkeypatch: pytest.MonkeyPatch) -> None:
    usage = " ".join(section(page("usage/commands.md"), "## Commands").split())
    args = ["scan", "--from", str(COMMON), "--from", str(AFTER)]
    result = run_cli([*args, "--fail-on", "medium", "-q"], monkeypatch)
    line = result.stderr.strip()
    assert f"`{line}`" in usage
    result = run_cli([*args, "--fail-under", "83", "-q"], monkeypatch)
    assert f"`{result.stderr.strip()}`" in usage
    summary = run_cli(args, monkeypatch).stdout
    assert "Score: 82/100   grade B" in summary
    assert "`Score: 82/100   grade B`" in page("usage/commands.md")


def test_the_demo_command_writes_html_and_json_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the README's first command shows value first: the HTML and the JSON, no PDF layout
    line = next(
        ln for ln in README.splitlines() if "bin/mesh-audit scan --from fixtures/demo-mesh" in ln
    )
    demo = shlex.split(line.split(".venv/bin/mesh-audit", 1)[1])
    assert "pdf" not in demo[demo.index("--format") + 1].split(",")
    monkeypatch.chdir(ROOT)
    out = tmp_path / "report"
    demo[demo.index("--output-dir") + 1] = str(out)
    result = run_cli(demo, monkeypatch)
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]
    assert f"Wrote {out / 'report.html'}" in result.stdout
